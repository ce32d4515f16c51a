"""Lambda: Restaurant facts and the availability check that places holds."""

from mangum import Mangum
from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

from frontdesk.api import availability
from frontdesk.api.app import create_app
from frontdesk.api.errors import PROBLEM_JSON

app = create_app(routers=[availability.router])
handler = Mangum(app, lifespan="off", text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, PROBLEM_JSON])
