# Two entry points for a fresh machine: `make demo` and `make test` (see README).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export TOWNBRAIN_HOME ?= $(CURDIR)/var

.PHONY: demo test install install-test system-deps lint messages bench clean

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test system-deps

# Debian packages the tests need: headless Chromium for the page tests, CJK fonts, gettext.
system-deps:
	bash scripts/install-system-deps.sh

# The demo's administrator gets the published demo password (never prompt in `make demo`).
# The cockpit offers PDF briefings: WeasyPrint needs Pango and the CJK font. A job worker runs beside the
# server (large imports run as background jobs, docs/jobs.md) and stops with it.
demo: install
	bash scripts/install-system-deps.sh --demo
	TOWNBRAIN_ADMIN_PASSWORD=townbrain-demo $(BIN)/townbrain init
	$(BIN)/townbrain demo
	$(BIN)/townbrain serve --port 8000 --with-worker

test: install-test
	bash scripts/test.sh

lint: install-test
	$(BIN)/ruff check townbrain

# Refresh the translation catalogues after changing user-visible strings.
messages: install-test
	cd townbrain && ../$(BIN)/django-admin makemessages -l zh_Hans -l en --no-obsolete --settings=townbrain.settings \
	  --ignore 'static/*' && ../$(BIN)/django-admin compilemessages --settings=townbrain.settings

bench: install-test
	$(BIN)/townbrain bench divisions

clean:
	rm -rf $(VENV) var
