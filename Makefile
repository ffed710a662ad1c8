# relaydesk: `make run` starts the local stack, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

STAGE ?= dev
ALARM_EMAIL ?=

.PHONY: run test lint unit integration reliability soak e2e browser bench clean secrets deploy providers

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . || \
		$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/relaydesk stack

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m relaydesk.layering
	$(BIN)/cfn-lint infra/template.yaml
	for stage in dev prod; do \
		rm -rf build/$$stage && \
		AWS_DEFAULT_REGION=us-east-1 $(BIN)/relaydesk package --stage $$stage build/$$stage >/dev/null && \
		$(BIN)/cfn-lint build/$$stage/sam.json || exit 1; \
	done

unit: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider --disable-socket tests/unit

integration: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider tests/integration

reliability: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider tests/reliability

# The reliability suite with ten times the fuzz examples (tests/reliability/README.md); it
# writes its figures to tests/reliability/SOAK.md (tests/reliability/summary.py).
soak: $(STAMP)
	HYPOTHESIS_PROFILE=relaydesk-soak RELAYDESK_SOAK=1 RELAYDESK_SUMMARY=tests/reliability/SOAK.md \
		$(BIN)/pytest -q -p no:cacheprovider tests/reliability

# The web chat's browser test drives Debian's Chromium through its chromedriver (no browser
# download). Installed when missing (root, as in CI); elsewhere the browser test skips, saying so.
browser:
	@test -x /usr/bin/chromedriver || \
		apt-get install -y --no-install-recommends chromium chromium-driver || \
		(apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver) || \
		echo "chromium and chromium-driver not installed: the browser test will skip"

e2e: $(STAMP) browser
	$(BIN)/pytest -q -p no:cacheprovider tests/e2e

test: lint unit integration reliability e2e

# Every bench module, one after another; writes bench/RESULTS.md from the run (bench/__main__.py).
bench: $(STAMP)
	$(BIN)/python -m bench

secrets: $(STAMP)
	$(BIN)/relaydesk secrets --stage $(STAGE)

# `make deploy --dry-run` (make's own -n) and `make deploy DRY_RUN=1` both run the deploy's
# dry run (the `+` runs the line even under -n): the change set and the providers' wiring
# it would change are printed, nothing is changed.
MAKE_DRY_RUN := $(if $(findstring n,$(firstword -$(MAKEFLAGS))),1)
deploy: $(STAMP)
	+$(BIN)/relaydesk deploy --stage $(STAGE) --alarm-email "$(ALARM_EMAIL)" \
		$(if $(DRY_RUN)$(MAKE_DRY_RUN),--dry-run)

# The stores' Twilio numbers and SendGrid Inbound Parse pointed at the deployed stage (what
# `make deploy` does last); DRY_RUN=1 prints the differences only.
providers: $(STAMP)
	$(BIN)/relaydesk providers sync --stage $(STAGE) $(if $(DRY_RUN),--dry-run)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
