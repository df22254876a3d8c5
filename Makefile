# routesig: the two commands a newcomer needs are `make demo` and `make test` (see README.md).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.routesig-installed

.PHONY: demo test test-fast install browser lint demo-model bench clean

# venv + CPU torch (pinned: an unpinned torch pulls GBs of CUDA wheels) + routesig in editable mode
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# The main job: demo model + bundled `core` suite -> capture -> analyze (+ held-out, controls) -> report.
demo: install
	$(BIN)/routesig run

# headless Chromium for the report's browser tests (Debian package; no browser download)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "install Debian's chromium (sudo apt-get install chromium) for the browser tests"; fi; }

lint: install
	$(BIN)/ruff check .

# CI: lint + the whole suite (slow tests included: resume after kill -9, ...; about 2 minutes on 2 cores).
test: install browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# quick loop while developing: skips the tests marked slow
test-fast: install
	$(BIN)/python -m pytest -m "not slow" -q

# Rebuild the demo model from scratch (corpus, tokenizer, training): ~90 min on 2 CPU cores; not in CI.
demo-model: install
	bash recipes/demo_model/build_all.sh

bench: install
	$(BIN)/python benchmarks/capture_overhead.py
	$(BIN)/python benchmarks/analysis_scale.py

clean:
	rm -rf $(VENV) build routesig-out test-artifacts .pytest_cache .ruff_cache
