"""Lambda: configuration editing (settings, hours, special days, capacity rules, turn times, the floor plan);
staff only."""

from mangum import Mangum
from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

from frontdesk.api import restaurant_admin, tables
from frontdesk.api.app import create_app
from frontdesk.api.errors import PROBLEM_JSON

app = create_app(routers=[restaurant_admin.router, tables.router])
handler = Mangum(app, lifespan="off", text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, PROBLEM_JSON])
