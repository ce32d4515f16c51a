"""Lambda: the Twilio webhooks (voice, after-stream, status, and inbound SMS for opt-outs).

Settings are validated when the function starts, not on the first call: with ``STAGE=prod`` and
``ALLOW_UNSIGNED_TWILIO=true`` the function refuses to start at all (reading the environment connects nowhere
and fetches no secret; the database, Redis and Secrets Manager are still reached only when a call needs them).
"""

from mangum import Mangum

from frontdesk.api import sms, twilio
from frontdesk.api.app import create_app
from frontdesk.config import get_settings

get_settings()  # raises (the function does not start) on invalid settings, e.g. unsigned webhooks in prod
app = create_app(routers=[twilio.router, sms.router])
handler = Mangum(app, lifespan="off")
