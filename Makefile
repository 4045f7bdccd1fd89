# regstream: `make dev` runs the whole system on this machine, `make test` runs the test suite.
# Both set themselves up: virtualenv, Python dependencies, Kafka jars, Debian test packages.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
PYTEST := $(BIN)/pytest -p no:cacheprovider

.DEFAULT_GOAL := help
.PHONY: help venv kafka test-packages dev test test-unit test-integration chaos test-deploy images \
        lint typecheck \
        bench bench-produce bench-pipeline bench-replay bench-gateway clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP) ## Create the virtualenv and install regstream with its dev dependencies

kafka: venv ## Fetch the Apache Kafka broker jars from Maven Central (once, cached)
	@$(BIN)/python -c "from streams.broker.jars import ensure_classpath as c; print('kafka classpath:', c())"

test-packages: ## Install the Debian packages the tests drive (kcat, chromium); needs root
	@bash deploy/local/install-test-packages.sh

dev: kafka ## Run the whole system here: broker, topics, worker, gateway, demo producers
	$(BIN)/regstream dev

test: kafka test-packages ## Run unit, integration and browser tests against a real Kafka broker
	$(PYTEST) -q -m "not chaos and not deploy" tests || [ $$? -eq 5 ]

test-unit: venv ## Unit tests only (no broker)
	$(PYTEST) -q tests/unit || [ $$? -eq 5 ]

test-integration: kafka test-packages ## Integration tests only
	$(PYTEST) -q tests/integration || [ $$? -eq 5 ]

chaos: kafka test-packages ## Long fault-injection runs on a 3-node cluster; prints the delivery checker's table
	$(PYTEST) -q -rP -m chaos tests || [ $$? -eq 5 ]

images: kafka ## Build the container images with podman (installed and configured first; needs root)
	@bash deploy/images/setup-podman.sh
	PYTHON=$(BIN)/python bash deploy/images/build.sh

test-deploy: images ## The compose cluster from those images, a gateway and a broker killed, nothing lost
	$(PYTEST) -q -s -m deploy tests/deploy

lint: venv ## ruff (lint + format check)
	$(BIN)/ruff check schemas streams gateway tests
	$(BIN)/ruff format --check schemas streams gateway tests

typecheck: venv ## mypy
	$(BIN)/mypy

bench: bench-produce bench-pipeline bench-replay bench-gateway ## Every benchmark; results go to docs/benchmarks.md

bench-produce: kafka ## Producer SDK events/s against raw aiokafka, same run
	$(BIN)/python -m tests.bench.produce

bench-pipeline: kafka ## Worker events/s against a raw consume-produce copy, and added latency
	$(BIN)/python -m tests.bench.pipeline

bench-replay: kafka ## Replay export events/s against raw aiokafka and kcat, same run
	$(BIN)/python -m tests.bench.replay

bench-gateway: kafka ## Gateway: one client vs raw consumer, fan-out, idle RSS, resume latency and storm
	$(BIN)/python -m tests.bench.gateway

clean: ## Stop the dev broker and remove local state
	-$(BIN)/regstream broker stop
	rm -rf .regstream
