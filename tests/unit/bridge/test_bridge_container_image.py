"""The bridge image definition (checked without a Docker daemon; CI builds it where Docker exists)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CONTEXT = ROOT / "bridge_container"


def _requirements() -> list[str]:
    lines = (CONTEXT / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_requirements_are_exactly_the_pyproject_bridge_extra() -> None:
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["bridge"]
    assert sorted(_requirements()) == sorted(extra)


def test_the_dockerfile_is_python_3_13_slim_non_root_with_a_healthcheck() -> None:
    text = (CONTEXT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.13-slim\b", text, re.M)
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*frontdesk_bridge\.healthcheck", text, re.M)
    assert 'CMD ["python", "-m", "frontdesk_bridge"]' in text
    copies = re.findall(r"^COPY (\S+)", text, re.M)
    assert copies == ["requirements.txt", "frontdesk_contract", "frontdesk_bridge"]  # nothing from functions/


def test_the_image_layout_runs_with_only_the_two_packages(tmp_path: Path) -> None:
    for package in ("frontdesk_bridge", "frontdesk_contract"):
        shutil.copytree(CONTEXT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    code = ("import sys, frontdesk_bridge.server, frontdesk_bridge.session; "
            "assert frontdesk_bridge.__file__.startswith(sys.argv[1]), frontdesk_bridge.__file__; "
            "assert 'frontdesk' not in sys.modules")
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=tmp_path, env=env, check=True)
    # nothing listens on this port: the health check must fail, not hang or crash
    probe = subprocess.run([sys.executable, "-m", "frontdesk_bridge.healthcheck"], cwd=tmp_path,
                           env={**env, "BRIDGE_PORT": "1"}, timeout=20)
    assert probe.returncode == 1
