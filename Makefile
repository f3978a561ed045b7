# `make test` is the one command that installs what the tests need (idempotently) and runs them.
# `.ci/run` calls it. Everything lands in ./.venv and js/node_modules; system packages via apt.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.talkex-installed

.PHONY: test install system-deps js hub-deps lint pytest jstest serve bench clean

test: install lint jstest pytest

## System packages the tests drive: Debian's Chromium (Playwright), redis-server, and an emoji
## font so reactions in screenshots are glyphs, not empty boxes.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing="$$missing fonts-noto-color-emoji"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

## npm packages (lock file exact) and the bundles in talkex_widget/static/.
js: system-deps
	@if [ ! -d js/node_modules ] || [ js/package-lock.json -nt js/node_modules/.package-lock.json ]; then \
	  cd js && npm ci --no-audit --no-fund; fi
	cd js && npm run build

## configurable-http-proxy for the JupyterHub tests (tests/hub), lock file exact.
hub-deps: system-deps
	@if [ ! -d tests/hub/node_modules ] || [ tests/hub/package-lock.json -nt tests/hub/node_modules/.package-lock.json ]; then \
	  cd tests/hub && npm ci --no-audit --no-fund; fi

## The package, editable, with its test extras; re-run only when pyproject.toml changes.
install: system-deps js hub-deps
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	@if [ ! -f $(STAMP) ] || [ pyproject.toml -nt $(STAMP) ]; then \
	  $(PY) -m pip install -q --upgrade pip && \
	  $(PY) -m pip install -q -e ".[test,redis]" && touch $(STAMP); fi

lint:
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check talkex_widget tests benchmarks
	$(VENV)/bin/ruff format --check talkex_widget tests benchmarks

jstest: js
	cd js && npm test

pytest:
	$(VENV)/bin/pytest

serve: install
	$(VENV)/bin/talkex serve

bench: install
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) js/node_modules tests/hub/node_modules talkex_widget/static/*.js talkex_widget/static/*.css
