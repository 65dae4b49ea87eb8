PYTHON ?= .venv/bin/python

.PHONY: help install lint typecheck test test-fast train benchmark
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

install:  ## create .venv and install the project with its dev tools
	python3 -m venv .venv && .venv/bin/pip install -e ".[dev]" -c constraints.txt

lint:  ## ruff lint + format check
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

typecheck:  ## mypy
	$(PYTHON) -m mypy

test: lint typecheck  ## lint, types, and every test (including the slow integration tests)
	$(PYTHON) -m pytest -q

test-fast:  ## unit tests only
	$(PYTHON) -m pytest -q -m "not slow"

train:  ## the main job on a built-in example image
	$(PYTHON) train.py --texture builtin:immunohistochemistry --out runs/example
