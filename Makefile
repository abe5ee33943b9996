# `make demo` and `make test` work on a fresh clone: each creates .venv on first use,
# installs what it needs (once; again only when pyproject.toml changes), then runs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
ARGS   ?=

.PHONY: demo test lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[plot,fast]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[plot,fast,onnx,tune,audio,test]'
	touch $@ $(VENV)/.installed-run

demo: $(VENV)/.installed-run
	$(VENV)/bin/rnnlab demo $(ARGS)

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check src tests benchmarks examples

test: lint
	$(PY) -m pytest

bench: $(VENV)/.installed-test
	$(PY) benchmarks/letters.py $(ARGS)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache .hypothesis
