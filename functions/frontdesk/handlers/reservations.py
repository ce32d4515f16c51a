"""Lambda: Commit, read, find, cancel and modify reservations."""

from mangum import Mangum

from frontdesk.api import reservations
from frontdesk.api.app import create_app

app = create_app(routers=[reservations.router])
handler = Mangum(app, lifespan="off")
