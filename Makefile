# The purchases lakehouse. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
LAKEHOUSE := $(VENV)/bin/lakehouse
STACK ?= local
export STACK
# STACK=docker runs everything in containers (docker-compose.yml): the host needs a Docker engine
# and Compose, and neither the venv nor the jars.
STACK_SETUP := $(if $(filter docker,$(STACK)),,setup)
# Compose v2 (the plugin) where it is installed, else the standalone docker-compose (Debian
# bookworm ships 1.29); both read docker-compose.yml.
COMPOSE = $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
# Containers, volumes and the network are named after the project, not the checkout's folder
# (Compose 1.29 reads no `name:` in the file); the tests run theirs under another name.
COMPOSE_PROJECT_NAME ?= purchases-lakehouse
export COMPOSE_PROJECT_NAME
# The Debian base every image builds on: the one `make docker-base` built from Debian's packages
# when this engine has it, else the public image (pulled from a registry).
DOCKER_BASE_LOCAL := purchases-lakehouse/debian:bookworm
DOCKER_BASE ?= $(shell docker image inspect $(DOCKER_BASE_LOCAL) >/dev/null 2>&1 && echo $(DOCKER_BASE_LOCAL) || echo debian:bookworm-slim)
# The images `make up STACK=docker` and `make demo STACK=docker` build (cached layers make a
# second build quick); the job image also runs the Spark cluster and the dashboard.
DOCKER_IMAGES := kafka postgres demo airflow

.DEFAULT_GOAL := help
.PHONY: help check-stack docker-base docker-images setup up live airflow dashboard down status demo bench produce bronze silver dbt ml ml-report test test-unit lint query clean

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

# Static-check tools (checkov) in their own venv: their pins conflict with the project's lock.
TOOLS_VENV := .venv-tools
$(TOOLS_VENV)/.installed: requirements-tools.lock $(VENV)/.installed
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(VENV)/bin/uv pip sync --quiet -p $(TOOLS_VENV)/bin/python requirements-tools.lock
	touch $@

# Apache Airflow in its own venv: its pins are its own (requirements-airflow.in says how the lock
# is compiled); the DAGs' tasks run the project's commands from .venv.
AIRFLOW_VENV := .venv-airflow
$(AIRFLOW_VENV)/.installed: requirements-airflow.lock $(VENV)/.installed
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(VENV)/bin/uv pip sync --quiet -p $(AIRFLOW_VENV)/bin/python requirements-airflow.lock
	touch $@

# The classes Spark's driver JVM maps at start instead of loading them (ops/class_archive.py):
# built again when the jars or the Python packages change.
.jars/spark-classes.jsa: .jars/.resolved $(VENV)/.installed ops/class_archive.py
	$(PY) -m ops.class_archive

setup: $(VENV)/.installed .jars/.resolved .jars/spark-classes.jsa $(AIRFLOW_VENV)/.installed ## install Python packages (.venv, Airflow's .venv-airflow), the pinned JVM jars (.jars) and Spark's class archive

check-stack:
	@case "$(STACK)" in \
	  local) ;; \
	  docker) docker info >/dev/null 2>&1 || { echo "STACK=docker: no Docker engine answers (\`docker info\` fails); start one, or use STACK=local" >&2; exit 1; }; \
	    $(COMPOSE) version >/dev/null 2>&1 || { echo "STACK=docker: no Docker Compose (neither \`docker compose\` nor \`docker-compose\`); install one, or use STACK=local" >&2; exit 1; } ;; \
	  *) echo "STACK=$(STACK): unknown stack; use STACK=local (the default) or STACK=docker" >&2; exit 1 ;; \
	esac

docker-base: ## build the Debian base image from Debian's packages, for engines that reach no image registry (root, debootstrap)
	bash docker/base.sh $(DOCKER_BASE_LOCAL)

docker-images: check-stack ## build every image of docker-compose.yml on DOCKER_BASE (STACK=docker builds them itself)
	@echo "building on $(DOCKER_BASE)"
	DOCKER_BASE=$(DOCKER_BASE) $(COMPOSE) --profile jobs build $(DOCKER_IMAGES)

up: check-stack $(STACK_SETUP) ## start the stack (Kafka on 127.0.0.1:9092; STACK=docker: compose services); idempotent
ifeq ($(STACK),docker)
	$(MAKE) --no-print-directory docker-images
	$(COMPOSE) up -d
	bash docker/wait-healthy.sh $(COMPOSE)
else
	$(LAKEHOUSE) up
endif

live: setup ## live mode: the broker, a producer at LAKEHOUSE_LIVE_RATE/s, bronze and silver streams, supervised until `make down`
	$(LAKEHOUSE) live up

airflow: setup ## start Apache Airflow on 127.0.0.1:8080 (api-server, scheduler, dag-processor, triggerer); idempotent
	$(LAKEHOUSE) airflow up

dashboard: setup ## the dashboard on 127.0.0.1:8501 (sales, products, anomalies, pipeline health); idempotent
	$(LAKEHOUSE) dashboard up

down: $(if $(filter docker,$(STACK)),check-stack) ## stop what `make up`, `make live`, `make airflow` and `make dashboard` started (STACK=docker keeps the volumes)
ifeq ($(STACK),docker)
	$(COMPOSE) down
else
	@if [ -x $(LAKEHOUSE) ]; then $(LAKEHOUSE) down; fi
endif

status: $(if $(filter docker,$(STACK)),check-stack,setup) ## is the stack running?
ifeq ($(STACK),docker)
	$(COMPOSE) ps
else
	$(LAKEHOUSE) status
endif

demo: check-stack $(STACK_SETUP) ## the whole pipeline on 10,000 events per stream, then a summary (STACK=docker: in a container, Spark jobs on the compose cluster)
ifeq ($(STACK),docker)
	$(MAKE) --no-print-directory docker-images DOCKER_IMAGES="kafka postgres demo"
	$(COMPOSE) run --rm demo
else
	$(LAKEHOUSE) demo
endif

# make bench SIZE=small: the quick check (producer, drains, freshness; under 2 min); SIZE=full: every stage, docs/benchmarks.md.
SIZE ?= full
bench: setup ## measure throughput, freshness, build times and memory beside baselines (SIZE=small|full)
	$(PY) -m bench --size $(SIZE)

test: setup $(TOOLS_VENV)/.installed ## the whole test suite: unit, integration, e2e
	$(PY) -m pytest

test-unit: setup $(TOOLS_VENV)/.installed ## unit tests only (no JVM, no broker)
	$(PY) -m pytest tests/unit

lint: setup ## ruff, the floors' import contract (lint-imports), sqlfluff on the dbt models, analyses and tests
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	cd dbt_project && ../$(VENV)/bin/sqlfluff lint models analyses tests/*.sql

query: setup ## run an analysis locally and print it: make query Q=revenue_by_category (no Q: all)
	$(LAKEHOUSE) query $(or $(Q),--all)

ml-report: $(VENV)/.installed ## grade the anomaly detector: metrics JSON and PNG plots (lakehouse ml-report --help)
	$(LAKEHOUSE) ml-report

clean: down ## remove local state (.lakehouse; STACK=docker: the compose volumes), keep installs
	rm -rf .lakehouse dbt_project/target dbt_project/logs
ifeq ($(STACK),docker)
	$(COMPOSE) down --volumes
endif
