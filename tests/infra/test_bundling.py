"""Lambda bundling without Docker: what pip is asked for, what lands in the bundle, when the hash changes.

No test here reaches PyPI: the bundle tests use a project with no dependencies (pip is not run at all);
``infra_cdk/synth.sh`` exercises the real download.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from infra_cdk import bundling, lambda_bundle


def _project(root: Path, *, dependencies: str = "[]") -> Path:
    (root / "functions/frontdesk/handlers").mkdir(parents=True)
    (root / "functions/frontdesk/__init__.py").write_text("")
    (root / "functions/frontdesk/handlers/health.py").write_text("handler = None\n")
    (root / "functions/frontdesk/__pycache__").mkdir()
    (root / "functions/frontdesk/__pycache__/x.cpython-311.pyc").write_bytes(b"\0")
    (root / "bridge_container/frontdesk_contract").mkdir(parents=True)
    (root / "bridge_container/frontdesk_contract/__init__.py").write_text("")
    (root / "bridge_container/frontdesk_bridge").mkdir(parents=True)
    (root / "bridge_container/frontdesk_bridge/server.py").write_text("# not for Lambda\n")
    (root / "sql/migrations").mkdir(parents=True)
    (root / "sql/migrations/0001_schema.sql").write_text("select 1;\n")
    (root / "pyproject.toml").write_text(f'[project]\nname = "x"\nversion = "0"\ndependencies = {dependencies}\n')
    return root


def test_local_bundling_asks_pip_for_cp313_manylinux_aarch64_wheels_only(tmp_path: Path) -> None:
    cmd = lambda_bundle.pip_command(tmp_path / "r.txt", tmp_path / "out", cross_platform=True, cache_dir=tmp_path)
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"]
    assert "--only-binary=:all:" in cmd
    platforms = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--platform"]
    assert "manylinux2014_aarch64" in platforms and all(p.endswith("_aarch64") for p in platforms)
    assert cmd[cmd.index("--python-version") + 1] == "3.13"
    assert cmd[cmd.index("--implementation") + 1] == "cp"
    assert cmd[cmd.index("--target") + 1] == str(tmp_path / "out")
    assert cmd[cmd.index("--cache-dir") + 1] == str(tmp_path)


def test_the_bundle_installs_only_the_base_dependencies_of_pyproject() -> None:
    deps = lambda_bundle.base_dependencies(bundling.PROJECT_ROOT)
    assert any(d.startswith("psycopg") for d in deps)
    assert not any(d.startswith(("aws-cdk-lib", "websockets", "pytest", "uvloop")) for d in deps)


def test_the_bundle_holds_frontdesk_frontdesk_contract_and_sql_without_bytecode(tmp_path: Path) -> None:
    source = _project(tmp_path / "src")
    out = tmp_path / "out"
    lambda_bundle.bundle(source, out, cross_platform=True)
    assert (out / "frontdesk/handlers/health.py").is_file()
    assert (out / "frontdesk_contract/__init__.py").is_file()
    assert (out / "sql/migrations/0001_schema.sql").is_file()
    assert not (out / "frontdesk_bridge").exists()
    assert not list(out.rglob("__pycache__"))


def test_bundling_fails_loudly_when_a_package_is_missing(tmp_path: Path) -> None:
    source = _project(tmp_path / "src")
    (source / "bridge_container/frontdesk_contract/__init__.py").unlink()
    (source / "bridge_container/frontdesk_contract").rmdir()
    with pytest.raises(FileNotFoundError, match="frontdesk_contract"):
        lambda_bundle.bundle(source, tmp_path / "out", cross_platform=True)


def test_bundle_hash_changes_with_code_sql_and_dependencies_but_not_bytecode(tmp_path: Path) -> None:
    source = _project(tmp_path / "src")
    first = bundling.code_asset_hash(source)
    assert bundling.code_asset_hash(source) == first
    (source / "functions/frontdesk/__pycache__/y.cpython-311.pyc").write_bytes(b"\1")
    (source / "bridge_container/frontdesk_bridge/server.py").write_text("# changed, but not in the bundle\n")
    assert bundling.code_asset_hash(source) == first
    (source / "sql/migrations/0002_more.sql").write_text("select 2;\n")
    second = bundling.code_asset_hash(source)
    assert second != first
    (source / "functions/frontdesk/handlers/health.py").write_text("handler = 1\n")
    third = bundling.code_asset_hash(source)
    assert third != second
    (source / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\ndependencies = ["redis"]\n')
    assert bundling.code_asset_hash(source) != third


def test_local_bundling_steps_aside_for_docker_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(bundling.FORCE_ENV, "docker")
    assert bundling.PipLocalBundling(tmp_path).try_bundle(str(tmp_path / "out")) is False


def test_local_bundling_writes_the_bundle_with_the_host_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(bundling.FORCE_ENV, raising=False)
    source = _project(tmp_path / "src")
    out = tmp_path / "out"
    assert bundling.PipLocalBundling(source, cache_dir=tmp_path / "cache").try_bundle(str(out)) is True
    assert (out / "frontdesk/__init__.py").is_file()


def test_docker_fallback_runs_the_same_script_in_the_sam_python313_arm64_image() -> None:
    options = bundling.bundling_options()
    assert options.image.image == "public.ecr.aws/sam/build-python3.13:latest-arm64"
    assert options.platform == "linux/arm64"
    assert options.command[:2] == ["python", "/asset-input/infra_cdk/lambda_bundle.py"]
    assert "--cross-platform" not in options.command
    assert isinstance(options.local, bundling.PipLocalBundling)
