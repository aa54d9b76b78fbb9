# The two commands of the README: `make book` and `make test`.
# Each creates .venv in the repository root if missing and installs into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint format bench data clean exercises book

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

# The course website in _build/html: every chapter executed (cached in _build/.jupyter_cache: a
# rebuild re-executes only the chapters that changed), warnings as errors. FENS_DATA=real
# builds it on the real recordings; FENS_BOOK_EDITION=students without solution code.
# Jupyter Book's exit code misses a failed cell: book/_ext/fens_book fails the build on one.
BOOK_DATA := $(if $(filter-out simulated,$(or $(FENS_DATA),simulated)),,data/simulated-full)

book: $(STAMP) $(BOOK_DATA)
	FENS_DATA_DIR=$(CURDIR)/data $(BIN)/jupyter-book build . -W -n --keep-going
	$(BIN)/python bench/chapters.py --from-build

bench: data/simulated-full
	$(BIN)/python bench/loader_epoch.py --data data/simulated-full

# The student notebooks: nbgrader generate_assignment of every chapter in solutions/ into
# exercises/ (committed; regenerating gives no diff; the gradebook learns the graded cells).
exercises: $(STAMP)
	$(BIN)/python -m fens.grading release

clean:
	rm -rf $(VENV) _build .pytest_cache .ruff_cache
