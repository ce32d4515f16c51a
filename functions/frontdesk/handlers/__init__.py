"""Lambda entry points: one function per route group, each ``handler = Mangum(app, lifespan="off")`` over an
app holding only that group's routes. Importing a handler connects nowhere and reads no settings; the
database, Redis and Secrets Manager are reached on the first request that needs them."""
