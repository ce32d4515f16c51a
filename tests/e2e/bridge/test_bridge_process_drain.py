"""The bridge as a real process (``python -m frontdesk_bridge``): SIGTERM drain."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from frontdesk_bridge.call_store import RedisCallStore
from frontdesk_contract.call_record import CallOutcome, CallState
from tests.doubles.audio import caller_clip
from tests.doubles.bridge_harness import STREAM_SECRET, run
from tests.doubles.fake_booking_api import FakeBookingApi
from tests.doubles.fake_realtime import FakeRealtimeServer
from tests.doubles.fake_twilio_rest import FakeTwilioRest
from tests.doubles.twilio_caller import TwilioCaller

pytestmark = pytest.mark.slow

REDIS_URL = "redis://127.0.0.1:6379/0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _health(client: httpx.AsyncClient, base: str) -> int | None:
    try:
        return (await client.get(f"{base}/healthz")).status_code
    except httpx.HTTPError:
        return None


async def _poll_health(client: httpx.AsyncClient, base: str, want: int, within: float = 15.0) -> None:
    # polling another process's HTTP endpoint: there is no event to await across the process boundary
    deadline = time.monotonic() + within
    while await _health(client, base) != want:
        if time.monotonic() > deadline:
            raise TimeoutError(f"/healthz never answered {want}")
        await asyncio.sleep(0.05)


def test_sigterm_drains_healthz_refuses_new_calls_and_transfers_the_calls_still_live() -> None:
    async def scenario() -> None:
        from frontdesk_contract.stream_token import issue_stream_token

        booking = FakeBookingApi()
        booking_http = await booking.serve()
        model = FakeRealtimeServer()
        await model.start()
        twilio = FakeTwilioRest()
        await twilio.start()
        prefix = f"fdtest-{uuid.uuid4().hex[:12]}:"
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "BRIDGE_HOST": "127.0.0.1", "BRIDGE_PORT": str(port), "OPENAI_API_KEY": "sk-test",
               "OPENAI_REALTIME_URL": model.url, "BOOKING_API_URL": booking_http.url, "REDIS_URL": REDIS_URL,
               "REDIS_KEY_PREFIX": prefix, "STREAM_TOKEN_SECRET": STREAM_SECRET,
               "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
               "TWILIO_API_BASE_URL": twilio.url, "DRAIN_SECONDS": "1.5", "LOG_LEVEL": "WARNING"}
        proc = subprocess.Popen([sys.executable, "-m", "frontdesk_bridge"], env=env,  # noqa: ASYNC220 - a handle, not a wait
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        caller = TwilioCaller(f"ws://127.0.0.1:{port}/ws/twilio-stream")
        store = RedisCallStore(REDIS_URL, prefix)
        try:
            async with httpx.AsyncClient() as client:
                await _poll_health(client, base, 200)
                twilio.on_call_update = lambda update: caller.stop()
                await caller.connect()
                token = issue_stream_token(STREAM_SECRET, booking.restaurant_id, caller.call_sid, "+15551230000",
                                           time.time(), 60)
                await caller.start(token, booking.restaurant_id)
                session = await model.next_session()
                await session.wait_for("response.create")

                proc.send_signal(signal.SIGTERM)
                await _poll_health(client, base, 503, within=5)
                late = TwilioCaller(f"ws://127.0.0.1:{port}/ws/twilio-stream", call_sid="CA" + "9" * 32)
                with pytest.raises(InvalidStatus):
                    await late.connect()
                assert late.handshake_status == 503

                await caller.stream(caller_clip()[:160 * 5])  # the live call goes on during the drain
                await session.wait_appends(5)
                assert twilio.call_updates == []

                update = await twilio.wait_for_update(within=10)
                assert f">{booking.failover_phone}</Dial>" in update.twiml
                assert await asyncio.to_thread(proc.wait, 15) == 0
                record = await store.load(caller.call_sid)
                assert record is not None
                assert (record.state, record.outcome, record.reason) == (CallState.TRANSFER,
                                                                         CallOutcome.TRANSFERRED, "shutdown")
                assert model.violations == []
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            await caller.close()
            import redis.asyncio as aioredis

            client_r = aioredis.Redis.from_url(REDIS_URL)
            keys = [k async for k in client_r.scan_iter(match=f"{prefix}*")]
            if keys:
                await client_r.delete(*keys)
            await client_r.aclose()
            await store.aclose()
            await model.close()
            await twilio.close()
            await booking_http.close()

    run(scenario(), timeout=60)
