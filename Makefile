# One target per thing a person does. See README.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
ENV := source include/env.sh
VENV := .venv
# The first test stack's ports (docs/testing.md); the second's are 50 higher (tests/run_stacks.py).
TEST_KAFKA_PORT ?= 29092
# The params of the run `make run` triggers (JSON), e.g. '{"new_source_topic": true}'.
RUN_CONF ?= {}
TEST_AIRFLOW_PORT ?= 28080
TEST_DB_PORT ?= 25432
# The tests' Spark standalone master (its web UI and the workers' on the next three ports); the
# tests' three-broker cluster listens on TEST_KAFKA_PORT + 10, + 12, + 14 (controllers + 1).
TEST_SPARK_PORT ?= 27077
# The tests' schema registry (below 32768: never an ephemeral port another connection holds).
TEST_REGISTRY_PORT ?= 28081
# `make test` runs the suite on TEST_STACKS test stacks side by side (tests/run_stacks.py: the
# next ones on ports 50 apart, folders .platform/test2-*); TEST_STACKS=1 runs it on one.
TEST_STACKS ?= 2
# The folders of this stack (.platform/$(TEST_STACK)-airflow, ...) and the test folders it runs
# (comma-separated, all when empty), set by tests/run_stacks.py.
TEST_STACK ?= test
TEST_FOLDERS ?=
# The test stack takes the defaults of include/defaults.env for the settings that shape a stack.
TEST_ENV := unset AIRFLOW__DATABASE__SQL_ALCHEMY_CONN SPARK_MASTER KAFKA_BROKERS && export AIRFLOW_HOME=$(CURDIR)/.platform/$(TEST_STACK)-airflow \
	TEST_KAFKA_PORT=$(TEST_KAFKA_PORT) KAFKA_BROKER=127.0.0.1:$(TEST_KAFKA_PORT) TEST_SPARK_PORT=$(TEST_SPARK_PORT) \
	STATS_DIR=$(CURDIR)/.platform/$(TEST_STACK)-stats AIRFLOW__API__PORT=$(TEST_AIRFLOW_PORT) \
	AIRFLOW_DB_PORT=$(TEST_DB_PORT) SCHEMA_REGISTRY_URL=http://127.0.0.1:$(TEST_REGISTRY_PORT) TEST_FOLDERS=$(TEST_FOLDERS) && $(ENV)
TEST_REGISTRY_ROOT := --root $(CURDIR)/.platform/$(TEST_STACK)-registry

.PHONY: help setup run password stop status test test-stack unit lint bench clean spark-cds check-settings docs chromium screenshots

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(VENV)/.runtime-installed: requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ required ($(PYTHON))"; exit 1; }
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	$(VENV)/bin/pip install -q --no-deps -e .
	@touch $@

$(VENV)/.dev-installed: $(VENV)/.runtime-installed requirements-dev.txt
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	@touch $@

.platform/jars/.fetched: include/maven/kafka-broker/pom.xml include/maven/spark-kafka/pom.xml $(VENV)/.runtime-installed
	@command -v java >/dev/null || { echo "java not found: install Java 17 (README, Prerequisites)"; exit 1; }
	@command -v mvn >/dev/null || { echo "mvn not found: install Maven (README, Prerequisites)"; exit 1; }
	$(ENV); python -m ticket_devstack.jars
	@touch $@

# The schema registry's distribution (Apicurio Registry, from Maven Central).
.platform/registry-dist/.fetched: include/ticket_devstack/registry_service.py $(VENV)/.runtime-installed
	$(ENV); python -m ticket_devstack.registry_service fetch
	@touch $@

.platform/airflow/.db-migrated: $(VENV)/.runtime-installed
	@mkdir -p .platform/airflow
	$(ENV); python -m ticket_devstack.postgres_service start
	$(ENV); airflow db migrate > .platform/airflow-db-migrate.log 2>&1 || { tail -20 .platform/airflow-db-migrate.log; exit 1; }
	@touch $@

# The Spark driver's class-data sharing archive (a training run the first time, then a no-op).
spark-cds: $(VENV)/.runtime-installed .platform/jars/.fetched
	@$(ENV); python -m ticket_devstack.spark_cds

# Every setting checked before anything starts: one line per bad value, naming the setting.
check-settings: $(VENV)/.runtime-installed
	@$(ENV); python -m ticket_etl.config check

setup: $(VENV)/.runtime-installed check-settings .platform/jars/.fetched .platform/registry-dist/.fetched .platform/airflow/.db-migrated spark-cds  ## install everything (idempotent)

run: setup  ## start Kafka, the schema registry, Spark (if SPARK_MASTER is spark://127.0.0.1:PORT) and Airflow, run ticket_pipeline for the last complete hour
	$(ENV); python -m ticket_devstack.kafka_service start
	$(ENV); python -m ticket_devstack.kafka_service create-topics
	$(ENV); python -m ticket_devstack.registry_service start
	$(ENV); python -m ticket_devstack.spark_service start
	$(ENV); python -m ticket_devstack.airflow_service start
	$(ENV); python -m ticket_devstack.airflow_service run-dag ticket_pipeline --conf '$(RUN_CONF)'
	@$(ENV); echo "artifacts: $$STATS_DIR   UI: http://localhost:$$AIRFLOW__API__PORT (user admin, password: make password)"

