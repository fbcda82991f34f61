# IronArchive schema: migrations applied by the pinned golang-migrate, and the gate that
# proves them. `make help` lists the targets; README.md explains them.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SCHEMA := $(PY) -m ironarchive_schema
INSTALLED := $(VENV)/.installed

# Every target, and the whole schema suite, works on this folder.
MIGRATIONS_DIR ?= ./migrations
export MIGRATIONS_DIR
# DATABASE_URL comes from the environment or .env; unset, the migrate-* targets use the
# local development database (.devdb/). Exported empty is the same as unset.
export DATABASE_URL
# pytest-xdist workers for the schema suite; 0 runs in one process.
WORKERS ?= auto
PYTEST_ARGS ?=

ifeq ($(strip $(DATABASE_URL)$(shell sed -n 's/^\(export \)\{0,1\}DATABASE_URL=//p' .env 2>/dev/null)),)
DEV_DB := postgres
endif

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  \1\t/' | expand -t 20

$(INSTALLED): pyproject.toml constraints.txt scripts/bootstrap-venv
	scripts/bootstrap-venv "$(PYTHON)" "$(VENV)"

.PHONY: venv
venv: $(INSTALLED) ## create .venv with the pinned Python packages

.PHONY: postgres
postgres: $(INSTALLED) ## make sure PostgreSQL server binaries are here (installs Debian's if it can)
	@scripts/ensure-postgres "$(PY)"

# The pinned golang-migrate, built on first use (tools/migrate/go.mod names the version).
MIGRATE_VERSION := $(shell sed -n 's|^.*golang-migrate/migrate/v4 \(v[0-9.]*\).*$$|\1|p' tools/migrate/go.mod)
MIGRATE_PINNED := .tools/bin/migrate-$(MIGRATE_VERSION)

$(MIGRATE_PINNED): tools/migrate/go.mod tools/migrate/go.sum | $(INSTALLED)
	@$(SCHEMA) migrate-bin

.PHONY: migrate-bin
migrate-bin: $(MIGRATE_PINNED) ## build the pinned golang-migrate into .tools/bin (first use only)

.PHONY: migrate-up
migrate-up: $(MIGRATE_PINNED) $(DEV_DB) ## apply every pending migration
	@$(SCHEMA) up

.PHONY: migrate-down
migrate-down: $(MIGRATE_PINNED) $(DEV_DB) ## revert N migrations (default 1; N=all for all); CONFIRM=1 for a remote database
	@CONFIRM="$(CONFIRM)" $(SCHEMA) down "$(or $(N),1)"

.PHONY: migrate-status
migrate-status: $(MIGRATE_PINNED) $(DEV_DB) ## current version, and whether it is dirty
	@$(SCHEMA) status

.PHONY: migrate-force
migrate-force: $(MIGRATE_PINNED) $(DEV_DB) ## set VERSION=N without migrating, after fixing a dirty database
	@$(if $(VERSION),,$(error VERSION is required, e.g. make migrate-force VERSION=1))
	@$(SCHEMA) force "$(VERSION)"

.PHONY: migrate-create
migrate-create: $(MIGRATE_PINNED) ## new migration pair NAME=snake_case_name with the next six-digit version
	@$(if $(NAME),,$(error NAME is required, e.g. make migrate-create NAME=add_mailbox_quota))
	@$(SCHEMA) create "$(NAME)"

.PHONY: db-start
db-start: postgres ## start the local development database and print its URL
	@$(SCHEMA) db start

.PHONY: db-stop
db-stop: $(INSTALLED) ## stop the local development database (its data stays in .devdb/)
	@$(SCHEMA) db stop

.PHONY: test-schema
test-schema: postgres $(MIGRATE_PINNED) ## the schema suite (contract, behaviour, toolchain) on MIGRATIONS_DIR
	$(PY) -m pytest -n $(WORKERS) $(PYTEST_ARGS)

.PHONY: lint-sql
lint-sql: $(INSTALLED) ## SQL lint and migration-directory integrity (not yet: see README)
	@echo "lint-sql: not yet implemented (the lint issue adds sqlfluff, squawk and the lock file)"

.PHONY: test
test: lint-sql test-schema ## the whole gate: lint, then the schema suite

.PHONY: tox
tox: $(INSTALLED) ## the same gate through tox environments
	$(VENV)/bin/tox

.PHONY: clean
clean: ## remove the virtual environment and built tools (not .devdb/)
	rm -rf $(VENV) .tools .tox
