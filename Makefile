# The course pack's two commands:
#   make lab    open the notebooks in JupyterLab (creates .venv on first use)
#   make test   run the unit tests and strict nbval over every notebook
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test venv clean-venv
venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed; run make PYTHON=python3.X")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e .
	touch $(STAMP)

# JupyterLab refuses to run as root unless told; learners' machines never need this.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) $(LAB_ARGS) notebooks/

# CI=true: notebooks run their quick version, the one whose outputs are stored;
# AE_DEVICE=cpu: the stored outputs are the CPU's, also on a machine with a GPU.
test: $(STAMP)
	CI=$${CI:-true} AE_DEVICE=$${AE_DEVICE:-cpu} $(BIN)/python -m pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
