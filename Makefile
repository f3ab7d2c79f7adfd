# Two commands a newcomer needs (see README):
#   make demo   set up .venv and run the offline demo
#   make test   set up .venv (with the test extras) and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CORE   := $(VENV)/.partlift-core
FULL   := $(VENV)/.partlift-test

.PHONY: setup setup-test demo test lint speed clean

setup: $(CORE)
setup-test: $(FULL)

# torch is installed first, pinned to the CPU wheel, so that nothing later resolves a CUDA build.
$(CORE): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e .
	touch $(CORE)

# The test extras: Hugging Face teachers (tiny offline models), Ray (local mode), pytest, ruff.
$(FULL): $(CORE)
	$(BIN)/pip install --quiet -e ".[hf,ray,dev]"
	touch $(FULL)

demo: setup
	$(BIN)/partlift demo --out out/demo

# PASSIVE: idle OpenMP threads sleep instead of spinning (a 2-core machine runs 5x faster).
test: setup-test
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m pytest -q

lint: setup-test
	$(BIN)/ruff check src tests benchmarks

speed: setup
	$(BIN)/partlift speed all

clean:
	rm -rf $(VENV) out .pytest_cache
