# The two commands of the README, each doing all of its own set-up.
#   make spike   the main job: pytest spikes/ on the default provider
#   make test    the harness's own tests (unit and real integration)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
export VAGRANT_CHECKPOINT_DISABLE := 1

.PHONY: spike spike-platforms test test-libvirt scale unit lint bench bench-methods bench-salt bench-spike down host

spike: host $(VENV)/.installed
	$(BIN)/pytest spikes/ $(PYTEST_ARGS)

# Every scenario x method on each node OS release the docker provider builds here (CI runs it).
spike-platforms: host $(VENV)/.installed
	$(BIN)/pytest spikes/ --platform debian-12 --platform debian-13 $(PYTEST_ARGS)

# The unit tests on both cores (no cluster: they share nothing); the integration tests two modules at a time
# (each module's clusters are its own, named and networked apart), then the one that takes every cluster down;
# each run ends naming its slowest tests.
test: host $(VENV)/.installed
	$(BIN)/pytest tests/unit -n 2 $(PYTEST_ARGS)
	$(BIN)/pytest tests/integration -n 2 -m "not libvirt and not alone" --durations=15 $(PYTEST_ARGS)
	$(BIN)/pytest tests/integration -m "alone and not libvirt" --durations=5 $(PYTEST_ARGS)

# The libvirt provider on real VMs, with orka's offline box (slow where the CPU is emulated).
test-libvirt: host $(VENV)/.installed
	@scripts/setup-libvirt.sh
	$(BIN)/pytest tests/integration/test_libvirt.py $(PYTEST_ARGS)

# The spikes at larger sizes, one run each, to reports/scale/<size>.json: the
# comparison report plots them beside its own run. Prints each method's phase
# times against size, then makes the page again from reports/results.json.
SCALE_SIZES ?= 3 10 25
scale: host $(VENV)/.installed
	@for n in $(SCALE_SIZES); do \
	  echo "[orka] scale: pytest spikes/ on $$n nodes"; \
	  $(BIN)/pytest spikes/ --settings settings/scale.yaml --cluster-size $$n \
	    --results reports/scale/$$n.json --cluster-name orka-scale $(PYTEST_ARGS) || exit 1; \
	done
	@$(BIN)/python -m orka.report.scale
	@if [ -f reports/results.json ]; then $(BIN)/orka report; fi

unit: $(VENV)/.installed
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

lint: host $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	shellcheck -x -P SCRIPTDIR:. vagrant/provision/*.sh orka/methods/*/scripts/*.sh vagrant/image/*.sh vagrant/box/*.sh scripts/*.sh

bench: host $(VENV)/.installed
	$(BIN)/python benchmarks/bench_cluster.py

# Custom runner vs Ansible vs pyinfra on one cluster (figures to reports/bench_methods.json).
bench-methods: host $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/bench_methods.py $(BENCH_ARGS)

# Salt at scale: a master and SALT_NODES minions, test.ping and two highstates (figures to reports/bench_salt.json).
SALT_NODES ?= 50
bench-salt: host $(VENV)/.installed
	$(BIN)/python benchmarks/bench_salt.py --nodes $(SALT_NODES) $(BENCH_ARGS)

# Where a spike run's time goes (tools against harness, by part), -n 3, and Molecule on the same four tasks.
bench-spike: host $(VENV)/.installed
	$(BIN)/python benchmarks/bench_spike.py $(BENCH_ARGS)

down: $(VENV)/.installed
	$(BIN)/orka down --all

host:
	@scripts/setup-host.sh

# Reinstalled only when the project's dependencies change.
$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "[orka] installing orka and its dependencies into $(VENV)"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@
