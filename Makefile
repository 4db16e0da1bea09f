# The two commands of the README. Everything else is plumbing for them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip "setuptools<81" wheel
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

## run the platform in demo mode in the foreground (Ctrl-C stops it)
run: $(STAMP)
	DEMO_MODE=$${DEMO_MODE:-1} $(PY) -m ops.run

## run the whole test suite against the real PostgreSQL and RabbitMQ
test: $(STAMP)
	$(PY) -m ops.infra
	$(PY) -m ruff check .
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: $(STAMP)
	$(PY) -m bench.submit

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
