"""A call through the bridge, end to end over real websockets and HTTP, with protocol-faithful doubles.

Twilio side: :class:`TwilioCaller` (20 ms frames at real pace, Twilio's mark echoes). Model side: the fake
Realtime GA server, which validates every client event strictly (``model.violations`` must stay empty).
Twilio REST: the fake REST server. Booking API: the in-memory fake (the real-API scenarios are in
``test_bridge_booking_real_api.py``). Call records: real Redis under a per-test prefix.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from frontdesk_contract.call_record import CallOutcome, CallState
from tests.doubles.audio import agent_greeting, caller_clip, chunks, silence
from tests.doubles.bridge_harness import BridgeHarness, run
from tests.doubles.fake_booking_api import FakeBookingApi

pytestmark = pytest.mark.slow

GREETING = agent_greeting()[:4000]  # 500 ms of the greeting clip
CHECK_ARGS = {"date": "2026-12-05", "time": "19:00", "party_size": 4}


def assert_clean(h: BridgeHarness, *callers: object) -> None:
    assert h.model.violations == []
    for caller in callers:
        assert caller.violations == []  # type: ignore[attr-defined]


def test_caller_audio_reaches_the_model_unchanged_and_the_greeting_reaches_the_caller() -> None:
    async def scenario() -> None:
        async with BridgeHarness() as h:
            h.model.keep_payloads = True
            caller, model = await h.call()
            await model.respond(GREETING)
            await caller.wait_media(len(GREETING))
            clip = caller_clip()[:160 * 25]
            await caller.stream(clip)
            await model.wait_appends(25)
            assert model.append_payloads == chunks(clip)
            await caller.wait_played(len(GREETING))
            assert caller.media_bytes == len(GREETING)
            assert len(caller.marks) == caller.media_frames  # one mark per media frame
            assert model.session_config["audio"]["input"]["format"] == {"type": "audio/pcmu"}
            assert model.session_config["audio"]["output"]["format"] == {"type": "audio/pcmu"}
            assert "Demo Bistro" in model.session_config["instructions"]
            assert "OpenAI-Beta" not in model.headers
            await caller.stop()
            await caller.wait_closed()
            record = await h.wait_record(caller.call_sid, lambda r: r.state is not CallState.ACTIVE)
            assert record.state is CallState.COMPLETED and record.outcome is CallOutcome.ABANDONED
            assert_clean(h, caller)
    run(scenario())


def test_barge_in_clears_twilio_and_truncates_at_the_audio_confirmed_played() -> None:
    async def scenario() -> None:
        async with BridgeHarness() as h:
            caller, model = await h.call()
            result = await model.respond(GREETING, chunk_bytes=800)  # 5 × 100 ms, sent at once
            await caller.wait_played(1600)  # 200 ms heard
            await model.speech_started()
            truncate = await model.wait_for("conversation.item.truncate")
            await caller.wait_until(lambda: len(caller.clears) == 1)
            assert truncate["item_id"] == result["item_id"]
            assert truncate["content_index"] == 0
            played_ms = caller.played_at_clear[0] // 8
            assert truncate["audio_end_ms"] % 100 == 0  # a mark boundary
            assert played_ms - 100 <= truncate["audio_end_ms"] <= played_ms
            assert truncate["audio_end_ms"] < len(GREETING) // 8  # never what was merely sent
            # the clear reached Twilio before the truncate reached the model
            assert caller.clears[0] <= model.event_times[model.events.index(truncate)]
            # audio still in flight for the interrupted response is dropped
            frames_before = caller.media_frames
            await model.audio_delta(result["response_id"], result["item_id"], silence(100))
            await model.wait_for("response.create", count=1)
            follow_up = await model.respond(silence(100))
            await caller.wait_until(lambda: caller.media_frames == frames_before + 1)
            assert follow_up["bytes_sent"] == 800
            assert_clean(h, caller)
    run(scenario())


def test_a_tool_call_arriving_while_audio_is_still_playing_runs_without_cutting_the_audio() -> None:
    async def scenario() -> None:
        async with BridgeHarness() as h:
            caller, model = await h.call()
            speech = agent_greeting()[:8000]  # 1 s of "let me check", sent at once
            result = await model.respond(speech, function_call=("check_availability", CHECK_ARGS))
            output = await model.wait_for("conversation.item.create")
            played_when_answered = caller.played_bytes
            await model.wait_for("response.create", count=2)
            assert played_when_answered < len(speech)  # the tool ran while the audio was playing
            assert output["item"]["call_id"] == result["call_id"]
            assert model.outputs()[0]["available"] is True
            await caller.wait_played(len(speech), within=3)
            assert caller.clears == []
            assert len(model.of_type("response.create")) == 2  # greeting + exactly one after the tool
            # the function output came before the response.create that follows it
            kinds = [e["type"] for e in model.events]
            assert kinds.index("conversation.item.create") < len(kinds) - 1 - kinds[::-1].index("response.create")
            assert len(h.fake_booking.calls_to("/availability/check")) == 1
            assert_clean(h, caller)
    run(scenario())


def test_a_cancelled_responses_function_call_is_not_executed() -> None:
    async def scenario() -> None:
        async with BridgeHarness() as h:
            caller, model = await h.call()
            rid = await model.begin_response()
            await model.audio_delta(rid, "item_x", silence(200))
            await caller.wait_media(1600)
            await model.speech_started()  # the caller interrupts; the server cancels the response
            await model.function_call(rid, "check_availability", CHECK_ARGS)  # already in flight
            await model.end_response(rid, "cancelled")
            # a later, completed response proves the bridge processed everything above
            later = await model.respond(function_call=("get_restaurant_info", {}))
            await model.wait_for("conversation.item.create")
            assert [o["call_id"] for o in model.outputs()] == [later["call_id"]]
            assert h.fake_booking.calls_to("/availability/check") == []
            assert_clean(h, caller)
    run(scenario())


def test_the_model_socket_dropped_once_is_resumed_with_a_summary_of_the_call() -> None:
    async def scenario() -> None:
        async with BridgeHarness() as h:
            caller, model = await h.call()
            await model.respond(function_call=("check_availability", CHECK_ARGS))
            await model.wait_for("response.create", count=2)
            await h.wait_record(caller.call_sid, lambda r: r.hold_id is not None)
            await model.drop()
            resumed = await h.model.next_session()
            await resumed.wait_for("session.update")
            note = await resumed.wait_for("conversation.item.create")
            await resumed.wait_for("response.create")
            text = note["item"]["content"][0]["text"]
            assert note["item"]["role"] == "system"
            assert "2026-12-05" in text and "19:00" in text  # the held table survives the reconnect
            await caller.stream(caller_clip()[:160 * 5])
            await resumed.wait_appends(5)
            assert h.twilio.call_updates == []  # no transfer: the call simply goes on
            record = await h.record(caller.call_sid)
            assert record.state is CallState.ACTIVE
            assert_clean(h, caller)
    run(scenario())


def test_the_model_socket_lost_for_good_transfers_the_caller_with_an_apology() -> None:
    async def scenario() -> None:
        async with BridgeHarness() as h:
            caller, model = await h.call()
            h.model.refuse = True
            await model.drop()
            update = await h.twilio.wait_for_update(within=6)
            assert "<Say>" in update.twiml and "sorry" in update.twiml.lower()
            assert "<Dial" in update.twiml and h.fake_booking.failover_phone in update.twiml
            assert h.fake_booking.phone not in update.twiml
            record = await h.wait_record(caller.call_sid, lambda r: r.state is not CallState.ACTIVE)
            assert (record.state, record.outcome, record.reason) == (CallState.TRANSFER, CallOutcome.FAILED,
                                                                     "model_lost")
            await caller.wait_closed()
            assert_clean(h, caller)
    run(scenario())


@pytest.mark.parametrize("problem", ["other call", "expired", "tampered", "missing"])
def test_a_bad_stream_token_closes_the_socket_before_any_model_session_opens(problem: str) -> None:
    async def scenario() -> None:
        async with BridgeHarness() as h:
            from tests.doubles.twilio_caller import TwilioCaller

            caller = TwilioCaller(h.url, call_sid="CA" + "1" * 32)
            h.callers[caller.call_sid] = caller
            await caller.connect()
            token = {
                "other call": h.token("CA" + "2" * 32),
                "expired": h.token(caller.call_sid, now=time.time() - 61, ttl=60),
                "tampered": h.token(caller.call_sid)[:-2] + "AA",
                "missing": "",
            }[problem]
            await caller.start(token, h.restaurant_id)
            await caller.stream(caller_clip()[:160 * 3], pace=False)
            await caller.wait_closed()
            assert caller.close_code == 1008
            assert h.model.sessions == []
            assert h.twilio.call_updates == []
            assert await h.record(caller.call_sid) is None  # after-stream will dial the failover
    run(scenario())


def test_garbage_and_out_of_order_twilio_messages_are_survived() -> None:
    async def scenario() -> None:
        async with BridgeHarness() as h:
            from tests.doubles.twilio_caller import TwilioCaller

            call_sid = "CA" + "3" * 32
            caller = TwilioCaller(h.url, call_sid=call_sid)
            h.callers[call_sid] = caller
            await caller.connect()
            for junk in ["not json", "[]", "{}", '{"event": 5}', '{"event":"media","media":{"payload":"AAAA"}}',
                         '{"event":"mark","mark":{"name":"m99"}}', '{"event":"stop"}', b"\x00\x01binary"]:
                await caller.send_raw(junk)
            await caller.start(h.token(call_sid), h.restaurant_id)
            model = await h.model.next_session()
            await model.wait_for("response.create")
            await model.respond(GREETING)
            for junk in ['{"event":"media","media":{"payload":"not base64!!"}}', '{"event":"media","media":7}',
                         '{"event":"media"}', '{"event":"dtmf","dtmf":{"digit":"12"}}',
                         '{"event":"mark","mark":{"name":"never-sent"}}', '{"event":"mark"}',
                         '{"event":"surprise","x":1}', '{"event":"connected"}', "[1,2,3]", "{" * 1000,
                         '{"event":"start","start":{"streamSid":"MZx","callSid":"CAx"}}']:
                await caller.send_raw(junk)
            await caller.stream(caller_clip()[:160 * 3], pace=False)
            await model.wait_appends(3)
            await caller.wait_played(len(GREETING))
            assert h.twilio.call_updates == [] and not caller.closed.is_set()
            await caller.stop()
            record = await h.wait_record(call_sid, lambda r: r.state is not CallState.ACTIVE)
            assert record.state is CallState.COMPLETED
            assert_clean(h, caller)
    run(scenario())


def test_pressing_0_transfers_the_caller_to_the_restaurant() -> None:
    async def scenario() -> None:
        async with BridgeHarness() as h:
            caller, model = await h.call()
            await caller.dtmf("0")
            update = await h.twilio.wait_for_update()
            assert update.call_sid == caller.call_sid
            assert f">{h.fake_booking.failover_phone}</Dial>" in update.twiml
            await asyncio.wait_for(model.closed.wait(), 2)
            record = await h.wait_record(caller.call_sid, lambda r: r.state is not CallState.ACTIVE)
            assert (record.state, record.outcome, record.reason) == (CallState.TRANSFER, CallOutcome.TRANSFERRED,
                                                                     "dtmf_0")
            assert_clean(h, caller)
    run(scenario())


def test_end_call_hangs_up_only_after_the_goodbye_has_played() -> None:
    async def scenario() -> None:
        async with BridgeHarness() as h:
            caller, model = await h.call()
            played_at_hangup: list[int] = []
            original = h.twilio.on_call_update

            async def note_playback(update: object) -> None:
                played_at_hangup.append(caller.played_bytes)
                await original(update)  # type: ignore[misc]

            h.twilio.on_call_update = note_playback
            goodbye = agent_greeting()[:6400]  # 800 ms
            await model.respond(goodbye, function_call=("end_call", {}))
            update = await h.twilio.wait_for_update(within=5)
            assert update.status == "completed"
            assert played_at_hangup == [len(goodbye)]
            assert len(model.of_type("response.create")) == 1  # the goodbye was already spoken
            record = await h.wait_record(caller.call_sid, lambda r: r.state is not CallState.ACTIVE)
            assert (record.state, record.reason) == (CallState.COMPLETED, "end_call")
            assert_clean(h, caller)
    run(scenario())


def test_two_unanswered_idle_prompts_end_in_goodbye_and_hang_up() -> None:
    async def scenario() -> None:
        async with BridgeHarness() as h:
            caller, model = await h.call()
            await model.idle_timeout()
            await model.idle_timeout()
            await model.speech_started()  # the caller answered: the count starts again
            for _ in range(2):
                await model.idle_timeout()
            await model.respond(silence(20))  # proves the prompts above were processed
            await caller.wait_media(160)
            assert h.twilio.call_updates == []
            await model.idle_timeout()  # the second prompt went unanswered too
            update = await h.twilio.wait_for_update()
            assert "<Say>" in update.twiml and "<Hangup/>" in update.twiml
            record = await h.wait_record(caller.call_sid, lambda r: r.state is not CallState.ACTIVE)
            assert (record.state, record.outcome, record.reason) == (CallState.COMPLETED, CallOutcome.ABANDONED,
                                                                     "idle")
            assert_clean(h, caller)
    run(scenario())


def test_twilio_stop_closes_the_model_socket_within_one_second() -> None:
    async def scenario() -> None:
        async with BridgeHarness() as h:
            caller, model = await h.call()
            await model.respond(GREETING)
            await caller.wait_media(len(GREETING))
            await caller.stop()
            await asyncio.wait_for(model.closed.wait(), timeout=1.0)
            await caller.wait_closed()
            record = await h.wait_record(caller.call_sid, lambda r: r.state is not CallState.ACTIVE)
            assert (record.state, record.reason) == (CallState.COMPLETED, "caller_hung_up")
            assert_clean(h, caller)
    run(scenario())


def test_the_maximum_call_duration_transfers_the_caller() -> None:
    async def scenario() -> None:
        async with BridgeHarness(max_call_seconds=0.3) as h:
            caller, _model = await h.call()
            update = await h.twilio.wait_for_update()
            assert "<Dial" in update.twiml
            record = await h.wait_record(caller.call_sid, lambda r: r.state is not CallState.ACTIVE)
            assert (record.state, record.reason) == (CallState.TRANSFER, "max_duration")
    run(scenario())


def test_transfer_to_host_lets_the_sentence_finish_then_dials_the_restaurant() -> None:
    async def scenario() -> None:
        async with BridgeHarness() as h:
            caller, model = await h.call()
            words = agent_greeting()[:3200]
            await model.respond(words, function_call=("transfer_to_host", {"reason": "wants a manager"}))
            update = await h.twilio.wait_for_update()
            assert caller.played_bytes == len(words)
            assert f">{h.fake_booking.failover_phone}</Dial>" in update.twiml
            record = await h.wait_record(caller.call_sid, lambda r: r.state is not CallState.ACTIVE)
            assert (record.state, record.outcome) == (CallState.TRANSFER, CallOutcome.TRANSFERRED)
            assert_clean(h, caller)
    run(scenario())


def test_booking_api_errors_become_short_speakable_results_with_the_alternates() -> None:
    async def scenario() -> None:
        fake = FakeBookingApi(full_times={"19:00"})
        async with BridgeHarness(fake_booking=fake) as h:
            caller, model = await h.call()
            await model.respond(function_call=("check_availability", CHECK_ARGS))
            await model.wait_for("response.create", count=2)
            full = model.outputs()[0]
            assert full["available"] is False and full["reason"] == "full"
            assert [a["time"] for a in full["alternates"]] == ["20:00", "21:00"]
            assert "8 PM" in full["message"] and "9 PM" in full["message"]
            fake.down = True
            await model.respond(function_call=("find_reservations", {}))
            await model.wait_for("response.create", count=3)
            assert model.outputs()[1]["reason"] == "system_unavailable"
            await model.respond(function_call=("book_reservation", {"guest_name": "Ana"}))
            await model.wait_for("response.create", count=4)
            assert model.outputs()[2]["reason"] == "no_hold"
            assert_clean(h, caller)
    run(scenario())


def test_a_twilio_rest_failure_falls_back_to_closing_the_stream_for_connect_action() -> None:
    async def scenario() -> None:
        async with BridgeHarness() as h:
            caller, _model = await h.call()
            h.twilio.fail_next(times=5, status=500)
            await caller.dtmf("0")
            await caller.wait_closed()  # <Connect action> → after-stream reads the record and dials
            record = await h.wait_record(caller.call_sid, lambda r: r.state is not CallState.ACTIVE)
            assert record.state is CallState.TRANSFER
    run(scenario())


def test_healthz_answers_and_unknown_paths_are_refused() -> None:
    async def scenario() -> None:
        import httpx

        async with BridgeHarness() as h:
            base = h.url.replace("ws://", "http://").rsplit("/ws/", 1)[0]
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"{base}/healthz")).status_code == 200
                assert (await client.get(f"{base}/nope")).status_code == 404
    run(scenario())


class _ExplodingConnection:
    """A model connection (our ModelConnection protocol) whose receive side fails unexpectedly."""

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self._events = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    async def recv(self) -> object:
        self._events += 1
        if self._events > 2:
            raise RuntimeError("bug in a provider adapter")
        return await self._inner.recv()  # type: ignore[attr-defined]


class _ExplodingProvider:
    def __init__(self, inner: object) -> None:
        self._inner = inner

    async def connect(self, config: object, open_timeout: float) -> object:
        return _ExplodingConnection(await self._inner.connect(config, open_timeout))  # type: ignore[attr-defined]


def test_an_unexpected_error_in_the_call_transfers_the_caller_with_an_apology() -> None:
    async def scenario() -> None:
        async with BridgeHarness(wrap_provider=_ExplodingProvider) as h:
            caller, model = await h.call()
            await model.respond(silence(40))  # response.created + delta + done: the third event explodes
            update = await h.twilio.wait_for_update()
            assert "sorry" in update.twiml.lower() and "<Dial" in update.twiml
            record = await h.wait_record(caller.call_sid, lambda r: r.state is not CallState.ACTIVE)
            assert (record.state, record.outcome, record.reason) == (CallState.TRANSFER, CallOutcome.FAILED,
                                                                     "error")
    run(scenario())


@pytest.mark.parametrize("valid", [True, False])
def test_twilios_signature_on_the_handshake_is_checked_when_present(valid: bool) -> None:
    async def scenario() -> None:
        from twilio.request_validator import RequestValidator
        from websockets.exceptions import InvalidStatus

        from tests.doubles.twilio_caller import TwilioCaller

        public = "wss://bridge.example.com"
        async with BridgeHarness(bridge_public_url=public) as h:
            signature = RequestValidator(h.twilio.auth_token).compute_signature(f"{public}/ws/twilio-stream", {})
            if not valid:
                signature = RequestValidator("another-token").compute_signature(f"{public}/ws/twilio-stream", {})
            caller = TwilioCaller(h.url, headers={"X-Twilio-Signature": signature})
            h.callers[caller.call_sid] = caller
            if valid:
                await caller.connect()
                await caller.start(h.token(caller.call_sid), h.restaurant_id)
                await h.model.next_session()
            else:
                with pytest.raises(InvalidStatus):
                    await caller.connect()
                assert caller.handshake_status == 403
                assert h.model.sessions == []
    run(scenario())


def test_end_call_without_a_spoken_goodbye_asks_for_one_and_hangs_up_after_it() -> None:
    async def scenario() -> None:
        async with BridgeHarness() as h:
            caller, model = await h.call()
            await model.respond(function_call=("end_call", {}))  # no audio in this response
            await model.wait_for("response.create", count=2)  # the bridge asks for the goodbye
            assert h.twilio.call_updates == []
            goodbye = agent_greeting()[:3200]
            await model.respond(goodbye)
            update = await h.twilio.wait_for_update()
            assert update.status == "completed" and caller.played_bytes == len(goodbye)
            assert_clean(h, caller)
    run(scenario())


def test_a_model_that_cannot_be_reached_at_call_start_means_an_apology_and_a_transfer() -> None:
    async def scenario() -> None:
        from tests.doubles.twilio_caller import TwilioCaller

        async with BridgeHarness() as h:
            h.model.refuse = True
            caller = TwilioCaller(h.url, call_sid="CA" + "4" * 32)
            h.callers[caller.call_sid] = caller
            await caller.connect()
            await caller.start(h.token(caller.call_sid), h.restaurant_id)
            update = await h.twilio.wait_for_update()
            assert "sorry" in update.twiml.lower() and f">{h.fake_booking.failover_phone}</Dial>" in update.twiml
            record = await h.wait_record(caller.call_sid, lambda r: r.state is not CallState.ACTIVE)
            assert (record.outcome, record.reason) == (CallOutcome.FAILED, "model_unavailable")
    run(scenario())


def test_each_call_emits_emf_metrics_and_logs_keyed_by_its_call_sid(capsys, caplog) -> None:  # type: ignore[no-untyped-def]
    import json
    import logging

    caplog.set_level(logging.INFO, logger="frontdesk_bridge")

    async def scenario() -> str:
        async with BridgeHarness() as h:
            caller, model = await h.call()
            utterance = await model.speech_started()
            await model.speech_stopped(utterance)
            await model.respond(GREETING, function_call=("check_availability", CHECK_ARGS))
            await caller.wait_played(800)
            await model.speech_started()  # barge-in while the rest is unplayed
            await model.wait_for("conversation.item.truncate")
            await caller.stop()
            await h.wait_record(caller.call_sid, lambda r: r.state is not CallState.ACTIVE)
            await caller.wait_closed()
            return caller.call_sid

    call_sid = run(scenario())
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    ours = [b for b in blobs if b.get("call_sid") == call_sid]
    names = {m["Name"] for b in ours for d in b["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"TurnLatency", "BargeIn", "BargeInLatency", "ToolLatency.check_availability", "CallDuration",
            "CallOutcome"} <= names
    assert any(b.get("outcome") == "info" for b in ours)  # the outcome is a dimension
    assert not {"Transfer", "UpstreamFailure"} & names  # a call that ended well is neither
    call_logs = [r for r in caplog.records if getattr(r, "call_sid", None) == call_sid]
    assert {"call started", "tool executed", "call ending", "call closed"} <= {r.getMessage() for r in call_logs}


def test_garbage_and_beta_events_from_the_model_are_logged_and_ignored() -> None:
    async def scenario() -> None:
        async with BridgeHarness() as h:
            caller, model = await h.call()
            for junk in ["not json", "[]", '{"no":"type"}', '{"type":"response.audio.delta","delta":"AAAA"}',
                         '{"type":"response.output_audio.delta","delta":"not base64!!"}',
                         '{"type":"response.done"}', '{"type":"response.function_call_arguments.done"}',
                         '{"type":"error"}', '{"type":"from.the.future","x":{"y":[1]}}']:
                await model.ws.send(junk)  # raw: the fake's own events are always valid GA
            await model.respond(GREETING)
            await caller.wait_played(len(GREETING))
            assert caller.media_bytes == len(GREETING) and h.twilio.call_updates == []
            assert_clean(h, caller)
    run(scenario())


def test_a_redis_outage_never_stalls_or_ends_a_call() -> None:
    async def scenario() -> None:
        async with BridgeHarness(redis_url="redis://127.0.0.1:9/0") as h:  # nothing listens on port 9
            caller, model = await h.call()
            await model.respond(function_call=("check_availability", CHECK_ARGS))
            await model.wait_for("response.create", count=2)
            assert model.outputs()[0]["available"] is True
            await model.respond(GREETING)
            await caller.wait_played(len(GREETING))
            await caller.stop()
            await asyncio.wait_for(model.closed.wait(), 1.0)
            assert await h.record(caller.call_sid) is None  # after-stream would dial the restaurant: safe
            assert_clean(h, caller)
    run(scenario())


def _emf(out: str) -> list[dict]:  # type: ignore[type-arg]
    import json

    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def _metric_names(blob: dict) -> set[str]:  # type: ignore[type-arg]
    return {m["Name"] for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}


def test_a_call_lost_to_the_model_counts_a_transfer_and_an_upstream_failure_for_the_alarms(capsys) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> str:
        async with BridgeHarness() as h:
            caller, model = await h.call()
            h.model.refuse = True
            await model.drop()
            await h.twilio.wait_for_update(within=6)
            await h.wait_record(caller.call_sid, lambda r: r.state is not CallState.ACTIVE)
            await caller.wait_closed()
            return caller.call_sid

    call_sid = run(scenario())
    ours = [b for b in _emf(capsys.readouterr().out) if b.get("call_sid") == call_sid]
    counted = [b for b in ours if {"Transfer", "UpstreamFailure"} <= _metric_names(b)]
    assert counted and counted[0]["Transfer"] == [1.0] and counted[0]["UpstreamFailure"] == [1.0]
    # One dimension, service=bridge: the alarms look for exactly that set.
    assert counted[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert counted[0]["service"] == "bridge"


def test_a_requested_transfer_counts_a_transfer_but_no_upstream_failure(capsys) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> str:
        async with BridgeHarness() as h:
            caller, _ = await h.call()
            await caller.dtmf("0")
            await h.twilio.wait_for_update()
            await h.wait_record(caller.call_sid, lambda r: r.state is not CallState.ACTIVE)
            return caller.call_sid

    call_sid = run(scenario())
    names = set().union(*(_metric_names(b) for b in _emf(capsys.readouterr().out) if b.get("call_sid") == call_sid))
    assert "Transfer" in names and "UpstreamFailure" not in names


def test_every_bridge_process_reports_its_live_calls_for_scaling_zero_included(capsys) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> list[int]:
        async with BridgeHarness() as h:
            at_start = [b["ActiveCalls"] for b in _emf(capsys.readouterr().out) if "ActiveCalls" in b]
            await h.call()
            gauge = asyncio.get_running_loop().create_task(h.bridge._report_active_calls(every=3600))
            await asyncio.sleep(0)  # let it take its first reading
            gauge.cancel()
            during = [b["ActiveCalls"] for b in _emf(capsys.readouterr().out) if "ActiveCalls" in b]
            return at_start + during

    assert run(scenario()) == [[0.0], [1.0]]  # EMF values are lists
