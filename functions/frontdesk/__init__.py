"""Front Desk: the booking core, its HTTP API, Lambda handlers and the migration runner."""
