"""The booking HTTP API: FastAPI routers over the booking core, one app factory, errors mapped once.

Importing this package imports nothing heavy. ``frontdesk.api.app.create_app`` builds an app from any
routers (each module's ``router``); Lambda handlers build one per function with only their own routes.
"""
