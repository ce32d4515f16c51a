"""Drive the ``frontdesk`` command in-process, as a user would type it, against a test database."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from typing import Any

from tests.support.databases import TestDatabase


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(*args: str, database: TestDatabase | None = None, admin: bool = True, actor: str = "tester") -> CliResult:
    """``frontdesk [--database-url URL] [--as ACTOR] ARGS...``: exit code, stdout and stderr. ``admin`` picks
    the owner's login (what an operator uses) or the API's least-privileged app_user."""
    from frontdesk.cli import main

    prefix: list[str] = []
    if database is not None:
        prefix += ["--database-url", database.admin_url if admin else database.app_url]
    prefix += ["--as", actor]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*prefix, *args])
    return CliResult(code, out.getvalue(), err.getvalue())
