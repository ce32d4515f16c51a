"""One phone call: Twilio Media Streams on one side, the model on the other.

The session owns every task it starts (readers, tool calls, timers, the ending) and cancels them on
teardown. Its lifecycle is :class:`Phase`. Every way a call can end goes through :meth:`CallSession.finish`
with an :class:`Ending`, which writes the call-outcome record first (so the ``<Connect action>`` webhook
always finds the right decision) and then acts: hang up, redirect to the restaurant, or just tear down.

Hot path (≈50 frames/s each way per call): Twilio ``media`` → one ``input_audio_buffer.append`` built as
bytes around the payload string; model ``response.output_audio.delta`` → one Twilio ``media`` + one
``mark`` built the same way. No per-frame logging, no per-frame models beyond a slotted dataclass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from frontdesk_bridge import phrases
from frontdesk_bridge.booking_api import BookingApi, BookingProblem, BookingUnavailable
from frontdesk_bridge.call_store import CallStore
from frontdesk_bridge.instructions import build_instructions, fallback_instructions
from frontdesk_bridge.observability import CallMetrics
from frontdesk_bridge.playback import PlaybackTracker, b64_decoded_len
from frontdesk_bridge.realtime.provider import (
    AudioDelta,
    FunctionCallDone,
    IdleTimeout,
    ModelClosed,
    ModelConnection,
    ModelError,
    ModelProvider,
    ResponseCreated,
    ResponseDone,
    SessionConfig,
    SpeechStarted,
    SpeechStopped,
    UnknownModelEvent,
)
from frontdesk_bridge.settings import BridgeSettings
from frontdesk_bridge.tools import TOOL_SPECS, CallFacts, ToolControl, ToolExecutor, ToolResult
from frontdesk_bridge.twilio_rest import TwilioRest, TwilioRestError, dial_twiml, say_hangup_twiml
from frontdesk_bridge.twilio_wire import (
    Connected,
    Dtmf,
    Mark,
    Media,
    OutboundFrames,
    Start,
    Stop,
    TwilioWireError,
    UnknownEvent,
    parse_inbound,
)
from frontdesk_bridge.wsio import ConnectionGone, send_texts
from frontdesk_contract.call_record import CallOutcome, CallRecord, CallState
from frontdesk_contract.stream_token import StreamTokenError, verify_stream_token

__all__ = ["BridgeDeps", "CallSession", "EndKind", "Ending", "Phase"]

log = logging.getLogger("frontdesk_bridge.session")

# A response.create unanswered for this long is treated as lost (never wait on it forever).
_REQUEST_STALE_S = 5.0

# Websocket close codes we use towards Twilio.
CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class Phase(StrEnum):
    AWAITING_START = "awaiting_start"
    CONNECTING_MODEL = "connecting_model"
    ACTIVE = "active"
    RECONNECTING = "reconnecting"
    ENDING = "ending"  # goodbye playing, then hang up
    TRANSFERRING = "transferring"  # apology, then redirect to the restaurant
    CLOSED = "closed"


class EndKind(Enum):
    CALLER_HUNG_UP = "caller_hung_up"  # Twilio `stop`
    TWILIO_LOST = "twilio_lost"  # websocket to Twilio closed without `stop`
    HANG_UP = "hang_up"  # end_call: goodbye played, then Status=completed
    IDLE = "idle"  # unanswered idle prompts: Twilio says goodbye and hangs up
    TRANSFER = "transfer"  # apology + <Dial> the restaurant
    REFUSED = "refused"  # bad token / never started: no model session was opened


#: Endings that mean the model (OpenAI Realtime) failed us; counted as UpstreamFailure.
UPSTREAM_FAILURES = frozenset({"model_lost", "model_unavailable"})


@dataclass(frozen=True, slots=True)
class Ending:
    kind: EndKind
    reason: str
    failed: bool = False  # the AI side failed (outcome "failed" rather than "transferred")
    wait_for_playback: bool = False


@dataclass(slots=True)
class BridgeDeps:
    settings: BridgeSettings
    provider: ModelProvider
    booking: BookingApi
    store: CallStore
    twilio: TwilioRest
    clock: Callable[[], float] = time.time


class _TwilioGone(Exception):
    pass


class CallSession:
    def __init__(self, ws: Any, deps: BridgeDeps) -> None:
        self._ws = ws
        self._deps = deps
        self._s = deps.settings
        self.phase = Phase.AWAITING_START
        self.call_sid = ""
        self.stream_sid = ""
        self._log: logging.LoggerAdapter[logging.Logger] = logging.LoggerAdapter(log, {})
        self._tasks: set[asyncio.Task[Any]] = set()
        self._done = asyncio.Event()
        self._ending: Ending | None = None
        self._ending_task: asyncio.Task[None] | None = None
        self._stopped = False  # Twilio sent `stop`
        self._model: ModelConnection | None = None
        self._frames: OutboundFrames | None = None
        self._playback = PlaybackTracker()
        self._facts: CallFacts | None = None
        self._tools: ToolExecutor | None = None
        self._restaurant: dict[str, Any] = {}
        self._config: SessionConfig | None = None
        self._metrics: CallMetrics | None = None
        self._started_at = time.monotonic()
        # response bookkeeping: never two active responses, never run a cancelled response's tools
        self._active_response: str | None = None
        self._requested_at: float | None = None  # monotonic time of our unanswered response.create
        self._responses_idle = asyncio.Event()  # no response active or requested
        self._responses_idle.set()
        self._want_response = False
        self._cancelled: set[str] = set()
        self._responses_with_audio: set[str] = set()
        self._pending_tools: dict[str, list[asyncio.Task[tuple[str, ToolResult]]]] = {}
        self._idle_prompts = 0
        self._speech_stopped_at: float | None = None
        self._garbage = 0
        self._unknown_logged: set[str] = set()
        self._record_final = False
        self._stop_event = asyncio.Event()
        self.outcome: CallOutcome | None = None

    # -- public ---------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self._done.is_set()

    async def run(self) -> None:
        """Serve the call until it ends. Never raises (except cancellation)."""
        try:
            start = await self._await_start()
            if start is None:
                return
            if not await self._authenticate(start):
                return
            await self._open(start)
            if self._ending is None:
                self._spawn(self._twilio_loop(), "twilio")
                self._spawn(self._model_loop(), "model")
                self._spawn(self._call_timer(), "timer")
            await self._done.wait()
        except asyncio.CancelledError:
            raise
        except Exception:
            self._log.exception("unexpected error in call session")
            if self.call_sid and not self.done:
                self.finish(Ending(EndKind.TRANSFER, "error", failed=True))
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._done.wait(), timeout=10)
        finally:
            await self._teardown()

    def shutdown(self) -> None:
        """SIGTERM drain deadline passed: hand the caller to the restaurant."""
        self.finish(Ending(EndKind.TRANSFER, "shutdown"))

    # -- start & authentication -----------------------------------------------------------------

    async def _await_start(self) -> Start | None:
        deadline = time.monotonic() + self._s.start_timeout_seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log.warning("no start message in time; closing")
                await self._close_twilio(CLOSE_POLICY, "no start")
                return None
            try:
                raw = await asyncio.wait_for(self._ws.recv(decode=False), timeout=remaining)
            except TimeoutError:
                continue
            except Exception:  # closed before start
                return None
            try:
                msg = parse_inbound(raw)
            except TwilioWireError as exc:
                self._garbage += 1
                log.warning("garbage before start ignored", extra={"error": str(exc)})
                continue
            if isinstance(msg, Start):
                return msg
            if not isinstance(msg, Connected):
                log.info("message before start ignored", extra={"event": getattr(msg, "name", msg.event)})

    async def _authenticate(self, start: Start) -> bool:
        self.call_sid = start.call_sid
        self.stream_sid = start.stream_sid
        self._log = logging.LoggerAdapter(log, {"call_sid": start.call_sid})
        secret = self._s.stream_token_secret.get_secret_value() if self._s.stream_token_secret else ""
        token = start.custom_parameters.get("token", "")
        try:
            if not secret:
                raise StreamTokenError("STREAM_TOKEN_SECRET is not configured")
            claims = verify_stream_token(secret, token, start.call_sid, self._deps.clock())
            param_rid = start.custom_parameters.get("restaurant_id")
            if param_rid and param_rid != claims.restaurant_id:
                raise StreamTokenError("restaurant_id parameter does not match the token")
        except StreamTokenError as exc:
            # Nothing of ours is recorded: with no record, after-stream dials the failover number.
            self._log.warning("stream refused: bad token", extra={"error": type(exc).__name__,
                                                                  "detail": str(exc)})
            self._ending = Ending(EndKind.REFUSED, "bad_token")
            self._done.set()
            await self._close_twilio(CLOSE_POLICY, "unauthorized")
            return False
        self._frames = OutboundFrames(start.stream_sid)
        self._facts = CallFacts(restaurant_id=claims.restaurant_id, caller=claims.caller)
        self._metrics = CallMetrics(self._s.metrics_namespace, self._s.metrics_service, start.call_sid)
        return True

    async def _open(self, start: Start) -> None:
        assert self._facts is not None
        self.phase = Phase.CONNECTING_MODEL
        self._log.info("call started", extra={"restaurant_id": self._facts.restaurant_id,
                                              "stream_sid": start.stream_sid})
        # The returning-guest lookup runs beside the restaurant fetch, bounded on its own: it can only add
        # a warmer greeting, so a slow or failed answer is dropped rather than waited for.
        guest = asyncio.ensure_future(self._returning_guest(self._facts.restaurant_id, self._facts.caller))
        try:
            self._restaurant = await self._deps.booking.get_restaurant(self._facts.restaurant_id)
            instructions = build_instructions(self._restaurant, self._facts.caller, guest=await guest)
        except (BookingUnavailable, BookingProblem) as exc:
            self._log.warning("restaurant details unavailable", extra={"error": str(exc)[:200]})
            instructions = fallback_instructions(self._facts.caller)
        finally:
            guest.cancel()
        self._tools = ToolExecutor(self._deps.booking, self._facts, self._restaurant, self.call_sid)
        await self._save_record(CallState.ACTIVE, None, None)
        self._config = SessionConfig(instructions=instructions, voice=self._s.realtime_voice,
                                     tools=TOOL_SPECS, idle_timeout_ms=self._s.realtime_idle_timeout_ms)
        try:
            self._model = await self._deps.provider.connect(self._config, open_timeout=self._s.model_reconnect_seconds)
        except ModelClosed as exc:
            self._log.error("model session could not be opened", extra={"error": str(exc)[:200]})
            self._spawn(self._twilio_loop(), "twilio")
            self.finish(Ending(EndKind.TRANSFER, "model_unavailable", failed=True))
            return
        self.phase = Phase.ACTIVE
        await self._request_response()  # greet first

    async def _returning_guest(self, restaurant_id: str, caller: str) -> dict[str, Any] | None:
        """The caller's guest record, or None: unknown number, withheld number, error, or too slow."""
        if not _E164.match(caller or ""):
            return None
        try:
            return await asyncio.wait_for(self._deps.booking.get_guest(restaurant_id, caller),
                                          timeout=self._s.guest_lookup_timeout_seconds)
        except Exception as exc:  # whatever went wrong, the call goes on with the normal greeting
            self._log.info("returning-guest lookup skipped", extra={"error": type(exc).__name__})
            return None

    # -- Twilio → model ---------------------------------------------------------------------------

    async def _twilio_loop(self) -> None:
        from websockets.exceptions import ConnectionClosed

        ws = self._ws
        playback = self._playback
        while True:
            try:
                raw = await ws.recv(decode=False)
            except ConnectionClosed:
                self.finish(Ending(EndKind.TWILIO_LOST, "twilio_disconnected"))
                return
            try:
                msg = parse_inbound(raw)
            except TwilioWireError as exc:
                self._garbage += 1
                if self._garbage <= 5 or self._garbage % 1000 == 0:
                    self._log.warning("garbage from Twilio ignored",
                                      extra={"error": str(exc), "count": self._garbage})
                continue
            cls = type(msg)
            if cls is Media:
                model = self._model
                if model is not None and self.phase is Phase.ACTIVE:
                    with contextlib.suppress(ModelClosed):  # the model loop notices and reconnects
                        await model.send_audio(msg.payload)  # type: ignore[attr-defined]
            elif cls is Mark:
                playback.on_mark_echo(msg.name)  # type: ignore[attr-defined]
            elif cls is Dtmf:
                if msg.digit == "0":  # type: ignore[attr-defined]
                    self._log.info("caller pressed 0")
                    self.finish(Ending(EndKind.TRANSFER, "dtmf_0"))
            elif cls is Stop:
                self._stopped = True
                self._stop_event.set()
                self.finish(Ending(EndKind.CALLER_HUNG_UP, "caller_hung_up"))
                return
            elif cls is UnknownEvent:
                self._note_unknown(f"twilio:{msg.name}")  # type: ignore[attr-defined]
            elif cls is Start:
                self._log.warning("second start message ignored")
            # Connected: nothing to do

    # -- model → Twilio ---------------------------------------------------------------------------

    async def _send_twilio(self, *frames: bytes) -> None:
        try:
            await send_texts(self._ws, *frames)
        except ConnectionGone as exc:
            raise _TwilioGone from exc

    async def _model_loop(self) -> None:
        playback = self._playback
        frames = self._frames
        assert frames is not None
        while True:
            model = self._model
            assert model is not None
            try:
                event = await model.recv()
            except ModelClosed as exc:
                if self.phase not in (Phase.ACTIVE, Phase.CONNECTING_MODEL):
                    self._set_response(None, None)  # nothing more will come from this model
                    return
                self._log.warning("model connection lost", extra={"error": str(exc)[:200]})
                if await self._reconnect():
                    continue
                self.finish(Ending(EndKind.TRANSFER, "model_lost", failed=True))
                return
            cls = type(event)
            try:
                if cls is AudioDelta:
                    rid = event.response_id  # type: ignore[attr-defined]
                    if rid in self._cancelled:
                        continue  # audio of an interrupted response still in flight: drop it
                    payload = event.payload  # type: ignore[attr-defined]
                    mark = playback.on_audio_sent(event.item_id, b64_decoded_len(payload))  # type: ignore[attr-defined]
                    await self._send_twilio(frames.media(payload), frames.mark(mark))
                    if rid not in self._responses_with_audio:
                        self._responses_with_audio.add(rid)
                        if self._speech_stopped_at is not None and self._metrics is not None:
                            self._metrics.ms("TurnLatency", (time.perf_counter() - self._speech_stopped_at) * 1000)
                            self._speech_stopped_at = None
                elif cls is SpeechStarted:
                    await self._on_speech_started()
                elif cls is SpeechStopped:
                    self._speech_stopped_at = time.perf_counter()
                elif cls is ResponseCreated:
                    self._set_response(event.response_id, None)  # type: ignore[attr-defined]
                elif cls is ResponseDone:
                    await self._on_response_done(event)  # type: ignore[arg-type]
                elif cls is FunctionCallDone:
                    self._on_function_call(event)  # type: ignore[arg-type]
                elif cls is IdleTimeout:
                    self._idle_prompts += 1
                    if self._idle_prompts > self._s.idle_prompts_before_hangup:
                        self._log.info("caller silent after idle prompts")
                        self.finish(Ending(EndKind.IDLE, "idle"))
                elif cls is ModelError:
                    self._log.warning("model error", extra={"code": event.code,  # type: ignore[attr-defined]
                                                            "error": event.message})  # type: ignore[attr-defined]
                    if event.code == "conversation_already_has_active_response":  # type: ignore[attr-defined]
                        self._set_response(self._active_response, None)
                elif cls is UnknownModelEvent:
                    self._note_unknown(f"model:{event.type}", event.detail)  # type: ignore[attr-defined]
                # SessionReady: nothing to do (we already asked for the greeting)
            except _TwilioGone:
                self.finish(Ending(EndKind.TWILIO_LOST, "twilio_disconnected"))
                return
            except ModelClosed:
                continue  # recv() will raise it again and reconnect

    async def _on_speech_started(self) -> None:
        t0 = time.perf_counter()
        self._idle_prompts = 0
        self._speech_stopped_at = None
        if self._active_response is not None:
            # server VAD (interrupt_response) cancels the response in progress
            self._cancelled.add(self._active_response)
        barge = self._playback.barge_in()
        if barge is None:
            return
        assert self._frames is not None
        await self._send_twilio(self._frames.clear())
        if self._metrics is not None:
            self._metrics.ms("BargeInLatency", (time.perf_counter() - t0) * 1000)
            self._metrics.count("BargeIn")
        if self._model is not None:
            await self._model.truncate(barge.item_id, barge.audio_end_ms)

    async def _on_response_done(self, event: ResponseDone) -> None:
        rid = event.response_id
        if rid == self._active_response:
            self._set_response(None, self._requested_at)
        if event.status == "cancelled":
            self._cancelled.add(rid)
        tasks = self._pending_tools.pop(rid, None)
        if tasks:
            self._spawn(self._deliver_tool_results(rid, tasks, event.status == "completed"), f"deliver:{rid}")
        elif self._want_response:
            self._want_response = False
            await self._request_response()

    def _on_function_call(self, event: FunctionCallDone) -> None:
        if event.response_id in self._cancelled:
            self._log.info("function call of a cancelled response not executed", extra={"tool": event.name})
            return
        if self._ending is not None:
            return
        task = self._spawn(self._run_tool(event), f"tool:{event.name}")
        self._pending_tools.setdefault(event.response_id, []).append(task)

    async def _run_tool(self, event: FunctionCallDone) -> tuple[str, ToolResult]:
        assert self._tools is not None
        t0 = time.perf_counter()
        result = await self._tools.run(event.name, event.arguments)
        if self._metrics is not None:
            self._metrics.ms(f"ToolLatency.{event.name}", (time.perf_counter() - t0) * 1000)
        self._log.info("tool executed", extra={"tool": event.name, "ok": result.output.get("ok"),
                                               "ms": round((time.perf_counter() - t0) * 1000, 1)})
        if result.changed:
            await self._save_record(CallState.ACTIVE, None, None)
        return event.call_id, result

    async def _deliver_tool_results(self, rid: str, tasks: list[asyncio.Task[tuple[str, ToolResult]]],
                                    completed: bool) -> None:
        results = await asyncio.gather(*tasks)
        model = self._model
        if model is None or self.phase not in (Phase.ACTIVE, Phase.ENDING):
            return
        control = ToolControl.NONE
        reason = None
        try:
            for call_id, result in results:
                await model.send_function_output(call_id, result.output_json())
                if result.control is not ToolControl.NONE and control is not ToolControl.TRANSFER:
                    control, reason = result.control, result.reason
            if control is ToolControl.TRANSFER:
                self.finish(Ending(EndKind.TRANSFER, reason or "transfer_requested", wait_for_playback=True))
                return
            if control is ToolControl.END_CALL:
                if rid not in self._responses_with_audio and completed:
                    await self._request_response()  # let the model say goodbye first
                self.finish(Ending(EndKind.HANG_UP, "end_call", wait_for_playback=True))
                return
            if completed:
                await self._request_response()
        except ModelClosed:
            return  # reconnect will resume from the saved facts

    async def _request_response(self, instructions: str | None = None) -> None:
        """Ask for a response unless one is active or already requested (then ask after it ends)."""
        requested = self._requested_at is not None and time.monotonic() - self._requested_at < _REQUEST_STALE_S
        if self._active_response is not None or requested:
            self._want_response = True
            return
        model = self._model
        if model is None:
            return
        self._set_response(self._active_response, time.monotonic())
        await model.create_response(instructions)

    def _set_response(self, active: str | None, requested_at: float | None) -> None:
        self._active_response = active
        self._requested_at = requested_at
        if active is None and requested_at is None:
            self._responses_idle.set()
        else:
            self._responses_idle.clear()

    # -- model reconnect --------------------------------------------------------------------------

    async def _reconnect(self) -> bool:
        assert self._config is not None and self._facts is not None
        self.phase = Phase.RECONNECTING
        old, self._model = self._model, None
        if old is not None:
            await old.close()
        # tool calls in flight finish (their effects land in the facts) but their results belong to the
        # old model session: the resumed one learns them from the summary instead
        self._pending_tools.clear()
        self._set_response(None, None)
        self._want_response = False
        if self._metrics is not None:
            self._metrics.count("ModelReconnect")
        t0 = time.monotonic()
        try:
            model = await asyncio.wait_for(
                self._deps.provider.connect(self._config, open_timeout=self._s.model_reconnect_seconds),
                timeout=self._s.model_reconnect_seconds)
        except (ModelClosed, TimeoutError) as exc:
            self._log.error("model reconnect failed", extra={"error": str(exc)[:200]})
            return False
        if self._ending is not None:  # the call ended meanwhile
            await model.close()
            return False
        self._model = model
        self.phase = Phase.ACTIVE
        saved = await self._deps.store.load(self.call_sid)
        if saved is not None and saved.context:
            self._facts.restore(saved.context)
        try:
            await model.add_system_note(
                "The line to you was interrupted for a moment and this is the same phone call, resumed. "
                f"What is known so far: {self._facts.summary()} "
                "Apologise in a few words for the interruption and continue where the conversation left off.")
            await self._request_response()
        except ModelClosed:
            return False
        self._log.info("model reconnected", extra={"ms": round((time.monotonic() - t0) * 1000)})
        return True

    # -- timers -----------------------------------------------------------------------------------

    async def _call_timer(self) -> None:
        await asyncio.sleep(self._s.max_call_seconds)
        self._log.info("maximum call duration reached")
        self.finish(Ending(EndKind.TRANSFER, "max_duration"))

    # -- endings ----------------------------------------------------------------------------------

    def finish(self, ending: Ending) -> None:
        """Decide how the call ends (first decision wins; the caller hanging up always tears down)."""
        if self.done:
            return
        if self._ending is not None:
            if ending.kind in (EndKind.CALLER_HUNG_UP, EndKind.TWILIO_LOST):
                # the line is gone: stop waiting for playback or Twilio, finish now
                if self._ending_task is not None:
                    self._ending_task.cancel()
                self._done.set()
            return
        self._ending = ending
        self.phase = Phase.ENDING if ending.kind in (EndKind.HANG_UP, EndKind.IDLE) else (
            Phase.TRANSFERRING if ending.kind is EndKind.TRANSFER else Phase.CLOSED)
        self._ending_task = self._spawn(self._end(ending), "ending")

    def _outcome(self, ending: Ending) -> tuple[CallState, CallOutcome]:
        assert self._facts is not None
        if ending.kind is EndKind.TRANSFER:
            return CallState.TRANSFER, CallOutcome.FAILED if ending.failed else CallOutcome.TRANSFERRED
        if ending.kind is EndKind.TWILIO_LOST:
            # the call may still be up: let <Connect action> send the caller to the restaurant
            return CallState.TRANSFER, CallOutcome.FAILED
        return CallState.COMPLETED, self._facts.outcome()

    async def _end(self, ending: Ending) -> None:
        try:
            state, outcome = self._outcome(ending)
            # What the alarms watch (infra_cdk observability): transfers, and the model side failing.
            if self._metrics is not None and ending.kind is EndKind.TRANSFER:
                self._metrics.count("Transfer")
            if self._metrics is not None and ending.reason in UPSTREAM_FAILURES:
                self._metrics.count("UpstreamFailure")
            self._log.info("call ending", extra={"end": ending.kind.value, "reason": ending.reason,
                                                 "outcome": outcome.value})
            if ending.kind in (EndKind.CALLER_HUNG_UP, EndKind.TWILIO_LOST):
                await self._close_model()  # within 1 s of `stop`
                await self._settle_tools()
                state, outcome = self._outcome(ending)
                await self._save_record(state, outcome, ending.reason, final=True)
                return
            await self._save_record(state, outcome, ending.reason, final=True)
            if ending.kind is EndKind.HANG_UP:
                await self._wait_for_playback(after_responses=True)
                await self._close_model()
                await self._twilio_rest(self._deps.twilio.hang_up(self.call_sid))
            elif ending.kind is EndKind.IDLE:
                await self._close_model()
                await self._twilio_rest(self._deps.twilio.redirect(self.call_sid,
                                                                   say_hangup_twiml(phrases.IDLE_GOODBYE)))
            elif ending.kind is EndKind.TRANSFER:
                if ending.wait_for_playback:
                    await self._wait_for_playback(after_responses=False, limit=4.0)
                await self._close_model()
                # The restaurant's own line; never "phone", which is the number this AI answers.
                number = str(self._restaurant.get("failover_phone") or "")
                say = phrases.HOST_TRANSFER if ending.reason not in {"model_lost", "model_unavailable", "error",
                                                                      "max_duration"} else phrases.APOLOGY_TRANSFER
                if number:
                    await self._twilio_rest(self._deps.twilio.redirect(self.call_sid, dial_twiml(say, number)))
                else:
                    await self._close_twilio(CLOSE_NORMAL, "transfer")  # <Connect action> dials the failover
        except asyncio.CancelledError:
            raise
        except Exception:
            self._log.exception("error while ending the call")
        finally:
            self._done.set()

    async def _twilio_rest(self, call: Coroutine[Any, Any, None]) -> None:
        """Run one Twilio REST update; on failure close the stream so <Connect action> takes over."""
        try:
            await call
        except TwilioRestError as exc:
            self._log.error("Twilio REST update failed; closing the stream", extra={"error": str(exc)})
            await self._close_twilio(CLOSE_NORMAL, "ended")
            return
        # Twilio ends the stream (sends `stop`) once the call has new instructions; don't wait long
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wait_stopped(), timeout=2.0)

    async def _wait_stopped(self) -> None:
        await self._stop_event.wait()

    async def _wait_for_playback(self, after_responses: bool, limit: float | None = None) -> None:
        deadline = time.monotonic() + (limit or self._s.playback_drain_seconds)

        async def drained() -> None:
            if after_responses:  # the goodbye may still be generating
                await self._responses_idle.wait()
            await self._playback.wait_played()

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drained(), timeout=max(0.0, deadline - time.monotonic()))

    async def _settle_tools(self) -> None:
        """A caller who hangs up mid-booking: give in-flight tool calls a moment so the record is right."""
        tasks = [t for ts in self._pending_tools.values() for t in ts if not t.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)

    # -- plumbing ---------------------------------------------------------------------------------

    async def _save_record(self, state: CallState, outcome: CallOutcome | None, reason: str | None,
                           final: bool = False) -> None:
        if self._facts is None or (self._record_final and not final):
            return
        if final:
            self._record_final = True
        facts = self._facts
        hold = facts.hold or {}
        record = CallRecord(state=state, outcome=outcome, reason=reason, restaurant_id=facts.restaurant_id,
                            reservation_ids=facts.reservation_ids, hold_id=hold.get("hold_id"),
                            call_sid=self.call_sid, caller=facts.caller, context=facts.to_context())
        try:
            await self._deps.store.save(self.call_sid, record)
        except Exception:  # a store is best effort; the call goes on (after-stream defaults to failover)
            self._log.exception("call record not saved")
        self.outcome = outcome

    async def _close_model(self) -> None:
        model, self._model = self._model, None
        if model is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(model.close(), timeout=1.0)

    async def _close_twilio(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._ws.close(code, reason), timeout=1.0)

    def _spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(f"{self.call_sid or 'call'}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._log.error("call task failed", exc_info=exc, extra={"task": task.get_name()})
            if self.call_sid and not self.done and self._ending is None:
                self.finish(Ending(EndKind.TRANSFER, "error", failed=True))
            elif self._ending is not None and task is self._ending_task:
                self._done.set()

    def _note_unknown(self, kind: str, detail: str = "") -> None:
        if kind not in self._unknown_logged and len(self._unknown_logged) < 50:
            self._unknown_logged.add(kind)
            self._log.info("unknown message ignored", extra={"kind": kind, "detail": detail})

    async def _teardown(self) -> None:
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._close_model()
        await self._close_twilio(CLOSE_NORMAL, "bye")
        self.phase = Phase.CLOSED
        if self._metrics is not None:
            self._metrics.seconds("CallDuration", time.monotonic() - self._started_at)
            if self._garbage:
                self._metrics.count("GarbageFrames", self._garbage)
            self._metrics.flush(self.outcome.value if self.outcome is not None else None)
        if self._ending is not None:
            self._log.info("call closed", extra={"end": self._ending.kind.value, "reason": self._ending.reason})
