# Two commands a newcomer needs (see README):
#   make demo   set up .venv and run the offline demo
#   make test   set up .venv and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.partlift-installed

.PHONY: setup demo test lint speed clean

setup: $(STAMP)

# torch is installed first, pinned to the CPU wheel, so that nothing later resolves a CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[hf,dev]"
	touch $(STAMP)

demo: setup
	$(BIN)/partlift demo --out out/demo

# PASSIVE: idle OpenMP threads sleep instead of spinning (2-core machines, see render notes).
test: setup
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check src tests benchmarks

speed: setup
	$(BIN)/partlift speed all

clean:
	rm -rf $(VENV) out .pytest_cache
