# The two commands of the README. Everything else is plumbing for them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# the web apps, each a Vite app in web/<app>/: the staff console (docs/console.md) and the public
# portal (docs/portal.md); the portal also builds from the console's labels
WEB_APPS := console portal
WEB_BUILT := $(foreach app,$(WEB_APPS),web/$(app)/dist/.built)
web_sources = $(shell find web/$(1)/src -type f) $(addprefix web/$(1)/,index.html vite.config.ts tsconfig.json package.json)

# the locks with hashes, each from its requirements*.in and pinned like the one before it:
# requirements.txt (every process), requirements-pdf.txt (+ weasyprint: the gateway's image),
# requirements-dev.txt (+ tests and tools: what this Makefile installs); `make lock` after editing an .in
PIP_COMPILE := $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links

.PHONY: run test lint lock bench clean web $(WEB_APPS)

$(STAMP): requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.txt
	touch $(STAMP)

# keeps every pin it can (`$(PIP_COMPILE) --upgrade-package X ...` moves one on)
lock: $(STAMP)
	$(PIP_COMPILE) -o requirements.txt requirements.in
	$(PIP_COMPILE) -o requirements-pdf.txt requirements-pdf.in
	$(PIP_COMPILE) -o requirements-dev.txt requirements-dev.in

# each web app: npm ci when its lock changed, a build when a source did
web/%/node_modules/.installed: web/%/package-lock.json
	@command -v npm >/dev/null || { echo "the web apps need Node 20 and npm"; exit 1; }
	cd web/$* && npm ci --no-audit --no-fund
	touch $@

define web_app
web/$(1)/dist/.built: web/$(1)/node_modules/.installed $(call web_sources,$(1)) $(if $(filter portal,$(1)),$(shell find web/console/src/labels -type f))
	cd web/$(1) && npm run build
	touch $$@

$(1): web/$(1)/dist/.built
endef
$(foreach app,$(WEB_APPS),$(eval $(call web_app,$(app))))

web: $(WEB_BUILT)

## run the platform in demo mode in the foreground (Ctrl-C stops it)
run: $(STAMP) web
	DEMO_MODE=$${DEMO_MODE:-1} $(PY) -m ops.run

## run the whole test suite against the real PostgreSQL and RabbitMQ
test: $(STAMP) web
	$(PY) -m ops.infra
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(PY) -m bench.submit

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache $(foreach app,$(WEB_APPS),web/$(app)/node_modules web/$(app)/dist)
