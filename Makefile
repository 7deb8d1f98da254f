# One command sets up and runs each job; the virtualenv is made on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# The suite mostly waits on servers, workers and runs: more processes than cores (each test
# file stays in one; see tests/conftest.py). `make test TEST_PROCESSES=0` runs it in one.
TEST_PROCESSES ?= 3

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,postgres,kubernetes]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/tutorial.py $(DEMO_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q -ra -n $(TEST_PROCESSES) --dist loadfile

bench: $(STAMP)
	$(BIN)/python bench/e2e.py

clean:
	rm -rf $(VENV) .pytest_cache
