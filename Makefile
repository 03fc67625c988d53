# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONHASHSEED ?= 0

.PHONY: venv demo test bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: venv
	$(PY) example_audits/run_demo.py

test: venv
	$(PY) -m pytest -q -n 2 --dist loadfile

bench: venv
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) model-audit-report build dist *.egg-info .pytest_cache
