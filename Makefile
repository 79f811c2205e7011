# The README's two commands: `make demo` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck unit bench clean schema diagrams

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

unit: $(STAMP)
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
