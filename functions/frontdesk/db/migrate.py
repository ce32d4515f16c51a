"""Migration runner: plain SQL files applied in order, each in its own transaction.

Safe to run twice at once (a transaction-level advisory lock serialises runners), refuses to run when a
file that was already applied has changed, and never shells out to psql — the same code runs in the
deploy-time Lambda.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

# Any constant works as long as every runner uses the same one.
MIGRATION_LOCK_KEY = 0x46445F4D49475241  # "FD_MIGRA"
FILE_PATTERN = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
ROLES = ("app_owner", "app_user")


class MigrationError(Exception):
    """A migration cannot run; the message says what to fix."""


@dataclass(frozen=True)
class Migration:
    name: str
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def sql_dir() -> Path:
    """sql/ beside the package: the repository root locally, the asset root in Lambda."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[3] / "sql", here.parents[2] / "sql"):
        if (candidate / "migrations").is_dir():
            return candidate
    raise MigrationError("cannot find the sql/ folder next to the frontdesk package")


def load_migrations(directory: Path) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        if not FILE_PATTERN.match(path.name):
            raise MigrationError(f"{path.name}: migration files are named NNNN_lowercase_words.sql")
        found.append(Migration(path.name, path.read_text()))
    numbers = [m.name[:4] for m in found]
    if len(set(numbers)) != len(numbers):
        raise MigrationError("two migration files share a number")
    return found


def _connect(conninfo: str) -> psycopg.Connection[Any]:
    return psycopg.connect(conninfo, autocommit=True, prepare_threshold=None, connect_timeout=10)


def bootstrap(conn: psycopg.Connection[Any], role_passwords: dict[str, str] | None = None) -> None:
    """Cluster-level set-up the migrations rely on: the two roles (time zone pinned to UTC per role, not
    per session) and the right to create objects in this database. Needs a privileged login; when the
    roles already exist and the login is not privileged, there is nothing to do."""
    privileged = conn.execute(
        "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user").fetchone()
    existing = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [list(ROLES)])}
    if not (privileged and privileged[0]):
        if existing != set(ROLES):
            raise MigrationError(
                f"roles {sorted(set(ROLES) - existing)} are missing and {conn.info.user} may not create them; "
                "run `frontdesk db migrate` once as a privileged user")
        return
    for role in ROLES:
        if role not in existing:
            # Another runner (for another database in this cluster) may make it first.
            with contextlib.suppress(psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(sql.SQL("ALTER ROLE {} SET TimeZone TO 'UTC'").format(sql.Identifier(role)))
        # Short OLTP statements never repay JIT compilation; an inflated estimate once cost 270 ms here.
        conn.execute(sql.SQL("ALTER ROLE {} SET jit TO off").format(sql.Identifier(role)))
        if role_passwords and role in role_passwords:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(role_passwords[role])))
    # A CREATEROLE login that is not a superuser (RDS's master) administers the roles it made but is not a
    # member of them; membership lets the runner create the schema as app_owner.
    with (contextlib.suppress(psycopg.errors.InsufficientPrivilege, psycopg.errors.InvalidGrantOperation),
          conn.transaction()):
        conn.execute(sql.SQL("GRANT app_owner TO {}").format(sql.Identifier(conn.info.user)))
    dbname = sql.Identifier(conn.info.dbname)
    conn.execute(sql.SQL("GRANT CREATE, CONNECT ON DATABASE {} TO app_owner").format(dbname))
    conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO app_user").format(dbname))
    conn.execute("GRANT CREATE, USAGE ON SCHEMA public TO app_owner")
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    except psycopg.Error as exc:  # not installed or not permitted: diagnostics are a nicety
        log.info("pg_stat_statements not available: %s", exc.diag.message_primary)


def _act_as_owner(conn: psycopg.Connection[Any]) -> None:
    """Inside the migration's transaction, create objects as app_owner so it owns the schema."""
    row = conn.execute(
        "SELECT current_user <> 'app_owner' AND pg_has_role(current_user, 'app_owner', 'MEMBER')").fetchone()
    if row and row[0]:
        conn.execute("SET LOCAL ROLE app_owner")


def migrate(conninfo: str, directory: Path | None = None,
            role_passwords: dict[str, str] | None = None) -> list[str]:
    """Apply pending migrations; returns the names applied by this call."""
    migrations = load_migrations((directory or sql_dir()) / "migrations")
    applied_now: list[str] = []
    with _connect(conninfo) as conn:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK_KEY])
            bootstrap(conn, role_passwords)
            _act_as_owner(conn)
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())")
        for migration in migrations:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK_KEY])
                applied = dict(conn.execute("SELECT name, checksum FROM schema_migrations").fetchall())
                _refuse_changed(applied, migrations)
                if migration.name in applied:
                    continue
                _act_as_owner(conn)
                conn.execute(migration.text.encode())
                conn.execute("RESET ROLE")
                conn.execute("INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)",
                             [migration.name, migration.checksum])
                applied_now.append(migration.name)
                log.info("applied %s", migration.name)
    return applied_now


def _refuse_changed(applied: dict[str, str], migrations: Iterable[Migration]) -> None:
    on_disk = {m.name: m for m in migrations}
    for name, checksum in applied.items():
        if name not in on_disk:
            raise MigrationError(f"{name} was applied but is missing from sql/migrations; migrations are forward-only")
        if on_disk[name].checksum != checksum:
            raise MigrationError(
                f"{name} changed after it was applied; add a new migration instead of editing an applied one")


def seed(conninfo: str, directory: Path | None = None) -> list[str]:
    """Apply every sql/seed/*.sql (each idempotent) in its own transaction, as app_owner when possible."""
    files = sorted(((directory or sql_dir()) / "seed").glob("*.sql"))
    with _connect(conninfo) as conn:
        for path in files:
            with conn.transaction():
                _act_as_owner(conn)
                conn.execute(path.read_text().encode())
    return [p.name for p in files]


def status(conninfo: str, directory: Path | None = None) -> list[tuple[str, bool]]:
    migrations = load_migrations((directory or sql_dir()) / "migrations")
    with _connect(conninfo) as conn:
        exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
        applied = set()
        if exists and exists[0]:
            applied = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
    return [(m.name, m.name in applied) for m in migrations]
