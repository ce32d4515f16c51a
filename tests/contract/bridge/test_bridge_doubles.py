"""The doubles behave like the services they stand in for (so scenario tests can be trusted)."""

from __future__ import annotations

import asyncio
import base64

import httpx
import orjson
import pytest
from websockets.exceptions import InvalidStatus

from tests.doubles.bridge_harness import run
from tests.doubles.fake_realtime import FakeRealtimeServer
from tests.doubles.fake_twilio_rest import FakeTwilioRest
from tests.doubles.twilio_caller import TwilioCaller


def test_the_caller_simulator_echoes_marks_after_playback_and_all_at_once_on_clear() -> None:
    async def scenario() -> None:
        from websockets.asyncio.server import serve

        echoes: list[tuple[str, float]] = []
        got_echo = asyncio.Event()

        async def bridge(ws) -> None:  # type: ignore[no-untyped-def]
            payload = base64.b64encode(b"\xff" * 800).decode()  # 100 ms
            media = orjson.dumps({"event": "media", "streamSid": "MZ1", "media": {"payload": payload}}).decode()
            for i in range(3):
                await ws.send(media)
                await ws.send(orjson.dumps({"event": "mark", "streamSid": "MZ1", "mark": {"name": f"m{i}"}}).decode())
            async for raw in ws:
                msg = orjson.loads(raw)
                if msg["event"] == "mark":
                    echoes.append((msg["mark"]["name"], loop.time()))
                    got_echo.set()
                    if len(echoes) == 1:
                        await ws.send(orjson.dumps({"event": "clear", "streamSid": "MZ1"}).decode())

        loop = asyncio.get_running_loop()
        async with serve(bridge, "127.0.0.1", 0) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            t0 = loop.time()
            async with TwilioCaller(f"ws://127.0.0.1:{port}", stream_sid="MZ1") as caller:
                await caller.wait_until(lambda: len(caller.clears) == 1)
                while len(echoes) < 3:
                    got_echo.clear()
                    await asyncio.wait_for(got_echo.wait(), 2)
                assert [name for name, _ in echoes] == ["m0", "m1", "m2"]
                assert echoes[0][1] - t0 >= 0.095  # the first mark only after its 100 ms played
                assert echoes[2][1] - echoes[1][1] < 0.05  # the rest at once, on clear
                assert caller.played_bytes == 800
    run(scenario())


def test_the_fake_realtime_server_refuses_beta_clients_and_flags_invalid_events() -> None:
    async def scenario() -> None:
        from websockets.asyncio.client import connect

        async with FakeRealtimeServer() as server:
            with pytest.raises(InvalidStatus):
                await connect(server.url + "?model=gpt-realtime",
                              additional_headers={"Authorization": "Bearer x", "OpenAI-Beta": "realtime=v1"})
            ws = await connect(server.url + "?model=gpt-realtime", additional_headers={"Authorization": "Bearer x"})
            session = await server.next_session()
            await ws.send('{"type":"session.update","session":{"type":"realtime","modalities":["audio"]}}')
            await ws.send('{"type":"response.create"}')
            await ws.send('{"type":"response.create"}')
            errors = []
            while len(errors) < 2:
                event = orjson.loads(await ws.recv())
                if event["type"] == "error":
                    errors.append(event["error"]["code"])
            assert errors == ["invalid_request_error", "conversation_already_has_active_response"]
            assert len(session.violations) == 2 and "OpenAI-Beta header sent" in server.violations
            await ws.close()
    run(scenario())


def test_the_fake_twilio_rest_api_checks_auth_and_records_updates_and_messages() -> None:
    async def scenario() -> None:
        async with FakeTwilioRest() as twilio:
            base = f"{twilio.url}/2010-04-01/Accounts/{twilio.account_sid}"
            async with httpx.AsyncClient() as client:
                assert (await client.post(f"{base}/Calls/CA1.json", data={"Status": "completed"})).status_code == 401
                auth = (twilio.account_sid, twilio.auth_token)
                ok = await client.post(f"{base}/Calls/CA1.json", data={"Twiml": "<Response/>"}, auth=auth)
                assert ok.status_code == 200 and ok.json()["sid"] == "CA1"
                sms = await client.post(f"{base}/Messages.json", auth=auth,
                                        data={"To": "+15551230000", "From": "+15550001111", "Body": "Booked!"})
                assert sms.status_code == 201 and sms.json()["sid"].startswith("SM")
                twilio.fail_next(1, 503)
                assert (await client.post(f"{base}/Calls/CA1.json", data={"Status": "completed"},
                                          auth=auth)).status_code == 503
            assert [u.twiml for u in twilio.call_updates] == ["<Response/>"]
            assert twilio.messages[0].form["Body"] == "Booked!"
    run(scenario())
