# pcloud: the two README commands are `make demo` and `make test`; both install what they need.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COLLECTION := collections/ansible_collections/pcloud/infra
CONFIG ?= config
# ansible-test keeps its venvs and caches under $HOME; give it one inside the repo.
TEST_HOME := $(CURDIR)/.ansible/test-home
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export NO_PROXY := 127.0.0.1,localhost
export no_proxy := 127.0.0.1,localhost

MOLECULE_CLOUD := $(CURDIR)/.molecule/cloud

.PHONY: help install lint unit sanity molecule test bench demo clean

help:
	@echo "make demo   - install, start the local cloud and its mail catcher, orchestrate the example fleet, deploy"
	@echo "              hostomatic to uat and prod; ends once every droplet is healthy, the URLs answer, the heartbeat mail is in"
	@echo "make test   - install, lint, unit/CLI/local-cloud tests, ansible-test sanity, molecule scenarios"
	@echo "make bench  - benchmarks: planning 300 projects x 3 envs; orchestrate, deploy, failover on the local cloud;"
	@echo "              ACME DNS-01 apex + wildcard on pebble; health agent CPU/RSS (40 s; PCLOUD_BENCH_FULL=1 for the 10-minute figure)"

install: $(STAMP)

$(STAMP): pyproject.toml scripts/bootstrap.sh
	scripts/bootstrap.sh
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

lint: install
	$(BIN)/ruff check src tests benchmarks scripts collections examples
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint -q

unit: install
	$(BIN)/pytest -q -p no:cacheprovider

sanity: install
	mkdir -p $(TEST_HOME)/.ansible/test/cache
	cp scripts/get_pip_shim.py $(TEST_HOME)/.ansible/test/cache/get_pip_24_2.py
	cd $(COLLECTION) && HOME=$(TEST_HOME) $(CURDIR)/$(BIN)/ansible-test sanity --python 3.11 --color no

# Every role scenario on a local cloud of its own (real droplets, real SSH), removed afterwards.
molecule: install
	$(BIN)/python -c 'from pcloud.localcloud import control; control.purge_orphan("pcloud-molecule", "pcmol")'
	$(BIN)/pcloud --config-dir $(MOLECULE_CLOUD) local up --port 0 --network pcloud-molecule \
	  --subnet 10.199.40.0/24 --name pcmol
	eval "$$($(BIN)/pcloud --config-dir $(MOLECULE_CLOUD) local env)"; \
	export PATH="$(CURDIR)/$(BIN):$$PATH" ANSIBLE_COLLECTIONS_PATH="$(CURDIR)/collections" \
	  XDG_CACHE_HOME="$(CURDIR)/.cache"; \
	status=0; for scenario in $(COLLECTION)/roles/*/molecule/default; do \
	  role=$$(basename $$(dirname $$(dirname $$scenario))); echo "== molecule: $$role"; \
	  (cd $(COLLECTION)/roles/$$role && MOLECULE_EPHEMERAL_DIRECTORY=$(CURDIR)/.molecule/tmp/$$role molecule test) \
	    || status=1; done; \
	$(BIN)/pcloud --config-dir $(MOLECULE_CLOUD) local down --purge; exit $$status

test: lint unit sanity molecule

# CI (CI=true) keeps the heavy ones short: master's failover and a long partition are also exercised by
# tests/localcloud/test_health.py; on a workstation `make bench` runs everything at full length.
BENCH_FAILOVER_ARGS := $(if $(CI),--no-master --partition-seconds 25,)
# and the deploy benchmark skips the cached cold deploy and the prod promotion (tests/localcloud deploys prod)
BENCH_DEPLOY_ARGS := $(if $(CI),--short,)
BENCH_ACME_ARGS := $(if $(CI),--runs 3,)

bench: install
	$(BIN)/python benchmarks/plan_scale.py
	$(BIN)/python benchmarks/orchestrate.py
	$(BIN)/python benchmarks/deploy.py $(BENCH_DEPLOY_ARGS)
	$(BIN)/python benchmarks/acme_dns.py $(BENCH_ACME_ARGS)
	$(BIN)/python benchmarks/failover.py $(BENCH_FAILOVER_ARGS)
	$(BIN)/python benchmarks/agent.py

demo: install
	$(BIN)/pcloud --config-dir $(CONFIG) init --example
	$(BIN)/pcloud --config-dir $(CONFIG) validate
	$(BIN)/pcloud --config-dir $(CONFIG) local up
	$(BIN)/pcloud --config-dir $(CONFIG) orchestrate
	$(BIN)/pcloud --config-dir $(CONFIG) deploy uat hostomatic
	$(BIN)/pcloud --config-dir $(CONFIG) deploy prod hostomatic
	$(BIN)/pcloud --config-dir $(CONFIG) platform
	$(BIN)/pcloud --config-dir $(CONFIG) status
	@echo
	@# waits for every droplet 'ok', each printed URL answering 200 and master's heartbeat mail; fails otherwise
	$(BIN)/python -m pcloud.demo --config-dir $(CONFIG)
	@echo "Reach the droplets (host keys pinned in $(CONFIG)/ssh/known_hosts):"
	@echo "  ssh -i $(CONFIG)/ssh/id_ed25519 -o UserKnownHostsFile=$(CONFIG)/ssh/known_hosts -o HostKeyAlias=<droplet> root@<IP>, or"
	@echo "  PCLOUD_CONFIG_DIR=$(abspath $(CONFIG)) $(BIN)/ansible all -i inventory/pcloud.yml -m ansible.builtin.ping"
	@echo "Tear it down: $(BIN)/pcloud --config-dir $(CONFIG) local down --purge"

clean:
	rm -rf $(VENV) .ansible .cache .molecule $(COLLECTION)/tests/output
