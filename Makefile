# yibao — the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PERSONS ?= 20000
SEED   ?= 42
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: setup demo test lint serve clean lock

# The environment is rebuilt only when the lock or the project metadata change.
$(VENV)/.setup-stamp: pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "yibao needs Python >= 3.11, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

setup: $(VENV)/.setup-stamp

# Build the demo region 示例市 in the embedded SQLite database and serve the API and console.
demo: setup
	YIBAO_MODE=demo $(BIN)/yibao db upgrade
	YIBAO_MODE=demo $(BIN)/yibao demo --persons $(PERSONS) --seed $(SEED)
	YIBAO_MODE=demo $(BIN)/yibao serve --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

serve: setup
	$(BIN)/yibao serve --host $(HOST) --port $(PORT)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build src/*.egg-info

# Re-pin every dependency after editing pyproject.toml (run on a machine with the registries).
lock:
	rm -rf /tmp/yibao-lock-venv && $(PYTHON) -m venv /tmp/yibao-lock-venv
	/tmp/yibao-lock-venv/bin/pip install --quiet -e '.[dev]'
	( echo '# Exact versions installed by `make setup` (pip freeze of a fresh venv with `pip install -e .[dev]`).'; \
	  echo '# Regenerate after changing dependencies in pyproject.toml:  make lock'; \
	  /tmp/yibao-lock-venv/bin/pip freeze --exclude-editable ) > requirements.lock
