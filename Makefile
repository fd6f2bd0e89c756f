# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint sim clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ksystui demo

sim: $(STAMP)
	$(BIN)/ksystui sim

lint: $(STAMP)
	$(BIN)/ruff check ksystui tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

# Four workers on two cores: much of the suite waits on simulated nodes, SSH
# and terminals rather than computing (5.0 min in one process, 2.1 min so).
test: lint
	$(BIN)/pytest -q -n 4 --dist worksteal

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
