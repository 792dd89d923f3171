# The purchases lakehouse. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
LAKEHOUSE := $(VENV)/bin/lakehouse
STACK ?= local
export STACK

.DEFAULT_GOAL := help
.PHONY: help check-stack setup up down status demo produce bronze silver dbt ml test test-unit lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.8
	$(VENV)/bin/uv pip sync --quiet -p $(PY) requirements.lock
	$(VENV)/bin/uv pip install --quiet -p $(PY) --no-deps -e .
	touch $@

.jars/.resolved: jvm/pom.xml
	@command -v mvn >/dev/null || { echo "need Maven (mvn) and a JDK 17 on PATH" >&2; exit 1; }
	rm -rf .jars/spark .jars/kafka
	mvn -q -B -f jvm/pom.xml -P spark dependency:copy-dependencies -DoutputDirectory=$(CURDIR)/.jars/spark
	mvn -q -B -f jvm/pom.xml -P kafka dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=$(CURDIR)/.jars/kafka
	touch $@

setup: $(VENV)/.installed .jars/.resolved ## install Python packages (.venv) and the pinned JVM jars (.jars)

check-stack:
	@[ "$(STACK)" = local ] || { echo "STACK=$(STACK): only STACK=local exists so far (the docker-compose stack is planned)" >&2; exit 1; }

up: check-stack setup ## start the local stack (a Kafka broker on 127.0.0.1:9092); idempotent
	$(LAKEHOUSE) up

down: ## stop the local stack started by `make up`
	@if [ -x $(LAKEHOUSE) ]; then $(LAKEHOUSE) down; fi

status: setup ## is the local stack running?
	$(LAKEHOUSE) status

demo: check-stack setup ## the whole pipeline on 10,000 events, then a summary
	$(LAKEHOUSE) demo

test: setup ## the whole test suite: unit, integration, e2e
	$(PY) -m pytest

test-unit: setup ## unit tests only (no JVM, no broker)
	$(PY) -m pytest tests/unit

lint: setup ## ruff
	$(VENV)/bin/ruff check .

clean: down ## remove local state (.lakehouse), keep installs
	rm -rf .lakehouse dbt_project/target dbt_project/logs
