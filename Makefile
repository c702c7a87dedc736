# The commands people type. `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
GOVUK := 6.3.0
HTMX := 2.0.11
HTMX_WS := 2.0.4
CHROMIUM := /usr/bin/chromium

.PHONY: run test test-unit test-browser lint format vendor bench clean

$(BIN)/patchwork: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The browser tests drive Debian's Chromium. Installed here when we may (as root, with apt-get, as CI runs);
# otherwise stop with the command to run: the test command never passes having skipped them.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "The browser tests need Debian's Chromium at $(CHROMIUM). Install it with: sudo apt-get install -y chromium" >&2; \
		exit 1; \
	fi

run: $(BIN)/patchwork
	$(BIN)/patchwork db upgrade
	$(BIN)/patchwork demo --password "$${PATCHWORK_DEMO_PASSWORD:-patchwork-demo-2026}"
	$(BIN)/patchwork serve --host 127.0.0.1 --port $(PORT)

# The two suites run side by side, one per core (the browser suite in its own process, as it must be: see
# tests/browser/conftest.py); its report follows the other's, and either failing fails the command.
test: $(BIN)/patchwork node_modules/.package-lock.json $(CHROMIUM)
	@mkdir -p test-results
	@$(BIN)/pytest tests/browser > test-results/browser.log 2>&1 & browser=$$!; \
	$(BIN)/pytest tests --ignore=tests/browser; unit=$$?; \
	wait $$browser; browser=$$?; \
	echo "---- browser tests (also in test-results/browser.log) ----"; cat test-results/browser.log; \
	test $$unit -eq 0 && test $$browser -eq 0

test-unit: $(BIN)/patchwork node_modules/.package-lock.json
	$(BIN)/pytest tests --ignore=tests/browser

test-browser: $(BIN)/patchwork node_modules/.package-lock.json $(CHROMIUM)
	$(BIN)/pytest tests/browser

lint: $(BIN)/patchwork
	$(BIN)/ruff check patchwork tests bench
	$(BIN)/ruff format --check patchwork tests bench
	$(BIN)/mypy patchwork bench

format: $(BIN)/patchwork
	$(BIN)/ruff format patchwork tests bench
	$(BIN)/ruff check --fix patchwork tests bench

vendor: node_modules/.package-lock.json
	rm -f static/vendor/govuk-frontend-* static/vendor/htmx-*
	mkdir -p static/vendor
	cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.css static/vendor/govuk-frontend-$(GOVUK).min.css
	cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js static/vendor/govuk-frontend-$(GOVUK).min.js
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx-$(HTMX).min.js
	cp node_modules/htmx-ext-ws/dist/ws.min.js static/vendor/htmx-ext-ws-$(HTMX_WS).min.js
	sed -i 's|/\*# sourceMappingURL=[^*]*\*/||; s|//# sourceMappingURL=.*||' static/vendor/*.min.css static/vendor/*.min.js

# Issue 17's figures and targets as one JSON document (see the README); BENCH_OPTIONS=--quick to check the harness.
BENCH_OPTIONS ?=
bench: $(BIN)/patchwork
	@$(BIN)/patchwork bench suite $(BENCH_OPTIONS)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
