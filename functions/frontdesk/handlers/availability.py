"""Lambda: Restaurant facts and the availability check that places holds."""

from mangum import Mangum

from frontdesk.api import availability
from frontdesk.api.app import create_app

app = create_app(routers=[availability.router])
handler = Mangum(app, lifespan="off")
