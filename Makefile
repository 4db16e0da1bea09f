# The two commands of the README. Everything else is plumbing for them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

CONSOLE := web/console
CONSOLE_BUILT := $(CONSOLE)/dist/.built
CONSOLE_SOURCES := $(shell find $(CONSOLE)/src -type f) $(addprefix $(CONSOLE)/,index.html vite.config.ts tsconfig.json package.json)

.PHONY: run test lint bench clean console

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip "setuptools<81" wheel
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# the staff console (docs/console.md): npm ci when the lock changed, a build when a source did
$(CONSOLE)/node_modules/.installed: $(CONSOLE)/package-lock.json
	@command -v npm >/dev/null || { echo "the console needs Node 20 and npm"; exit 1; }
	cd $(CONSOLE) && npm ci --no-audit --no-fund
	touch $@

$(CONSOLE_BUILT): $(CONSOLE)/node_modules/.installed $(CONSOLE_SOURCES)
	cd $(CONSOLE) && npm run build
	touch $@

console: $(CONSOLE_BUILT)

## run the platform in demo mode in the foreground (Ctrl-C stops it)
run: $(STAMP) console
	DEMO_MODE=$${DEMO_MODE:-1} $(PY) -m ops.run

## run the whole test suite against the real PostgreSQL and RabbitMQ
test: $(STAMP) console
	$(PY) -m ops.infra
	$(PY) -m ruff check .
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: $(STAMP)
	$(PY) -m bench.submit

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache $(CONSOLE)/node_modules $(CONSOLE)/dist
