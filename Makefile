# The two commands of the README: `make test` (and, with the book, `make book`).
# Each creates .venv in the repository root if missing and installs into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint format bench data clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/python -m pytest

# Simulated V1 data set with the real data's dimensions (about a minute on 2 cores).
data/simulated-full: | $(STAMP)
	$(BIN)/fens simulate --preset full --seed 0 --out $@

data: data/simulated-full

bench: data/simulated-full
	$(BIN)/python bench/loader_epoch.py --data data/simulated-full

clean:
	rm -rf $(VENV) _build .pytest_cache .ruff_cache
