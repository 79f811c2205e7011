# The README's two commands: `make demo` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# What the container tests need (Debian packages): an engine and its runtime, a registry with
# htpasswd sign-in, and what the test images are made of. Installed when one is missing.
CONTAINER_TOOLS := podman runc docker-registry apache2-utils busybox-static python3-minimal
CONTAINER_COMMANDS := podman runc docker-registry htpasswd busybox /usr/bin/python3
# Open MPI for the multi-instance tests (specs/mpi.yaml builds its C ping-pong with mpicc).
CONTAINER_TOOLS += openmpi-bin libopenmpi-dev gcc
CONTAINER_COMMANDS += mpirun mpicc gcc

.PHONY: install demo test lint typecheck unit bench clean schema diagrams container-tools

$(STAMP): pyproject.toml constraints.txt package.json package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/node_modules/.bin:$$PATH" $(BIN)/batchspec apply specs/topn.yaml --yes
	@for f in specs/out/topn/*; do echo "== $$f"; cat "$$f"; done

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

container-tools:
	@missing=; for c in $(CONTAINER_COMMANDS); do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
		echo "container tests need:$$missing; installing $(CONTAINER_TOOLS)"; \
		if [ "$$(id -u)" != 0 ]; then echo "run as root, or: sudo apt-get install -y $(CONTAINER_TOOLS)"; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CONTAINER_TOOLS); \
	fi

unit: $(STAMP) container-tools
	PATH="$(CURDIR)/node_modules/.bin:$$PATH" $(BIN)/pytest

test: lint typecheck unit

bench: $(STAMP)
	PATH="$(CURDIR)/node_modules/.bin:$$PATH" $(BIN)/python bench/run_all.py

# After editing a description in the schema (Markdown is fine): the plain `description`,
# the `markdownDescription` editors render, and docs/spec-reference.md are regenerated.
schema: $(STAMP)
	$(BIN)/python -m batchspec.spec.schema_text schemas/batchspec.schema.json
	$(BIN)/python -m batchspec.spec.reference > docs/spec-reference.md

# docs/apply-steps.svg, drawn by a Python script (no drawing tool needed).
diagrams: $(STAMP)
	$(BIN)/python docs/diagrams/apply_steps.py docs/apply-steps.svg

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
