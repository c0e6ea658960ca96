# The README's two commands live here: `make serve` and `make test`.
# Each target sets up what it needs itself (virtual environment, demo replica, PostgreSQL).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5006
# The product writes its files (demo replica, fetched contours) here: the checkout's data/.
export RELOG_DATA_DIR ?= $(CURDIR)/data
DEMO   := $(RELOG_DATA_DIR)/demo-departement.duckdb

.PHONY: serve test demo bench setup clean notebooks

# Virtual environment with the project and its test tools, rebuilt when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

setup: $(VENV)/.installed

# rebuilt when the generator or the contract changes (a column may have been added)
$(DEMO): data_access/demo/generator.py data_access/schema.py | $(VENV)/.installed
	$(BIN)/relog demo --scale departement --out $(DEMO)

demo: $(VENV)/.installed
	$(BIN)/relog demo --scale departement --out $(DEMO)

## Set everything up and serve the dashboards on the embedded demo data (http://localhost:5006).
serve: $(VENV)/.installed $(DEMO)
	$(BIN)/relog summarise
	$(BIN)/relog serve --port $(PORT)

## Set everything up (PostgreSQL and Chromium included), check lint and format, run the whole test suite.
test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	bash tests/setup/ensure-postgres.sh
	bash tests/setup/ensure-chromium.sh
	bash tests/setup/ensure-nginx.sh
	$(BIN)/python -m pytest -n 2 --dist loadgroup

## JupyterLab on the analysts' notebooks (notebooks/), with the project's environment.
notebooks: $(VENV)/.installed $(DEMO)
	$(BIN)/python -m pip install --quiet -e ".[test,notebooks]"
	cd notebooks && ../$(BIN)/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root)

bench: $(VENV)/.installed $(DEMO)
	$(BIN)/relog bench

clean:
	rm -rf $(VENV) data build *.egg-info
