"""Container HEALTHCHECK: exit 0 when ``GET /healthz`` on the local bridge answers 200 (503 while draining)."""

from __future__ import annotations

import sys
import urllib.request


def main() -> int:
    from frontdesk_bridge.settings import BridgeSettings

    port = BridgeSettings().bridge_port
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return 0 if resp.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
