#!/usr/bin/env bash
# `make synth`: write cdk.out/ offline — no AWS credentials, no account lookups, no Docker.
#
#   bash infra_cdk/synth.sh                      # dev
#   bash infra_cdk/synth.sh -c stage=prod -c domain=bridge.example.com -c certificateArn=arn:aws:acm:...
#
# The pinned CDK CLI comes from package-lock.json (npm ci). The Lambda bundle is built locally with pip
# (manylinux aarch64 wheels for CPython 3.13), with downloads cached in .dev/pip-cache. cdk-nag runs as a
# validation plugin during synth: an unacknowledged finding fails this script.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/cdk ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
# The project's virtualenv provides python3 with aws-cdk-lib and cdk-nag (cdk.json runs `python3 -m infra_cdk.app`).
if [ -x .venv/bin/python3 ]; then
    export PATH="$PWD/.venv/bin:$PATH"
fi

# Offline and credential-free: no instance-metadata probing, no version check, no notices, no telemetry.
export AWS_EC2_METADATA_DISABLED=true
export CDK_DISABLE_VERSION_CHECK=1
export CDK_DISABLE_CLI_TELEMETRY=true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="${JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION:-20}"
# Wheels for the Lambda bundle are cached in .dev/pip-cache; pip only uses a cache directory owned by the
# current user, so when .dev belongs to someone else (make dev runs its servers as another user) fall back
# to pip's own per-user cache.
pip_cache="${FRONTDESK_PIP_CACHE_DIR:-$PWD/.dev/pip-cache}"
mkdir -p "$pip_cache" 2>/dev/null || true
if [ -O "$pip_cache" ] && [ -w "$pip_cache" ]; then
    export FRONTDESK_PIP_CACHE_DIR="$pip_cache"
else
    unset FRONTDESK_PIP_CACHE_DIR
fi

exec npx --no-install cdk synth --all -q --no-notices --no-lookups --ci "$@"
