# Every target installs into a local virtual environment (.venv) first.
# PyTorch is installed before anything else so that pip picks the wheel named
# by TORCH_SPEC instead of resolving torch as a dependency (which may pull a
# multi-GB CUDA build). Override it for your platform, for example
#   make setup TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.gptviz-installed
LAB_PORT ?= 8888
# Extra options for jupyter lab, for example LAB_ARGS=--allow-root when running as root
LAB_ARGS ?=

.PHONY: setup test test-fast lab bench test-install clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "$(TORCH_SPEC)"
	$(PIP) install --quiet -e ".[notebook,dev]"
	touch $(STAMP)

# nbval executes every notebook in the kernel of this environment and compares the
# outputs that the sanitize file leaves stable.
NOTEBOOKS := $(wildcard notebooks/*.ipynb)
NBVAL_ARGS := $(if $(NOTEBOOKS),$(NOTEBOOKS) --nbval --nbval-current-env --nbval-cell-timeout=300 --nbval-sanitize-with notebooks/sanitize.cfg --ignore-glob=tests/*.ipynb,)

# The whole suite: unit tests, notebooks (nbval) and the real-browser test.
test: setup
	$(PY) -m pytest tests $(NBVAL_ARGS)

# Unit tests only (seconds to a minute).
test-fast: setup
	$(PY) -m pytest tests -m "not slow and not browser"

lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --port=$(LAB_PORT) $(LAB_ARGS)

# Side-by-side benchmarks against Hugging Face transformers and TransformerLens; the
# peers install into benchmarks/.peers, outside the main environment.
bench: setup
	bash benchmarks/setup.sh $(PY)
	$(PY) benchmarks/run_all.py

# A fresh environment built from binder/ alone runs every notebook; then a fresh clone
# runs the README's commands.
test-install:
	bash tests/install/test_install.sh

clean:
	rm -rf $(VENV) build *.egg-info
