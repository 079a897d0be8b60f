# insurdesk — the two commands: `make run` and `make test` (see README).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup setup-dev browser lint test-sqlite test-postgres migrate demo clean mutants

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the dependency list changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

migrate: setup
	$(BIN)/insurdesk migrate --noinput

demo: migrate
	$(BIN)/insurdesk demo --if-empty

# The task worker (imports, long jobs) runs beside the web server and stops with it.
run: demo
	@echo "insurdesk: development server (Django runserver) with DEBUG on, at http://$(HOST):$(PORT)/  (stop with Ctrl-C)"
	@echo "  not for production: deploy with INSURDESK_PRODUCTION=1 behind a WSGI server (README: Deployment)"
	@$(BIN)/insurdesk db_worker --queue-name "*" >>"$${INSURDESK_DATA_DIR:-var}/worker.log" 2>&1 & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/insurdesk runserver $(HOST):$(PORT)

# Browser tests drive Debian's chromium (never a downloaded browser); import tests read xlsx files that
# a fresh LibreOffice writes; the schedule PDF needs Pango. All come from apt when missing.
APT_TEST_PACKAGES := chromium fonts-noto-cjk libreoffice-calc-nogui libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto sans cjk" || ! command -v soffice >/dev/null \
	     || ! ldconfig -p | grep -q libharfbuzz-subset; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing $(APT_TEST_PACKAGES) (apt)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_TEST_PACKAGES) >/dev/null; \
	  else \
	    echo "missing test tools: run 'sudo apt-get install $(APT_TEST_PACKAGES)' (their tests skip, or fail under CI)"; \
	  fi; \
	fi

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

test-sqlite: setup-dev
	DATABASE_URL= $(BIN)/python -m pytest -n 2 --dist loadfile

test-postgres: setup-dev
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_TEST_URL)'.replace('postgres://','postgresql://'), connect_timeout=3).close()" 2>/dev/null; then \
	  echo "== PostgreSQL at $(PG_TEST_URL)"; \
	  DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -n 2 --dist loadfile; \
	elif [ "$$CI" = "true" ]; then \
	  echo "PostgreSQL does not answer at $(PG_TEST_URL); CI requires it"; exit 1; \
	else \
	  echo "PostgreSQL does not answer at $(PG_TEST_URL): skipped (start it to run the suite there too)"; \
	fi

test: setup-dev browser lint
	@echo "== SQLite"
	@$(MAKE) --no-print-directory test-sqlite
	@$(MAKE) --no-print-directory test-postgres

# Break each protected rule on purpose (bench/mutants.py) and check the tests notice; not part of `make test`.
mutants: setup-dev
	$(BIN)/python bench/mutants.py

clean:
	rm -rf $(VENV) build *.egg-info

# The English catalogue (README: Translations): extract the strings, compile, and count what is left.
.PHONY: messages
messages: setup
	$(BIN)/insurdesk makemessages -l en --no-obsolete --add-location=file --ignore=".venv/*" --ignore="var/*" --ignore="bench/*" --ignore="build/*"
	$(BIN)/insurdesk compilemessages --ignore=.venv --ignore=var
	@msgfmt --statistics -o /dev/null insurdesk/locale/en/LC_MESSAGES/django.po
