# Everything a fresh machine with Python 3.11+ needs: `make run`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check format install clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Options go through ARGS: make run ARGS="--port 9000 --workers 2".
run: $(STAMP)
	$(BIN)/clientele serve $(ARGS)

# The suite runs on SQLite, then again on PostgreSQL when TEST_DATABASE_URL is set.
test: $(STAMP)
	env -u TEST_DATABASE_URL $(BIN)/pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$TEST_DATABASE_URL)"; \
		$(BIN)/pytest; \
	fi

# The quality gate, the same locally, at commit time (.pre-commit-config.yaml) and in CI.
check: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --select I --fix src tests bench
	$(BIN)/ruff format src tests bench

# The benchmark harness (PostgreSQL only; DATABASE_URL, default a local clientele_bench database
# it creates and seeds). Never part of `make test`. Options: make bench ARGS="--quick" (see --help).
bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) *.egg-info src/*.egg-info
