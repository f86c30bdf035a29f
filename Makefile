# Two commands do all set-up on a fresh machine: `make demo` and `make test` (both run `make install`).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: install demo test test-fast bench system-deps lab clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (arxiv-digest)" >/dev/null
	touch $(STAMP)

# Debian packages the tests use: jekyll builds the produced post for real.
system-deps:
	@command -v jekyll >/dev/null 2>&1 || { \
	  echo "installing Debian package jekyll (for the post build test)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq jekyll >/dev/null; }

demo: install
	$(BIN)/digest demo --out output

test: install system-deps
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest -q -m "not integration and not jekyll" $(PYTEST_ARGS)

bench: install
	$(BIN)/python benchmarks/run.py

lab: install
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) output/*/ output/digest.sqlite* build *.egg-info
