"""Build the Lambda code bundle: the project's base dependencies + ``frontdesk`` + ``frontdesk_contract``.

Standard library only, so the same file runs in two places:

* on the host, from CDK's local bundling (``infra_cdk.bundling.PipLocalBundling``), with
  ``--cross-platform``: pip downloads manylinux aarch64 wheels for CPython 3.13 whatever the host is;
* inside the SAM build image (``public.ecr.aws/sam/build-python3.13``, linux/arm64), the Docker
  fallback, where the interpreter already matches the Lambda runtime.

Usage: python infra_cdk/lambda_bundle.py --source <project root> --output <dir> [--cross-platform]
       [--cache-dir <pip cache>]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

PYTHON_VERSION = "3.13"
#: Lambda python3.13 runs on Amazon Linux 2023 (glibc 2.34): manylinux2014 and manylinux_2_28 wheels fit.
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
#: (source path relative to the project root, path inside the bundle, required?)
#: ``sql/`` rides along for the migrations custom resource (MIGRATIONS_DIR=/var/task/sql/migrations).
COPIED_TREES = (
    ("functions/frontdesk", "frontdesk", True),
    ("bridge_container/frontdesk_contract", "frontdesk_contract", True),
    ("sql", "sql", False),
)
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".pytest_cache", ".mypy_cache")


def base_dependencies(project_root: Path) -> list[str]:
    """``[project].dependencies`` of pyproject.toml: what the Lambda bundle carries."""
    with (project_root / "pyproject.toml").open("rb") as fh:
        project = tomllib.load(fh)["project"]
    return list(project.get("dependencies", []))


def pip_command(requirements: Path, output: Path, *, cross_platform: bool, cache_dir: Path | None) -> list[str]:
    cmd = [
        sys.executable, "-m", "pip", "install",
        "--requirement", str(requirements),
        "--target", str(output),
        "--no-compile",
        "--no-input",
        "--disable-pip-version-check",
        "--progress-bar", "off",
        "--quiet",
        "--only-binary=:all:",
    ]
    if cross_platform:
        for platform in PLATFORMS:
            cmd += ["--platform", platform]
        cmd += ["--implementation", "cp", "--python-version", PYTHON_VERSION]
    if cache_dir is not None:
        cmd += ["--cache-dir", str(cache_dir)]  # otherwise pip's own user cache
    return cmd


def bundle(source: Path, output: Path, *, cross_platform: bool, cache_dir: Path | None = None) -> None:
    source = source.resolve()
    output.mkdir(parents=True, exist_ok=True)
    missing = [src for src, _, required in COPIED_TREES if required and not (source / src).is_dir()]
    if missing:
        raise FileNotFoundError(f"cannot bundle the Lambda code: missing {', '.join(missing)} under {source}")
    dependencies = base_dependencies(source)
    if dependencies:
        with tempfile.TemporaryDirectory(prefix="frontdesk-reqs-") as tmp:
            requirements = Path(tmp) / "requirements.txt"
            requirements.write_text("\n".join(dependencies) + "\n", encoding="utf-8")
            cmd = pip_command(requirements, output, cross_platform=cross_platform, cache_dir=cache_dir)
            subprocess.run(cmd, check=True)
    # pip's console-script shims are useless in Lambda (and point at the build host's interpreter).
    shutil.rmtree(output / "bin", ignore_errors=True)
    for src, dest, _ in COPIED_TREES:
        if not (source / src).is_dir():
            continue
        target = output / dest
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source / src, target, ignore=_IGNORED)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path.cwd())
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--cross-platform", action="store_true")
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    bundle(args.source, args.output, cross_platform=args.cross_platform, cache_dir=args.cache_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
