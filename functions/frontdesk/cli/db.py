"""``frontdesk db``: the schema and the seed data."""

from __future__ import annotations

import typer

from frontdesk.cli._support import DatabaseUrlOption, database_url, say

app = typer.Typer(help="Database schema and seed data.", no_args_is_help=True)


@app.command()
def migrate(ctx: typer.Context, url: DatabaseUrlOption = None) -> None:
    """Apply pending migrations from sql/migrations (safe to run concurrently)."""
    from frontdesk.db.migrate import migrate as run_migrations

    applied = run_migrations(database_url(ctx, url))
    say("\n".join(f"applied {name}" for name in applied) or "database is up to date")


@app.command()
def seed(ctx: typer.Context, url: DatabaseUrlOption = None) -> None:
    """Apply the idempotent seeds in sql/seed (Demo Bistro)."""
    from frontdesk.db.migrate import seed as run_seeds

    for name in run_seeds(database_url(ctx, url)):
        say(f"seeded {name}")


@app.command()
def status(ctx: typer.Context, url: DatabaseUrlOption = None) -> None:
    """List the migrations and whether each is applied."""
    from frontdesk.db.migrate import status as migration_status

    for name, applied in migration_status(database_url(ctx, url)):
        say(f"{'applied' if applied else 'pending'}  {name}")
