import shutil
import threading
from pathlib import Path

import psycopg
import pytest

from frontdesk.db.migrate import MigrationError, migrate, sql_dir, status
from tests.support.databases import TestDatabase, create_database, drop_database, unique_name


@pytest.fixture
def empty_database():
    name = unique_name("empty")
    create_database(name)
    try:
        yield TestDatabase(name)
    finally:
        drop_database(name)


def test_migrations_apply_to_an_empty_database(empty_database: TestDatabase) -> None:
    applied = migrate(empty_database.admin_url)
    assert applied == [p.name for p in sorted((sql_dir() / "migrations").glob("*.sql"))]
    assert empty_database.scalar("SELECT to_regproc('commit_reservation_v1') IS NOT NULL")
    assert empty_database.scalar("SELECT tableowner FROM pg_tables WHERE tablename = 'reservations'") == "app_owner"


def test_running_migrations_again_is_a_no_op(empty_database: TestDatabase) -> None:
    migrate(empty_database.admin_url)
    before = empty_database.rows("SELECT name, applied_at FROM schema_migrations ORDER BY name")
    assert migrate(empty_database.admin_url) == []
    assert empty_database.rows("SELECT name, applied_at FROM schema_migrations ORDER BY name") == before
    assert all(applied for _, applied in status(empty_database.admin_url))


def test_two_runners_at_once_apply_each_migration_exactly_once(empty_database: TestDatabase) -> None:
    results: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        try:
            results.append(migrate(empty_database.admin_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    all_applied = sorted(results[0] + results[1])
    assert all_applied == sorted(p.name for p in (sql_dir() / "migrations").glob("*.sql"))


def test_a_changed_applied_migration_is_refused(empty_database: TestDatabase, tmp_path: Path) -> None:
    copy = tmp_path / "sql"
    shutil.copytree(sql_dir(), copy)
    migrate(empty_database.admin_url, copy)
    first = sorted((copy / "migrations").glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after the fact\n")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(empty_database.admin_url, copy)


def test_a_badly_named_migration_file_is_refused(empty_database: TestDatabase, tmp_path: Path) -> None:
    copy = tmp_path / "sql"
    shutil.copytree(sql_dir(), copy)
    (copy / "migrations" / "9999 Bad Name.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_lowercase_words.sql"):
        migrate(empty_database.admin_url, copy)


def test_a_failing_migration_leaves_nothing_half_applied(empty_database: TestDatabase, tmp_path: Path) -> None:
    copy = tmp_path / "sql"
    shutil.copytree(sql_dir(), copy)
    (copy / "migrations" / "9999_broken.sql").write_text("CREATE TABLE half_done (id int); SELECT 1/0;")
    with pytest.raises(psycopg.errors.DivisionByZero):
        migrate(empty_database.admin_url, copy)
    assert empty_database.scalar("SELECT to_regclass('half_done')") is None
    assert empty_database.scalar("SELECT count(*) FROM schema_migrations WHERE name = '9999_broken.sql'") == 0


def test_the_api_role_can_neither_delete_bookings_nor_change_the_schema(database: TestDatabase) -> None:
    with psycopg.connect(database.app_url, autocommit=True) as conn:
        for statement in ("DELETE FROM reservations", "DELETE FROM event_log", "CREATE TABLE sneaky (id int)",
                          "DROP TABLE restaurants", "UPDATE restaurants SET name = 'x'"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        assert conn.execute("SHOW TimeZone").fetchone()[0] == "UTC"
        assert conn.execute("SHOW jit").fetchone()[0] == "off"


def test_the_event_log_is_append_only_even_for_its_owner(database: TestDatabase) -> None:
    with database.connect() as conn:
        conn.execute("INSERT INTO event_log (restaurant_id, kind, actor) SELECT id, 'test', 'me' FROM restaurants")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("DELETE FROM event_log")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("UPDATE event_log SET actor = 'someone else'")


def test_the_demo_seed_is_idempotent(database: TestDatabase) -> None:
    from frontdesk.db.migrate import seed

    before = database.rows("SELECT weekday, opens, closes FROM operating_hours ORDER BY weekday")
    seed(database.admin_url)
    seed(database.admin_url)
    assert database.rows("SELECT weekday, opens, closes FROM operating_hours ORDER BY weekday") == before
    assert database.scalar("SELECT count(*) FROM restaurants WHERE slug = 'demo-bistro'") == 1
    assert database.scalar("SELECT count(*) FROM capacity_rules") == 1


def test_the_demo_seed_keeps_what_a_developer_changed(database: TestDatabase) -> None:
    from frontdesk.db.migrate import seed

    database.scalar("UPDATE restaurants SET twilio_number = '+15551234567' WHERE slug = 'demo-bistro' RETURNING 1")
    database.scalar("UPDATE operating_hours SET closes = '21:00' WHERE weekday = 1 RETURNING 1")
    seed(database.admin_url)
    assert database.scalar("SELECT twilio_number FROM restaurants WHERE slug = 'demo-bistro'") == "+15551234567"
    assert str(database.scalar("SELECT closes FROM operating_hours WHERE weekday = 1")) == "21:00:00"
