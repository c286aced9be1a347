# kubectl-datadog. `make test` is what CI runs (.ci/run); `make unit` is the fast loop.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: install release lint unit e2e-binaries e2e test binary dist demo demo-stop bench clean mutation

# The development virtualenv: the plugin (editable), the test tools, build and PyInstaller.
$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,build]'
	touch $@

install: $(VENV)/.installed

# What users install, installed as users do (scripts/build-release): dist/*.tar.gz and dist/*.whl
# (PEP 517, the wheel built from the sdist), build/venvs/wheel (`pip install <wheel>`),
# build/venvs/lowest (`pip install .` with every dependency at its lowest allowed version) and
# build/venvs/pyinstaller (the wheel + PyInstaller, where the onefile is built).
RELEASE_VENVS := $(CURDIR)/build/venvs
release: install
	$(PY) scripts/build-release

# Lint and types, the first step of `make test`: ruff's bug-finding rule sets over the package, the
# tests and the Python scripts; mypy --strict on diagnose/, snapshots/, model.py and output/
# (pyproject.toml says which).
PY_SCRIPTS := $(shell grep -l '^\#!.*python' scripts/*)
lint: install
	$(PY) -m ruff check kubectl_datadog tests $(PY_SCRIPTS)
	$(PY) -m mypy

# Fast tests on fakes: no cluster, no binaries.
unit: install
	$(PY) -m pytest -q -m "not e2e and not krew and not release" tests

# kube-apiserver, kube-controller-manager, etcd, kwok and krew, built from Go modules into
# ~/.cache/kubectl-datadog/e2e; seconds once built. The first build:
# 10 min 33 s measured with empty Go module and build caches on 2 cores, Debian 12, Go 1.26.8, while other work ran.
e2e-binaries:
	scripts/e2e-build-binaries all >/dev/null

e2e: install e2e-binaries
	$(PY) -m pytest -q -m "e2e or krew" tests

# Everything, on what ships: the release (sdist, wheel, the wheel installed in fresh virtualenvs,
# the onefile built from it) first, then the unit tests, the real-cluster suite through the installed
# wheel's console script (and every command through the lowest-versions install and the onefile),
# the release checks (tests/release) and the krew checks.
test: lint e2e-binaries dist
	KUBECTL_DATADOG_E2E_REQUIRED=1 KUBECTL_DATADOG_RELEASE_REQUIRED=1 \
	KUBECTL_DATADOG_UNDER_TEST=$(RELEASE_VENVS)/wheel/bin \
	KUBECTL_DATADOG_UNDER_TEST_LOWEST=$(RELEASE_VENVS)/lowest/bin \
	$(PY) -m pytest -q tests

# Mutation testing with mutmut (pyproject.toml [tool.mutmut]); slow, so not in `make test`.
# docs/mutation-testing.md explains the results. MUTMUT_CHILDREN=1 leaves a core for other work.
MUTMUT_CHILDREN ?= 2
mutation: install
	$(PY) -m pip install -q mutmut==3.8.1
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children $(MUTMUT_CHILDREN) >/dev/null 2>&1 || true
	$(VENV)/bin/mutmut results | $(PY) scripts/mutation-summary

clean:
	rm -rf build dist *.egg-info mutants

# --- distribution (issue 8) --------------------------------------------------------------------
.PHONY: bench-startup

# One PyInstaller single-file executable, dist/kubectl-datadog, built from the released wheel
# (build/venvs/pyinstaller), smoke-tested with `env -i`.
binary: release
	$(PY) scripts/build-binary

# The archive for this machine (dist/kubectl-datadog_<version>_<os>_<arch>.tar.gz + .sha256) and
# dist/plugin.yaml, the krew manifest for whatever archives dist/ holds.
dist: release
	$(PY) scripts/build-binary --package
	$(PY) scripts/render-manifest

# Start-up time of the binary beside a bare PyInstaller onefile and a minimal client (needs the
# harness binaries for the cluster). Prints a table; asserts nothing.
bench-startup: release e2e-binaries
	$(PY) scripts/bench-startup

# The main job with no cluster of your own: a harness cluster seeded with a healthy Helm install,
# the seed's nginxext HPA and a broken one. It stays healthy while it runs (the harness renews the
# DCA's lock and metrics as a running DCA would). Ends by printing how to get kubectl and
# `kubectl datadog` on PATH with the demo's KUBECONFIG: one `source` line, or `make demo-shell`.
DEMO_DIR ?= $(HOME)/.cache/kubectl-datadog/demo
DEMO_ENV = $(abspath $(DEMO_DIR)).env
demo: install e2e-binaries
	@mkdir -p $(dir $(DEMO_ENV))
	@scripts/e2e-cluster up --dir $(DEMO_DIR) --scenario demo > $(DEMO_ENV)
	@. $(DEMO_ENV) && echo '$$ kubectl datadog hpa-explain nginxext' && kubectl datadog hpa-explain nginxext; true
	@echo; echo "The demo cluster runs. To use kubectl and kubectl datadog on it from your shell, run:"; \
	 echo; echo "    source $(DEMO_ENV)"; echo; \
	 echo "(or start a shell set up that way with: make demo-shell). Then try: kubectl datadog leader"; \
	 echo "Stop the demo with: make demo-stop"

.PHONY: demo-shell
# A new interactive bash with kubectl, `kubectl datadog` and the demo's KUBECONFIG (exit to leave).
demo-shell:
	@scripts/e2e-cluster env --dir $(DEMO_DIR) > $(DEMO_ENV) || { echo "no demo is running: make demo" >&2; exit 1; }
	@printf '%s\n' '[ -f ~/.bashrc ] && . ~/.bashrc' '. $(DEMO_ENV)' 'PS1="(kubectl-datadog demo) $${PS1-$$ }"' \
	    > $(abspath $(DEMO_DIR)).bashrc
	@echo "kubectl and kubectl datadog now use the demo cluster; exit to leave." >&2
	@$(SHELL) --rcfile $(abspath $(DEMO_DIR)).bashrc -i

demo-stop:
	scripts/e2e-cluster down --dir $(DEMO_DIR)

# --- scale benchmark (issue 9) -----------------------------------------------------------------
# Builds a large cluster on the harness (5,000 nodes, 100,000 endpoints, 500 Agents by default) and
# prints median wall time and peak RSS of each command beside its kubectl baselines. Sizes and
# parts: make bench BENCH_ARGS="--nodes 1000 --endpoints 20000 --services 200 --agents 100 --runs 3"
BENCH_ARGS ?=
bench: install e2e-binaries
	$(PY) scripts/bench-scale $(BENCH_ARGS)

# --- remote-cluster benchmark (issue 18) -------------------------------------------------------
# The commands and the seed's kubectl steps through scripts/latency-proxy at RTT 0/20/50/100 ms, on
# the harness (the onefile from `make dist`, built first if missing): wall times, ratio, TCP
# connections and TLS handshakes each side opened. Prints a table; asserts nothing.
# e.g. make bench-remote BENCH_REMOTE_ARGS="--rtt 50 --only leader,hpa-explain --runs 3"
.PHONY: bench-remote
BENCH_REMOTE_ARGS ?=
bench-remote: install e2e-binaries
	@test -x dist/kubectl-datadog || $(MAKE) dist
	$(PY) scripts/bench-remote $(BENCH_REMOTE_ARGS)
