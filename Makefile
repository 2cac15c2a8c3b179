# The two commands of the README:
#   make demo   set everything up and run the main job
#   make test   set everything up and run the test suite
VENV ?= .venv
BIN := $(VENV)/bin
NP ?= 2
PYTEST_ARGS ?=

.PHONY: setup demo test doctor clean-cache

setup:
	SIMKIT_VENV="$(abspath $(VENV))" scripts/setup-env

demo: setup
	scripts/main-job

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

doctor: setup
	$(BIN)/simkit doctor
