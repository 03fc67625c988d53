# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONHASHSEED ?= 0

.PHONY: venv demo test bench bench-cache validate clean

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

# the example suite cold vs warm cache, and -n 2 vs -n 0 (also part of `make bench`)
bench-cache: venv
	$(PY) benchmarks/run.py cache

# the validation suite: models with planted reliance, truth by counterfactual swaps, verdicts against it
validate: venv
	$(PY) benchmarks/validity/run.py

clean:
	rm -rf $(VENV) model-audit-report build dist *.egg-info .pytest_cache
