"""`make dev` as a newcomer runs it: no DATABASE_URL or REDIS_URL, so embedded servers, migrations, Demo Bistro,
the API — from a private (0700) checkout, as a home directory or a fresh `mktemp -d` clone is — and nothing left
running after SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from frontdesk.devenv import runtime_root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_make_dev_serves_demo_bistro_on_embedded_servers_and_stops_them_on_sigterm() -> None:
    work = Path(tempfile.mkdtemp(prefix="fd-dev-", dir="/tmp"))  # 0700: the server user cannot reach in
    runtime = runtime_root(work, dropping_privileges=os.geteuid() == 0)
    pg_port, redis_port, api_port = _free_port(), _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(FRONTDESK_DEV_PG_PORT=str(pg_port), FRONTDESK_DEV_REDIS_PORT=str(redis_port))
    dev = subprocess.Popen([sys.executable, "-m", "frontdesk.cli", "dev", "--no-bridge", "--port", str(api_port)],
                           cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        ready = None
        while time.monotonic() < deadline and dev.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{api_port}/api/v1/readiness", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        assert ready is not None and ready.status_code == 200, dev.stdout.read() if dev.poll() is not None else ""
        bistro = httpx.get(f"http://127.0.0.1:{api_port}/api/v1/restaurants/demo-bistro", timeout=5).json()
        assert bistro["name"] == "Demo Bistro" and bistro["timezone"] == "America/New_York"
        assert (runtime / "pg" / "PG_VERSION").exists()
    finally:
        dev.send_signal(signal.SIGTERM)
        dev.wait(timeout=60)
        shutil.rmtree(runtime, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    assert not any(_listening(port) for port in (pg_port, redis_port, api_port))
