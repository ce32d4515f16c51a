"""``frontdesk serve | bridge | dev``: the processes that run the product."""

from __future__ import annotations

from typing import Annotated

import typer

Port = Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")]


def serve(host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1", port: Port = 8000) -> None:
    """Serve the booking and Twilio API with uvicorn."""
    from frontdesk.api.app import serve as run

    run(host=host, port=port)


def bridge() -> None:
    """Serve the realtime voice bridge (BRIDGE_PORT, default 8080)."""
    from frontdesk_bridge.server import main as bridge_main

    bridge_main()


def dev(
    port: Port = 8000,
    no_bridge: Annotated[bool, typer.Option("--no-bridge", help="Do not start the voice bridge.")] = False,
) -> None:
    """Local stack: PostgreSQL, Redis, migrations, Demo Bistro, the API and the bridge."""
    from frontdesk.devenv import run_dev

    code = run_dev(api_port=port, with_bridge=not no_bridge)
    if code:
        raise typer.Exit(code)
