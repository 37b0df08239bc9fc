# The two commands of the README: `make demo` and `make test`. Everything installs from this repo.
AIRFLOW_VERSION ?= 3.3.2
VENV ?= .venv
PY := $(VENV)/bin/python
CONSTRAINTS := constraints/airflow-$(AIRFLOW_VERSION).txt
STAMP := $(VENV)/.installed-$(AIRFLOW_VERSION)

.PHONY: venv test lint types pytest deployment demo bench clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	bash scripts/venv.sh "$(VENV)" "$(AIRFLOW_VERSION)"
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(PY) -m pytest -m "not deployment" $(PYTEST_ARGS)

# The real-deployment tests (a real scheduler, triggerer, dag-processor and api-server), once per run.
deployment: $(STAMP)
	bash scripts/deployment_tests.sh "$(VENV)"

test: lint types pytest deployment

demo: $(STAMP)
	bash scripts/demo.sh "$(VENV)"

bench: $(STAMP)
	bash scripts/bench.sh "$(VENV)"

clean:
	rm -rf .venv .venv-* build *.egg-info
