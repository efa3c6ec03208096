# cityassets — `make run` serves the demo city on http://127.0.0.1:8000, `make test` runs the suite.
# Both install what is missing (Debian packages when root, a .venv with the project), start a
# project-local PostGIS cluster (unless DATABASE_URL points elsewhere) and migrate it.

SHELL := /bin/bash
PY ?= python3
VENV := .venv
CA := $(VENV)/bin/cityassets
DEB_PACKAGES := postgresql-15 postgresql-15-postgis-3 postgresql-15-pgrouting gdal-bin python3-venv
ACCEPTANCE_PACKAGES := python3-gdal python3-qgis qgis-providers

.PHONY: run test stop deps system-deps db demo acceptance acceptance-deps bench clean-db

run: deps db demo
	$(CA) serve

test: deps db
	$(VENV)/bin/pytest -q

stop:
	-@[ -f .run/serve.pid ] && kill $$(cat .run/serve.pid) 2>/dev/null; rm -f .run/serve.pid
	-$(CA) db down

deps: system-deps $(VENV)/.installed

system-deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages: $$missing (run: sudo apt-get install $$missing)"; exit 1; fi; \
	fi

$(VENV)/.installed: pyproject.toml
	@[ -x $(VENV)/bin/python ] || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	@touch $@

db: deps
	$(CA) db up
	$(CA) db upgrade

demo: db
	$(CA) demo load

acceptance-deps: deps
	@missing=$$(for p in $(ACCEPTANCE_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

acceptance: acceptance-deps db demo
	$(VENV)/bin/python scripts/acceptance.py $(if $(ONLY),--only $(ONLY))

clean-db: stop
	rm -rf .pgdata
