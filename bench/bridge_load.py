"""Load benchmark of one bridge process: N concurrent simulated calls streaming 50 frames/s both ways.

    python bench/bridge_load.py                      # 25, 50, 100, 200 calls × 30 s (the full run)
    python bench/bridge_load.py --calls 25,50 --duration 5   # a short run while developing

Three processes per step, all on this machine (loopback only), each on its own event loop (uvloop):

* the bridge — ``python -m frontdesk_bridge``, the production entry point, unmodified;
* a fake Realtime model — answers ``session.update``, then streams one 160-byte µ-law delta every 20 ms
  per call, interrupts each call every few seconds (``input_audio_buffer.speech_started`` then a new
  response, as server VAD does), and timestamps what it receives;
* a Twilio simulator — N callers sending 160-byte ``media`` frames every 20 ms on an absolute schedule,
  echoing each ``mark`` once its 20 ms of audio has played and every pending mark at once on ``clear``.

Every audio frame carries its send time (``CLOCK_MONOTONIC`` ns, shared by all processes) in its first
8 bytes; the bridge forwards payloads unchanged, so the receiver computes relay latency per frame:
Twilio → model (``media`` → ``input_audio_buffer.append``) and model → Twilio (delta → ``media``).
Barge-in latency is reported twice: inside the bridge (``speech_started`` received → ``clear`` sent,
from the bridge's own EMF ``BargeInLatency`` metric) and end to end (model sends ``speech_started`` →
caller receives ``clear``, two socket hops included). CPU per call is the bridge process's user+system
CPU over the measurement window divided by N. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import multiprocessing as mp
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret"  # noqa: S105 - signs throwaway stream tokens on loopback
FRAME = 160
FILL = b"\xff" * (FRAME - 8)
BARGE_EVERY_S = 4.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stamp() -> str:
    return base64.b64encode(struct.pack(">Q", time.monotonic_ns()) + FILL).decode()


def _sent_at(payload: str) -> int:
    return int(struct.unpack(">Q", base64.b64decode(payload[:12])[:8])[0])


def _use_uvloop() -> None:
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


# -- shared: cheap load generators ------------------------------------------------------------------
# The generators must stay well below the bridge's cost or they, not the bridge, set the latency: one
# ticker per process (every 2 ms, a tenth of the calls) instead of a timer per call, frames written
# synchronously through the websocket's Sans-I/O protocol (no task, no await per frame), bytes not str.

SLOTS = 20  # calls are spread over 20 phases (1 ms apart: the event loop timer resolution) of the 20 ms frame period


def _write(ws: Any, *frames: bytes) -> None:
    from websockets.protocol import State

    protocol = ws.protocol
    if protocol.state is not State.OPEN:
        return
    for frame in frames:
        protocol.send_text(frame)
    ws.transport.write(b"".join(protocol.data_to_send()))


async def _ticker(slots: list[list[Any]], tick: Any) -> None:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    n = 0
    while True:
        n += 1
        delay = t0 + n * (0.020 / SLOTS) - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        for item in list(slots[n % SLOTS]):
            tick(item)


# -- fake model process ----------------------------------------------------------------------------

def model_process(port: int, window: tuple[int, int], out: Any) -> None:
    _use_uvloop()
    asyncio.run(_model_main(port, window, out))


class _Stream:
    __slots__ = ("caller_idx", "n", "next_barge", "rid", "rid_n", "ws")

    def __init__(self, ws: Any, caller_idx: int) -> None:
        self.ws = ws
        self.caller_idx = caller_idx
        self.n = 0
        self.rid_n = 0
        self.rid = b"r0"
        self.next_barge = 50 + (caller_idx % 40) * int(BARGE_EVERY_S * 50 / 40)  # in frames


async def _model_main(port: int, window: tuple[int, int], out: Any) -> None:
    import orjson
    from websockets.asyncio.server import serve

    inbound = array("I")  # Twilio → model latency, µs
    barge_sent: dict[int, list[int]] = {}
    start_ns, end_ns = window
    counter = [0]
    slots: list[list[_Stream]] = [[] for _ in range(SLOTS)]

    def tick(st: _Stream) -> None:
        st.n += 1
        frames = []
        if st.n >= st.next_barge:
            st.next_barge += int(BARGE_EVERY_S * 50)
            t = time.monotonic_ns()
            if start_ns <= t <= end_ns:
                barge_sent.setdefault(st.caller_idx, []).append(t)
            old = st.rid
            st.rid_n += 1
            st.rid = b"r%d" % st.rid_n
            frames += [b'{"type":"input_audio_buffer.speech_started","event_id":"e","audio_start_ms":0,'
                       b'"item_id":"u%d"}' % st.n,
                       b'{"type":"response.done","event_id":"e","response":{"id":"' + old
                       + b'","status":"cancelled"}}',
                       b'{"type":"response.created","event_id":"e","response":{"id":"' + st.rid
                       + b'","status":"in_progress"}}']
        frames.append(b'{"type":"response.output_audio.delta","event_id":"e","response_id":"' + st.rid
                      + b'","item_id":"i' + st.rid + b'","output_index":0,"content_index":0,"delta":"'
                      + _stamp().encode() + b'"}')
        _write(st.ws, *frames)

    async def handle(ws: Any) -> None:
        stream: _Stream | None = None
        caller_idx = -1
        try:
            while True:
                raw = await ws.recv(decode=False)
                if raw.startswith(b'{"type":"input_audio_buffer.append"'):
                    i = raw.index(b'"audio":"') + 9
                    sent = _sent_at(raw[i:i + 16].decode())
                    if start_ns <= sent <= end_ns:
                        inbound.append(min((time.monotonic_ns() - sent) // 1000, 4_000_000_000))
                    continue
                event = orjson.loads(raw)
                etype = event.get("type")
                if etype == "session.update":
                    m = re.search(r"\+1555(\d{7})", event["session"].get("instructions", ""))
                    caller_idx = int(m.group(1)) if m else counter[0]
                    counter[0] += 1
                    _write(ws, b'{"type":"session.updated","event_id":"e","session":{"type":"realtime"}}')
                elif etype == "response.create" and stream is None:
                    stream = _Stream(ws, caller_idx)
                    _write(ws, b'{"type":"response.created","event_id":"e","response":{"id":"r0",'
                               b'"status":"in_progress"}}')
                    slots[caller_idx % SLOTS].append(stream)
        except Exception:  # noqa: S110 - the bridge closed the call
            pass
        finally:
            if stream is not None:
                slots[stream.caller_idx % SLOTS].remove(stream)

    ticker = asyncio.ensure_future(_ticker(slots, tick))
    async with serve(handle, "127.0.0.1", port, compression=None, max_size=None, ping_interval=None):
        out.put(("model-ready", None))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, out_wait_stop, out)
    ticker.cancel()
    out.put(("model", bytes(inbound), barge_sent))


def out_wait_stop(out: Any) -> None:
    # the parent flips a file flag; keeps the Queue one-way
    flag = Path(os.environ["BENCH_STOP_FLAG"])
    while not flag.exists():
        time.sleep(0.1)


# -- booking API stub (restaurant details only) ------------------------------------------------------

def booking_process(port: int) -> None:
    import http.server
    import json

    body = json.dumps({"id": "11111111-1111-4111-8111-111111111111", "slug": "bench", "name": "Bench Bistro",
                       "timezone": "America/New_York", "phone": "+15550001111", "address": "1 Main St",
                       "policies": {}, "max_party_size": 8, "hours": [], "special_days": []}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


# -- Twilio simulator process -------------------------------------------------------------------------

def twilio_process(url: str, calls: int, duration: float, window: tuple[int, int], out: Any) -> None:
    _use_uvloop()
    asyncio.run(_twilio_main(url, calls, duration, window, out))


class _Caller:
    __slots__ = ("call_sid", "idx", "n", "pending", "sid_b", "ws")

    def __init__(self, idx: int, ws: Any, call_sid: str, stream_sid: str) -> None:
        self.idx = idx
        self.ws = ws
        self.call_sid = call_sid
        self.sid_b = stream_sid.encode()
        self.n = 0
        self.pending: dict[bytes, asyncio.TimerHandle] = {}


async def _twilio_main(url: str, calls: int, duration: float, window: tuple[int, int], out: Any) -> None:
    import orjson
    from websockets.asyncio.client import connect

    sys.path.insert(0, str(ROOT / "bridge_container"))
    from frontdesk_contract.stream_token import issue_stream_token

    outbound = array("I")
    clears: dict[int, list[int]] = {}
    failures = [0]
    start_ns, end_ns = window
    rid = "11111111-1111-4111-8111-111111111111"
    slots: list[list[_Caller]] = [[] for _ in range(SLOTS)]
    loop = asyncio.get_running_loop()

    def tick(c: _Caller) -> None:
        c.n += 1
        _write(c.ws, b'{"event":"media","sequenceNumber":"%d","streamSid":"' % (c.n + 1) + c.sid_b
               + b'","media":{"track":"inbound","chunk":"%d","timestamp":"%d","payload":"' % (c.n, c.n * 20)
               + _stamp().encode() + b'"}}')

    def echo(c: _Caller, name: bytes) -> None:
        c.pending.pop(name, None)
        _write(c.ws, b'{"event":"mark","streamSid":"' + c.sid_b + b'","mark":{"name":"' + name + b'"}}')

    async def reader(c: _Caller) -> None:
        ws = c.ws
        while True:
            raw = await ws.recv(decode=False)
            if raw.startswith(b'{"event":"media"'):
                i = raw.index(b'"payload":"') + 11
                sent = _sent_at(raw[i:i + 16].decode())
                if start_ns <= sent <= end_ns:
                    outbound.append(min((time.monotonic_ns() - sent) // 1000, 4_000_000_000))
            elif raw.startswith(b'{"event":"mark"'):
                name = raw[raw.index(b'"name":"') + 8:raw.rindex(b'"}}')]
                c.pending[name] = loop.call_later(0.020, echo, c, name)  # played after its 20 ms
            elif raw.startswith(b'{"event":"clear"'):
                t = time.monotonic_ns()
                if start_ns <= t <= end_ns + 50_000_000:
                    clears.setdefault(c.idx, []).append(t)
                for name, handle in list(c.pending.items()):  # Twilio echoes all pending marks at once
                    handle.cancel()
                    echo(c, name)

    async def one_call(idx: int) -> None:
        await asyncio.sleep(idx * 0.005)  # ramp
        call_sid = f"CA{uuid.uuid4().hex}"
        stream_sid = f"MZ{uuid.uuid4().hex}"
        caller = f"+1555{idx:07d}"
        try:
            ws = await connect(url, compression=None, ping_interval=None, open_timeout=30, max_size=None)
        except Exception:
            failures[0] += 1
            return
        c = _Caller(idx, ws, call_sid, stream_sid)
        token = issue_stream_token(SECRET, rid, call_sid, caller, time.time(), 120)
        await ws.send(orjson.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}).decode())
        await ws.send(orjson.dumps({"event": "start", "sequenceNumber": "1", "streamSid": stream_sid, "start": {
            "streamSid": stream_sid, "accountSid": "AC1", "callSid": call_sid, "tracks": ["inbound"],
            "customParameters": {"token": token, "restaurant_id": rid, "caller": caller},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}).decode())
        read_task = asyncio.ensure_future(reader(c))
        slots[idx % SLOTS].append(c)
        await asyncio.sleep(duration)
        slots[idx % SLOTS].remove(c)
        try:
            await ws.send(orjson.dumps({"event": "stop", "sequenceNumber": str(c.n + 2), "streamSid": stream_sid,
                                        "stop": {"accountSid": "AC1", "callSid": call_sid}}).decode())
        except Exception:
            failures[0] += 1
        if read_task.done() and not read_task.cancelled() and read_task.exception() is not None:
            failures[0] += 1  # the bridge dropped the call
        read_task.cancel()
        for handle in c.pending.values():
            handle.cancel()
        await ws.close()

    ticker = asyncio.ensure_future(_ticker(slots, tick))
    await asyncio.gather(*(one_call(i) for i in range(calls)))
    ticker.cancel()
    out.put(("twilio", bytes(outbound), clears, failures[0]))


# -- orchestration -----------------------------------------------------------------------------------

def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run_step(calls: int, duration: float, warmup: float, redis_url: str) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    model_port, bridge_port, booking_port = _free_port(), _free_port(), _free_port()
    stop_flag = Path(tempfile.mkdtemp()) / "stop"
    os.environ["BENCH_STOP_FLAG"] = str(stop_flag)
    ramp = calls * 0.005 + 1.0
    now = time.monotonic_ns()
    start_ns = now + int((ramp + warmup + 2.0) * 1e9)
    total = ramp + warmup + 2.0 + duration
    end_ns = now + int((ramp + warmup + 2.0 + duration - 0.5) * 1e9)
    window = (start_ns, end_ns)

    booking = ctx.Process(target=booking_process, args=(booking_port,), daemon=True)
    booking.start()
    model = ctx.Process(target=model_process, args=(model_port, window, out), daemon=True)
    model.start()
    assert out.get(timeout=30)[0] == "model-ready"
    prefix = f"fdbench-{uuid.uuid4().hex[:8]}:"
    env = {**os.environ, "BRIDGE_HOST": "127.0.0.1", "BRIDGE_PORT": str(bridge_port), "OPENAI_API_KEY": "sk-bench",
           "OPENAI_REALTIME_URL": f"ws://127.0.0.1:{model_port}/v1/realtime",
           "BOOKING_API_URL": f"http://127.0.0.1:{booking_port}", "REDIS_URL": redis_url,
           "REDIS_KEY_PREFIX": prefix, "STREAM_TOKEN_SECRET": SECRET, "TWILIO_ACCOUNT_SID": "AC1",
           "TWILIO_AUTH_TOKEN": "x", "TWILIO_API_BASE_URL": "http://127.0.0.1:9", "LOG_LEVEL": "WARNING",
           "MAX_CALL_SECONDS": "3600", "DRAIN_SECONDS": "5", "REALTIME_IDLE_TIMEOUT_MS": "30000"}
    log = tempfile.NamedTemporaryFile(prefix="bridge-bench-", suffix=".log", delete=False)  # noqa: SIM115
    profile = os.environ.get("BENCH_PROFILE")  # e.g. /tmp/bridge.prof: run the bridge under cProfile
    command = [sys.executable, "-m", "cProfile", "-o", profile, "-m", "frontdesk_bridge"] if profile else \
        [sys.executable, "-m", "frontdesk_bridge"]
    bridge = subprocess.Popen(command, env=env, stdout=log, stderr=log,
                              cwd=str(ROOT))
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", bridge_port), timeout=0.2):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("bridge did not start") from None
            time.sleep(0.05)

    sim = ctx.Process(target=twilio_process,
                      args=(f"ws://127.0.0.1:{bridge_port}/ws/twilio-stream", calls, total, window, out), daemon=True)
    sim.start()
    time.sleep(max(0.0, (start_ns - time.monotonic_ns()) / 1e9))
    cpu0, t0 = _cpu_seconds(bridge.pid), time.monotonic()
    gen0 = _cpu_seconds(sim.pid) + _cpu_seconds(model.pid)  # type: ignore[arg-type]
    time.sleep(max(0.0, (end_ns - time.monotonic_ns()) / 1e9))
    cpu1, t1 = _cpu_seconds(bridge.pid), time.monotonic()
    gen1 = _cpu_seconds(sim.pid) + _cpu_seconds(model.pid)  # type: ignore[arg-type]

    results: dict[str, Any] = {}
    got_twilio = False
    while not got_twilio:
        item = out.get(timeout=total + 120)
        if item[0] == "twilio":
            results["twilio"] = item
            got_twilio = True
    stop_flag.touch()
    item = out.get(timeout=60)
    results["model"] = item
    sim.join(10)
    model.join(10)
    bridge.terminate()
    try:
        bridge.wait(15)
    except subprocess.TimeoutExpired:
        bridge.kill()
    booking.terminate()
    log.close()

    inbound = [v / 1000 for v in array("I", results["model"][1])]
    outbound = [v / 1000 for v in array("I", results["twilio"][1])]
    barge_sent: dict[int, list[int]] = results["model"][2]
    clears: dict[int, list[int]] = results["twilio"][2]
    e2e: list[float] = []
    no_clear = 0  # speech_started while nothing was unplayed: correctly, no clear
    for idx, sent_times in barge_sent.items():
        got = clears.get(idx, [])
        for t in sent_times:
            after = [c for c in got if t <= c <= t + 1_000_000_000]
            if after:
                e2e.append((after[0] - t) / 1e6)
            else:
                no_clear += 1
    internal: list[float] = []
    for line in Path(log.name).read_text().splitlines():
        if '"BargeInLatency"' in line:
            import json

            with contextlib.suppress(ValueError, KeyError):
                internal.extend(json.loads(line)["BargeInLatency"])
    os.unlink(log.name)
    return {
        "calls": calls, "failures": results["twilio"][3],
        "in_n": len(inbound), "in_p50": _pct(inbound, 0.5), "in_p99": _pct(inbound, 0.99),
        "out_n": len(outbound), "out_p50": _pct(outbound, 0.5), "out_p99": _pct(outbound, 0.99),
        "barge_internal_p50": _pct(internal, 0.5), "barge_internal_p99": _pct(internal, 0.99),
        "barge_internal_n": len(internal),
        "barge_e2e_p50": _pct(e2e, 0.5), "barge_e2e_p99": _pct(e2e, 0.99), "barge_e2e_n": len(e2e),
        "barge_no_clear": no_clear,
        "cpu_per_call_pct": (cpu1 - cpu0) / (t1 - t0) / calls * 100, "cpu_total_pct": (cpu1 - cpu0) / (t1 - t0) * 100,
        "generators_cpu_pct": (gen1 - gen0) / (t1 - t0) * 100,
        "over_20ms_pct": 100 * (sum(v > 20 for v in inbound) + sum(v > 20 for v in outbound))
        / max(1, len(inbound) + len(outbound)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", default="25,50,100,200", help="comma-separated concurrent call counts")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds per step")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    steps = [int(n) for n in args.calls.split(",")]
    print(f"bridge load: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, {args.duration:.0f} s per step, "
          "20 ms frames both ways, a barge-in every 4 s per call")
    header = (f"{'calls':>5} | {'twilio→model p50/p99 ms':>24} | {'model→twilio p50/p99 ms':>24} | "
              f"{'barge-in bridge p50/p99 ms':>27} | {'barge-in e2e p50/p99 ms':>24} | {'CPU/call':>8} | "
              f"{'bridge CPU':>10} | {'generators CPU':>14} | {'>20 ms':>7} | fails")
    print(header)
    print("-" * len(header))
    rows = []
    for n in steps:
        load_before = os.getloadavg()[0]
        r = run_step(n, args.duration, args.warmup, args.redis_url)
        r["load"] = (load_before, os.getloadavg()[0])
        rows.append(r)
        print(f"{n:>5} | {r['in_p50']:>10.2f} / {r['in_p99']:>10.2f} | {r['out_p50']:>10.2f} / {r['out_p99']:>10.2f} | "
              f"{r['barge_internal_p50']:>11.3f} / {r['barge_internal_p99']:>11.3f} | "
              f"{r['barge_e2e_p50']:>10.2f} / {r['barge_e2e_p99']:>10.2f} | {r['cpu_per_call_pct']:>7.2f}% | "
              f"{r['cpu_total_pct']:>9.1f}% | {r['generators_cpu_pct']:>13.1f}% | {r['over_20ms_pct']:>6.2f}% | "
              f"{r['failures']}", flush=True)
    ok = [r["calls"] for r in rows if max(r["in_p99"], r["out_p99"]) < 20.0 and r["failures"] == 0]
    print(f"largest N with p99 relay latency under 20 ms (one frame) in both directions: {max(ok) if ok else 'none'}")
    for r in rows:
        print(f"  {r['calls']} calls: {r['in_n'] + r['out_n']} frames timed; barge-ins: {r['barge_internal_n']} in the "
              f"bridge, {r['barge_e2e_n']} end to end, {r['barge_no_clear']} with nothing unplayed (no clear needed); "
              f"machine load average {r['load'][0]:.1f} before, {r['load'][1]:.1f} after (2 cores, shared)")


if __name__ == "__main__":
    main()
