"""The bridge's boundaries: no import of the Lambda side, settings from the environment only."""

from __future__ import annotations

import subprocess
import sys


def test_the_bridge_never_imports_the_lambda_package() -> None:
    code = ("import sys, frontdesk_bridge.server, frontdesk_bridge.session, frontdesk_bridge.tools; "
            "print(sorted(m for m in sys.modules if m == 'frontdesk' or m.startswith('frontdesk.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_importing_the_server_connects_to_nothing_and_loads_no_heavy_sdk() -> None:
    code = ("import sys, frontdesk_bridge.server; "
            "print(sorted(m for m in ('botocore','redis','aws_lambda_powertools','openai') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_settings_use_the_contract_names(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from frontdesk_bridge.settings import BridgeSettings

    monkeypatch.setenv("REALTIME_MODEL", "gpt-realtime-2")
    monkeypatch.setenv("BRIDGE_PORT", "9999")
    monkeypatch.setenv("MAX_CALL_SECONDS", "60")
    monkeypatch.setenv("OPENAI_REALTIME_URL", "ws://127.0.0.1:1/v1/realtime")
    s = BridgeSettings()
    assert (s.realtime_model, s.bridge_port, s.max_call_seconds) == ("gpt-realtime-2", 9999, 60)
    assert s.openai_realtime_url == "ws://127.0.0.1:1/v1/realtime"
    monkeypatch.delenv("REALTIME_MODEL")
    assert BridgeSettings().realtime_model == "gpt-realtime" and BridgeSettings().drain_seconds == 110
