"""Cold start of each Lambda handler vs. a naive eager-import handler, measured in the same run.

For every handler module, ``RUNS`` fresh Python processes each time ``import <module>`` (which builds the
app and ``Mangum`` handler) with ``time.perf_counter`` inside the process, so interpreter start-up, equal for
all, is left out (it is printed separately). The naive baseline, in the same processes' conditions and
interleaved with them, imports FastAPI, mangum, psycopg (+pool), redis, boto3, Powertools
Logger/Metrics/Tracer/parameters and our adapters eagerly, reads the settings, builds the Powertools objects
and an app with every route — what a handler looks like when nothing is deferred. (``Tracer`` is imported
but not instantiated: the X-Ray SDK is not installed here, so the baseline is, if anything, flattered.)

Prints medians, ratios to the baseline, and which heavy modules each handler left unimported.
Usage: ``python bench/coldstart.py [--runs 15]``. No assertions; exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = ("frontdesk.handlers.health", "frontdesk.handlers.availability", "frontdesk.handlers.reservations",
            "frontdesk.handlers.restaurant_admin", "frontdesk.handlers.notifier")
HEAVY = ("psycopg", "psycopg_pool", "redis", "boto3", "botocore", "aws_xray_sdk", "pydantic_settings",
         "aws_lambda_powertools.logging", "aws_lambda_powertools.metrics")

HANDLER_PROBE = """
import sys, time, json
t = time.perf_counter()
import importlib
module = importlib.import_module(sys.argv[1])
assert callable(module.handler)
elapsed = (time.perf_counter() - t) * 1000
print(json.dumps({"ms": elapsed, "loaded": [m for m in json.loads(sys.argv[2]) if m in sys.modules]}))
"""

BASELINE_PROBE = """
import sys, time, json
t = time.perf_counter()
import fastapi, mangum, psycopg, psycopg_pool, redis, boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities import parameters
from frontdesk.config import get_settings
import frontdesk.wiring, frontdesk.adapters.postgres, frontdesk.adapters.redis_holds
from frontdesk.api.app import create_app
settings = get_settings()
logger = Logger(service="baseline")
metrics = Metrics(namespace="FrontDesk", service="baseline")
handler = mangum.Mangum(create_app(), lifespan="off")
elapsed = (time.perf_counter() - t) * 1000
print(json.dumps({"ms": elapsed, "loaded": [m for m in json.loads(sys.argv[2]) if m in sys.modules]}))
"""

EMPTY_PROBE = "pass"


def _run(code: str, *args: str) -> tuple[float, dict[str, object]]:
    env = {**os.environ, "POWERTOOLS_METRICS_NAMESPACE": "FrontDesk",
           "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True,
                         env=env, cwd=ROOT).stdout
    wall = (time.perf_counter() - started) * 1000
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return wall, json.loads(lines[-1]) if lines else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    heavy = json.dumps(HEAVY)

    # Warm-up: bytecode caches written once, so every measured run reads .pyc files, as Lambda does.
    for module in HANDLERS:
        _run(HANDLER_PROBE, module, heavy)
    _run(BASELINE_PROBE, "baseline", heavy)

    inproc: dict[str, list[float]] = {name: [] for name in (*HANDLERS, "baseline")}
    walls: dict[str, list[float]] = {name: [] for name in (*HANDLERS, "baseline", "interpreter")}
    loaded: dict[str, list[str]] = {}
    for _ in range(runs):  # interleaved, so drift on a shared machine hits every candidate alike
        for module in HANDLERS:
            wall, doc = _run(HANDLER_PROBE, module, heavy)
            inproc[module].append(float(doc["ms"]))  # type: ignore[arg-type]
            walls[module].append(wall)
            loaded[module] = list(doc["loaded"])  # type: ignore[call-overload]
        wall, doc = _run(BASELINE_PROBE, "baseline", heavy)
        inproc["baseline"].append(float(doc["ms"]))  # type: ignore[arg-type]
        walls["baseline"].append(wall)
        loaded["baseline"] = list(doc["loaded"])  # type: ignore[call-overload]
        walls["interpreter"].append(_run(EMPTY_PROBE)[0])

    base = statistics.median(inproc["baseline"])
    print(f"cold start: import + handler construction, median of {runs} fresh processes "
          f"(python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    print(f"{'handler':36} {'median ms':>10} {'p90 ms':>8} {'x baseline':>11} {'process wall ms':>16}"
          "  heavy modules loaded")
    for name in (*HANDLERS, "baseline"):
        values = sorted(inproc[name])
        median = statistics.median(values)
        p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
        print(f"{name:36} {median:10.1f} {p90:8.1f} {median / base:11.2f} {statistics.median(walls[name]):16.1f}"
              f"  {', '.join(loaded[name]) or 'none'}")
    print(f"{'(empty interpreter)':36} {'':10} {'':8} {'':11} {statistics.median(walls['interpreter']):16.1f}")


if __name__ == "__main__":
    main()
