# Common commands. `make dev` starts the product; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/var/dagster_home
DEV_PORT ?= 3000

.PHONY: install system-packages dev test test-explore lint clean

$(BIN)/reports: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Fonts for PDF text in any script (and, for the tests, Chromium): Debian packages, installed
# when missing (scripts/system-packages.sh says what to run when it cannot).
system-packages:
	@scripts/system-packages.sh $(if $(filter test,$(MAKECMDGOALS)),--test)

install: system-packages $(BIN)/reports

# Dagster UI on http://127.0.0.1:3000 (or DEV_PORT) plus the daemon; SQLite storage under
# var/dagster_home. reports_pipeline.dev_server runs `dagster dev` and reloads it when a report
# file or connections.yaml changes; both stop together.
dev: install
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	@# Create or migrate the storage once, before `dagster dev` starts the webserver and the daemon
	@# together: on a new home both would migrate it at the same moment and fail.
	$(BIN)/dagster instance migrate > /dev/null
	$(BIN)/python -m reports_pipeline.dev_server --url http://127.0.0.1:$(DEV_PORT) -- \
		$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(DEV_PORT)

test: install
	$(BIN)/ruff check reports_pipeline reports_pipeline_tests
	$(BIN)/pytest

# Not run by CI: the property tests with many more random examples, to search for bugs. A failure
# prints the example; keep it as an explicit test.
test-explore: install
	HYPOTHESIS_PROFILE=explore $(BIN)/pytest -m hypothesis

lint: install
	$(BIN)/ruff check reports_pipeline reports_pipeline_tests

clean:
	rm -rf var
