# The targets here are exactly what CI runs (.ci/run calls `make test`).
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.sing-installed

.PHONY: setup test lint demo demo-quick bench clean

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	touch $(STAMP)

setup: $(STAMP)

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks

test: lint
	$(PY) -m pytest -q

demo: $(STAMP)
	$(VENV)/bin/sing demo

demo-quick: $(STAMP)
	$(VENV)/bin/sing demo --quick

bench: $(STAMP)
	$(PY) benchmarks/data_loading.py
	$(PY) benchmarks/generation.py
	$(PY) benchmarks/training.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
