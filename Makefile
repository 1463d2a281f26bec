# Two commands do all set-up on a fresh machine:  make run   and   make test
# Both create .venv (Python 3.12) and install the project if needed, and compile the catalogs.

PYTHON ?= $(shell command -v python3.12 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
export TEST_DATABASE_URL

.PHONY: run test catalogs i18n lint bench lock

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 12), "Python 3.12 is required (see .python-version)"'
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

catalogs: $(STAMP)
	@$(BIN)/python scripts/i18n.py compile

run: catalogs
	$(BIN)/python -m bot

# The suite spends much of its time waiting on real bot processes and fake servers: three
# workers on two cores (pytest-xdist; each worker has its own databases). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 3
test: catalogs
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

# Re-extract texts after changing them in the code, then translate locales/en.
i18n: $(STAMP)
	$(BIN)/python scripts/i18n.py update

lint: $(STAMP)
	$(BIN)/ruff check bot storage scripts tests
	$(BIN)/ruff format --check bot storage scripts tests

# Re-pin the image's dependencies (with hashes) after changing them in pyproject.toml.
lock: $(STAMP)
	$(BIN)/pip install -q pip-tools
	$(BIN)/pip-compile -q --generate-hashes --extra postgres --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
