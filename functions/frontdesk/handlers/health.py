"""Lambda: Liveness and readiness (public)."""

from mangum import Mangum

from frontdesk.api import health
from frontdesk.api.app import create_app

app = create_app(routers=[health.router])
handler = Mangum(app, lifespan="off")
