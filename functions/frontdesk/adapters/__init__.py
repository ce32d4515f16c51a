"""Adapters that implement the core's ports: PostgreSQL (psycopg 3) and Redis."""
