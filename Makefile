# `make run`: kiln's main job. `make test`: the whole test suite. Both install what they need.
PYTHON ?= python3

.PHONY: setup run test test-cpp test-py bench clean

setup:
	PYTHON=$(PYTHON) bash scripts/setup.sh

run: setup
	$(PYTHON) examples/fit_regression.py

test: setup test-cpp test-py

test-cpp:
	./build/py/kiln_tests

test-py:
	$(PYTHON) -m pytest -q python/tests

bench: setup
	$(PYTHON) benchmarks/bench_core.py

clean:
	rm -rf build
