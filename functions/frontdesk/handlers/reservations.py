"""Lambda: Commit, read, find, cancel and modify reservations; the floor's status changes; guest memory."""

from mangum import Mangum
from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

from frontdesk.api import guests, reservation_status, reservations
from frontdesk.api.app import create_app
from frontdesk.api.errors import PROBLEM_JSON

app = create_app(routers=[reservations.router, reservation_status.router, guests.router])
handler = Mangum(app, lifespan="off", text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, PROBLEM_JSON])
