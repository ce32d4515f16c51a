# Two commands on a fresh machine: `make dev` runs Front Desk, `make test` runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Reinstall whenever pyproject.toml changes.
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install dev test test-fast lint typecheck synth bench-engine bench-api bench-bridge bench-ops clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev,cdk,local]"
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

## Run the product: PostgreSQL + Redis (yours via DATABASE_URL/REDIS_URL, or embedded), migrations,
## Demo Bistro, the API on :8000 and the voice bridge on :8080.
dev: install
	$(BIN)/frontdesk dev

## Every check CI runs: lint, types, the CDK synth, then the whole pytest suite.
test: install lint typecheck synth
	$(BIN)/pytest -q -p no:cacheprovider

test-fast: install
	$(BIN)/pytest -q -x tests/unit

lint: install
	$(BIN)/ruff check functions bridge_container tests bench infra_cdk

typecheck: install
	$(BIN)/mypy

synth: install
	@if [ -f infra_cdk/synth.sh ]; then bash infra_cdk/synth.sh; else echo "no CDK app yet"; fi

bench-engine: install
	$(BIN)/python bench/engine.py

bench-api: install
	$(BIN)/python bench/coldstart.py
	$(BIN)/python bench/api_load.py

bench-bridge: install
	$(BIN)/python bench/bridge_load.py

## Restaurant operations: commits with and without tables, the SMS outbox's cost and drain rate, and how long a
## configuration change holds the lock bookings wait on.
bench-ops: install
	$(BIN)/python bench/tables.py --seconds 10
	$(BIN)/python bench/sms_outbox.py --commits 400
	$(BIN)/python bench/config_changes.py --bookings 10000

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
