"""The one Lambda code asset, bundled without Docker.

``PipLocalBundling`` is CDK's ``ILocalBundling``: it runs ``infra_cdk/lambda_bundle.py`` on the host with
``pip install --platform manylinux2014_aarch64 --only-binary=:all: --python-version 3.13 --target …``,
so ``cdk synth``/``cdk deploy`` need no Docker. Docker (the SAM python3.13 arm64 build image running the
same script) is only the fallback when the host has no usable pip, or when forced with
``FRONTDESK_LAMBDA_BUNDLING=docker``.

The asset hash is computed from exactly what goes into the bundle (pyproject's dependency list, the two
packages, sql/, the bundling script), so an unchanged tree reuses ``cdk.out`` and a test synth with
bundling switched off (``aws:cdk:bundling-stacks = []``) never walks the repository.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra_cdk import lambda_bundle

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLER_SCRIPT = Path(lambda_bundle.__file__).resolve()
#: Set to "docker" to skip local bundling (e.g. to reproduce the fallback).
FORCE_ENV = "FRONTDESK_LAMBDA_BUNDLING"
#: Where pip keeps downloaded wheels between synths (gitignored .dev/).
PIP_CACHE_ENV = "FRONTDESK_PIP_CACHE_DIR"
_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def _hashed_files(root: Path) -> list[Path]:
    files = [root / "pyproject.toml"]
    for tree, _dest, _required in lambda_bundle.COPIED_TREES:
        base = root / tree
        if base.is_dir():
            files += sorted(
                p for p in base.rglob("*")
                if p.is_file() and not _SKIPPED_PARTS.intersection(p.parts) and p.suffix not in {".pyc", ".pyo"}
            )
    return files


def code_asset_hash(root: Path = PROJECT_ROOT) -> str:
    """Content hash of everything that ends up in the Lambda bundle, plus the bundling recipe."""
    digest = hashlib.sha256()
    recipe = f"{lambda_bundle.PYTHON_VERSION}|{','.join(lambda_bundle.PLATFORMS)}"
    digest.update(recipe.encode())
    digest.update("\n".join(lambda_bundle.base_dependencies(root)).encode())
    digest.update(BUNDLER_SCRIPT.read_bytes())  # the recipe itself
    for path in _hashed_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """Bundle on the host with pip's cross-platform wheel selection (no Docker)."""

    def __init__(self, project_root: Path = PROJECT_ROOT, cache_dir: Path | None = None) -> None:
        self._root = project_root
        env_cache = os.environ.get(PIP_CACHE_ENV)
        self._cache_dir = cache_dir or (Path(env_cache).resolve() if env_cache else None)

    # jsii passes the BundlingOptions struct either expanded or as one positional argument.
    def try_bundle(self, output_dir: str, *_options: Any, **_kwargs: Any) -> bool:
        if os.environ.get(FORCE_ENV, "").lower() == "docker":
            return False
        if importlib.util.find_spec("pip") is None:
            print("[frontdesk] pip is not available on the host; falling back to Docker bundling", file=sys.stderr)
            return False
        cmd = [sys.executable, str(BUNDLER_SCRIPT), "--source", str(self._root), "--output", output_dir,
               "--cross-platform"]
        if self._cache_dir is not None:
            self._cache_dir.mkdir(parents=True, exist_ok=True)
            cmd += ["--cache-dir", str(self._cache_dir)]
        # A pip failure (no network, no wheel for aarch64) is an error, not a reason to try Docker:
        # the message is the useful one.
        subprocess.run(cmd, check=True, cwd=self._root)
        return True


def bundling_options(project_root: Path = PROJECT_ROOT) -> BundlingOptions:
    """Local pip bundling first; Docker (SAM python3.13 arm64 build image, same script) as the fallback."""
    runtime = lambda_.Runtime.PYTHON_3_13
    return BundlingOptions(
        local=PipLocalBundling(project_root),
        image=DockerImage.from_registry(f"{runtime.bundling_image.image}:latest-arm64"),
        platform="linux/arm64",
        command=[
            "python", "/asset-input/infra_cdk/lambda_bundle.py",
            "--source", "/asset-input", "--output", "/asset-output",
        ],
        environment={"PIP_NO_CACHE_DIR": "1"},
    )


def lambda_code(project_root: Path = PROJECT_ROOT, bundle_hash: str | None = None) -> lambda_.Code:
    """The single code asset every Front Desk function uses (arm64, python3.13)."""
    return lambda_.Code.from_asset(
        str(project_root),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=bundle_hash or code_asset_hash(project_root),
        bundling=bundling_options(project_root),
    )
