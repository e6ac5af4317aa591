# Two commands for a fresh machine: `make run` (the demo on SQLite) and `make test` (every test).
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 5000
WORKERS ?= 2
export FLASK_APP := web
# The jurisdiction pack served (bpmn/<key>/): `JURISDICTION=taoyuan make run` or `make run JURISDICTION=taoyuan`.
ifdef JURISDICTION
export JURISDICTION
endif

ASSETS := web/static/vendor/.built

.PHONY: install assets instance-secret run serve test test-sqlite test-postgres system-deps run-deps lint translations

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# The English catalogue is compiled here (the .mo files are not committed).
install: $(VENV)/.installed
	$(VENV)/bin/pybabel -q compile -d web/translations

# Re-extract the UI strings (Chinese msgids; babel.cfg) and merge them into each catalogue, then compile.
# New strings arrive untranslated: fill in web/translations/<lang>/LC_MESSAGES/messages.po
# (tests/web/test_language.py fails while any entry is untranslated or fuzzy).
translations: install
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k _lp:1c,2 --sort-by-file --no-wrap --ignore-dirs ".* _* node_modules" \
		--project webir-bpm --copyright-holder "webir-bpm contributors" -o web/translations/messages.pot .
	$(VENV)/bin/pybabel update -i web/translations/messages.pot -d web/translations --no-wrap --no-fuzzy-matching \
		--ignore-obsolete
	$(VENV)/bin/pybabel compile -d web/translations --statistics

# bpmn-js and friends from npm (exact versions in frontend/package-lock.json), copied or bundled into web/static/vendor.
$(ASSETS): frontend/package.json frontend/package-lock.json $(wildcard frontend/src/*.js frontend/scripts/*)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent
	touch $@

assets: $(ASSETS)

# A random SECRET_KEY for this checkout, written once to instance/config.py (mode 600) and kept after that.
instance-secret: install
	$(PY) -m web.secret_key instance/config.py


# The key that seals ID numbers at rest, made once and kept (readable by this user only) beside the database.
instance/data-key:
	mkdir -p instance
	umask 077 && python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())' > $@.tmp
	mv $@.tmp $@

run: run-deps install assets instance-secret instance/data-key
	mkdir -p instance
	$(VENV)/bin/flask db upgrade
	$(VENV)/bin/flask seed-demo
	@echo
	@echo "勞保 WebIR 申請簽核系統: http://127.0.0.1:$(PORT)/login"
	@echo "Demo log-ins (password: demo):"
	@$(VENV)/bin/flask demo-logins
	@echo
	@$(MAKE) --no-print-directory serve

# The server alone (run's last step). web/gunicorn_conf.py runs the scheduler once, in its own process, lets
# nothing outlive the master (kill -9 included) and stops a server an earlier start left on this address.
serve:
	WEBIR_SCHEDULER_ENABLED=1 $(VENV)/bin/gunicorn --config web/gunicorn_conf.py --workers $(WORKERS) \
		--bind 127.0.0.1:$(PORT) --access-logfile - 'web:create_app()'

# Debian packages, installed only when missing (python3-venv and npm for both; chromium, fonts, PostgreSQL for tests).
run-deps:
	bash scripts/system-deps.sh run

system-deps:
	bash scripts/system-deps.sh test

lint: install
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check models workflows web bench tests

test: system-deps install assets lint test-sqlite test-postgres

test-sqlite: install
	$(PY) -m pytest -q

test-postgres: install
	bash scripts/with-postgres.sh $(PY) -m pytest -q