password:  ## print the Airflow UI password of user admin
	@$(ENV); python -m ticket_devstack.airflow_service password

stop:  ## stop Airflow, the schema registry, the database, the Spark cluster and Kafka started by make run
	-@$(ENV); python -m ticket_devstack.airflow_service stop
	-@$(ENV); python -m ticket_devstack.registry_service stop
	-@$(ENV); python -m ticket_devstack.postgres_service stop
	-@$(ENV); python -m ticket_devstack.spark_service stop
	-@$(ENV); python -m ticket_devstack.kafka_service stop

status:  ## show what is running
	@$(ENV); python -m ticket_devstack.kafka_service status || true
	@$(ENV); python -m ticket_devstack.postgres_service status || true
	@$(ENV); python -m ticket_devstack.registry_service status || true
	@$(ENV); python -m ticket_devstack.spark_service status || true
	@$(ENV); python -m ticket_devstack.airflow_service status || true

# The browser test's Chromium: Debian's package, never a browser build downloaded by Playwright.
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] || { echo "chromium missing: run 'apt-get install -y chromium' as root (the browser test needs it)"; exit 1; }; \
		echo "installing Debian's chromium for the browser test"; \
		apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; }

test: $(VENV)/.dev-installed .platform/jars/.fetched .platform/registry-dist/.fetched spark-cds chromium  ## install what is needed and run the whole test suite
ifeq ($(TEST_STACKS),1)
	@$(MAKE) --no-print-directory test-stack
else
	$(ENV); TEST_KAFKA_PORT=$(TEST_KAFKA_PORT) TEST_AIRFLOW_PORT=$(TEST_AIRFLOW_PORT) TEST_DB_PORT=$(TEST_DB_PORT) \
		TEST_SPARK_PORT=$(TEST_SPARK_PORT) TEST_REGISTRY_PORT=$(TEST_REGISTRY_PORT) python tests/run_stacks.py
endif

# One test stack: its database (reset), its schema registry, then pytest on it.
test-stack:
	$(TEST_ENV); python -m ticket_devstack.postgres_service start
	$(TEST_ENV); airflow db reset -y > .platform/$(TEST_STACK)-airflow-db.log 2>&1 || { tail -20 .platform/$(TEST_STACK)-airflow-db.log; python -m ticket_devstack.postgres_service stop; exit 1; }
	$(TEST_ENV); python -m ticket_devstack.registry_service start $(TEST_REGISTRY_ROOT) || { python -m ticket_devstack.postgres_service stop; exit 1; }
	$(TEST_ENV); python -m pytest $(PYTEST_ARGS) || status=$$?; echo "pytest exit $${status:-0}"; python -m ticket_devstack.registry_service stop $(TEST_REGISTRY_ROOT); python -m ticket_devstack.postgres_service stop; exit $${status:-0}

unit: $(VENV)/.dev-installed  ## the tests that need no service (tests/unit): under a minute, no stack
	$(ENV); python -m pytest -q -p no:cacheprovider tests/unit $(PYTEST_ARGS)

screenshots:  ## copy the browser test's screenshots (.platform/screenshots, made by make test) to docs/img
	@ls .platform/screenshots/*.png >/dev/null 2>&1 || { echo "no screenshots: run make test (tests/e2e/test_ui_browser.py) first"; exit 1; }
	mkdir -p docs/img && cp .platform/screenshots/*.png docs/img/

docs: $(VENV)/.runtime-installed  ## regenerate docs/configuration.md from include/defaults.env
	$(ENV); python -m ticket_etl.config docs > docs/configuration.md

lint: $(VENV)/.dev-installed  ## ruff check and format check, and dead code (vulture)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/vulture

bench: $(VENV)/.dev-installed .platform/jars/.fetched .platform/registry-dist/.fetched spark-cds  ## benchmarks: producer, Spark job, orchestration (BENCH_ARGS=--quick for a short run)
	$(ENV); python -m bench.run_all $(BENCH_ARGS)

clean: stop  ## remove generated state (venv, jars, Kafka data, Airflow home and database, secrets, artifacts)
	-@$(ENV); python -m ticket_devstack.postgres_service delete
	-@$(ENV); rm -rf "$$(dirname "$$AIRFLOW_JWT_SECRET_FILE")"
	-@$(TEST_ENV); rm -rf "$$(dirname "$$AIRFLOW_JWT_SECRET_FILE")"
	-@export AIRFLOW_HOME=$(CURDIR)/.platform/test2-airflow && $(ENV); rm -rf "$$(dirname "$$AIRFLOW_JWT_SECRET_FILE")"
	rm -rf $(VENV) .platform stats bench/results
