# relaydesk: `make run` starts the local stack, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

STAGE ?= dev
ALARM_EMAIL ?=

.PHONY: run test lint unit integration reliability soak e2e bench clean secrets deploy

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

# The reliability suite with ten times the fuzz examples (tests/reliability/README.md).
soak: $(STAMP)
	HYPOTHESIS_PROFILE=relaydesk-soak RELAYDESK_SOAK=1 $(BIN)/pytest -q -p no:cacheprovider tests/reliability

e2e: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider tests/e2e

test: lint unit integration reliability e2e

bench: $(STAMP)
	$(BIN)/python -m bench.webhook
	$(BIN)/python -m bench.timers
	$(BIN)/python -m bench.flows
	$(BIN)/python -m bench.coldstart
	$(BIN)/python -m bench.package_size
	$(BIN)/python -m bench.answers
	$(BIN)/python -m bench.answer_time
	$(BIN)/python -m bench.proactive

secrets: $(STAMP)
	$(BIN)/relaydesk secrets --stage $(STAGE)

deploy: $(STAMP)
	$(BIN)/relaydesk deploy --stage $(STAGE) --alarm-email "$(ALARM_EMAIL)"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
