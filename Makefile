# hotmig — the two commands a newcomer runs: `make demo` and `make test`.
# Everything they need is installed here (Debian/Ubuntu packages too, when run as root).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Packages the Python side needs to build libvirt-python and to run the suite; the lab installs its own.
APT_PACKAGES := python3-venv python3-dev gcc pkg-config libvirt-dev
PYTEST_ARGS ?=

.PHONY: demo test lint bench system-deps lab-up lab-down clean

demo: $(VENV)/.base
	$(BIN)/hotmig demo

test: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true
	$(BIN)/lint-imports

bench: $(VENV)/.test
	$(BIN)/python -m pytest tests/bench -p no:cacheprovider $(PYTEST_ARGS)

# As root on Debian/Ubuntu: install missing system packages. Otherwise say what is missing and go on.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	else \
	  echo "note: not root (or no apt-get): not installing$$missing; libvirt-python and the lab need them"; \
	fi

$(VENV)/.created:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "hotmig needs Python 3.11 or newer ($(PYTHON) is older): set PYTHON=python3.11"; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { $(MAKE) --no-print-directory system-deps && $(PYTHON) -m venv $(VENV); }
	touch $@

$(VENV)/.base: $(VENV)/.created pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

# libvirt-python compiles against libvirt-dev: installed when the system has it (always, as root).
$(VENV)/.test: $(VENV)/.created pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	@if pkg-config --exists libvirt 2>/dev/null; then extras="dev,libvirt"; else \
	  extras="dev"; echo "note: libvirt-dev missing: libvirt-python not installed, libvirt tests will skip"; fi; \
	$(BIN)/pip install -q -e ".[$$extras]"
	touch $(VENV)/.base $@

lab-up: $(VENV)/.test
	$(BIN)/hotmig lab up

lab-down: $(VENV)/.base
	$(BIN)/hotmig lab down

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
