# The course pack's two commands:
#   make lab    open the notebooks in JupyterLab (creates .venv on first use)
#   make test   run the unit tests and strict nbval over every notebook
# and, for maintainers:
#   make notebooks   re-run every notebook in place (the quick run, on the CPU) to store its outputs
#   make lock        re-resolve requirements-lock.txt from pyproject.toml's ranges (newest releases)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements-lock.txt
UV     := $(BIN)/uv
# uv installs the locked environment in seconds; it lives in .venv, bootstrapped by the venv's own pip.
UV_VERSION := 0.13.9
UV_STAMP   := $(VENV)/.uv-$(UV_VERSION)

.PHONY: lab test lint format notebooks lock venv clean-venv
venv: $(STAMP)

$(UV_STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed; run make PYTHON=python3.X")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	touch $(UV_STAMP)

# The exact versions of the lock (what the stored outputs were checked with), then the course package itself.
# (`uv pip install`, not `sync`: sync would remove pip and uv themselves, which the lock does not list.)
# --compile-bytecode: the installed packages' modules compiled once, here. Without it each new Python (every
# notebook's kernel) compiles torch's modules again wherever bytecode is not written (PYTHONDONTWRITEBYTECODE, a
# read-only install): notebook 02's strict nbval took 39.3 s against 31.9 s with it.
$(STAMP): pyproject.toml $(LOCK) $(UV_STAMP)
	$(UV) pip install --compile-bytecode --python $(BIN)/python -r $(LOCK)
	$(UV) pip install --compile-bytecode --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

# JupyterLab refuses to run as root unless told; learners' machines never need this.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) $(LAB_ARGS) notebooks/

# CI=true: notebooks run their quick version, the one whose outputs are stored;
# AE_DEVICE=cpu: the stored outputs are the CPU's, also on a machine with a GPU.
# NUMERICS: the suite runs with torch's portable CPU kernels (README, "Numbers across machines"), not
# the vector kernels `make notebooks` used to store the outputs: a stored number that only this machine's
# rounding reproduces fails here, on the machine that wrote it. `make test NUMERICS=` runs without. (The browser
# test's and the full runs' kernels, whose outputs are not compared, drop ATEN_CPU_CAPABILITY: notebook 06 ran 1.27x as fast so.)
NUMERICS ?= ATEN_CPU_CAPABILITY=default
# -n 2: two workers, the browser test (and the full runs of notebooks 04 to 06) on one, the notebooks (each one's
# cells together and in order in one kernel), the other full runs and the unit tests on the other
# (conftest.py's scheduler splits them so, by measured durations).
# THREADS=1: one thread per kernel and worker, whatever OMP_NUM_THREADS the shell has. The course's tensors
# are too small to gain from more, and two workers with two threads each on two cores spin against each
# other: the suite took 1,186 s instead of 229 s so. `make test THREADS=2` runs with two.
THREADS ?= 1
test: $(STAMP) lint
	CI=$${CI:-true} AE_DEVICE=$${AE_DEVICE:-cpu} OMP_NUM_THREADS=$(THREADS) $(NUMERICS) \
		$(BIN)/python -m pytest -n 2 \
		--nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg $(PYTEST_ARGS)

# ruff: lint rules and formatting (pyproject.toml [tool.ruff]); `make format` applies the formatting.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Stops at the first cell that raises, except those tagged raises-exception, which keep their error.
NOTEBOOK_FILES ?= $(wildcard notebooks/[0-9]*.ipynb)
notebooks: $(STAMP)
	cd notebooks && for nb in $(notdir $(NOTEBOOK_FILES)); do \
		CI=true AE_DEVICE=cpu ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace "$$nb" || exit 1; \
	done

lock: $(UV_STAMP)
	$(UV) pip compile pyproject.toml --extra test --universal --python-version 3.10 --upgrade \
		--custom-compile-command "make lock" -o $(LOCK)

clean-venv:
	rm -rf $(VENV)
