# fleetpatch.hybrid: `make demo` runs a real patch night on local test hosts, `make test` runs the suite.
# Both do all their own set-up on a fresh Debian 12 machine (as root) and reuse it on a second run.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_SSH_CONTROL_PATH_DIR := $(CURDIR)/.cache/cp
DEB_PACKAGES := debootstrap openssh-client apt-utils gnupg util-linux dpkg-dev python3-venv rsync sqlite3 rpm createrepo-c
# the dashboard test opens the page in headless Chromium
TEST_DEB_PACKAGES := chromium
COLLECTION_LINK := .cache/collections/ansible_collections/fleetpatch/hybrid
DEMO_OUT := out/demo

.PHONY: demo test deps venv collection lint package sanity unit integration molecule down clean

demo: deps venv collection
	tools/localfleet up 3 --fresh
	tools/localfleet aws seed
	# the web app of the demo's hook pair (docs/hooks.md) on web-dev-1, held at its version
	tools/localfleet exec fp1 'apt-get update -qq && apt-get install -y -qq fp-webapp=1.0-1 >/dev/null && apt-mark hold fp-webapp >/dev/null'
	rm -rf $(DEMO_OUT)
	ANSIBLE_INVENTORY_UNPARSED_FAILED=true ansible-playbook -i inventories/demo playbooks/patch_night.yml -e fleetpatch_output_dir=$(DEMO_OUT) \
		-e fleetpatch_demo_webapp=true
	@$(PY) tools/fleetpatch-report $(DEMO_OUT)/report.json
	@echo "report: $(DEMO_OUT)/report.json   ledger: $(DEMO_OUT)/ledger.db"

test: deps venv collection lint package sanity unit integration molecule

deps:
	@tools/ensure-debian-packages $(DEB_PACKAGES)

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-test.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-test.txt 2>&1 | { grep -v '^WARNING: Location' || true; }
	@touch $@

collection:
	@mkdir -p $(dir $(COLLECTION_LINK))
	@ln -sfn ../../../.. $(COLLECTION_LINK)

lint: venv collection
	ruff check .
	ansible-lint

# antsibull-changelog lint + a release dry run, the collection artifact, `ansible-builder create`
# of the execution environment and a check of its build context (no container engine runs here)
package: venv collection
	tools/check-package

sanity: venv
	tools/run-sanity

unit: venv collection
	pytest -q tests/unit

integration: deps venv collection
	@tools/ensure-debian-packages $(TEST_DEB_PACKAGES)
	pytest -q -rfxX --durations=30 tests/integration

# Role scenarios on their own local test hosts (ports 2301...), one after another.
molecule: deps venv collection
	@set -e; for s in $$(ls extensions/molecule/*/molecule.yml | cut -d/ -f3); do \
	  echo "== molecule scenario $$s"; molecule -c extensions/molecule/shared/base.yml test -s $$s > .cache/molecule-$$s.log 2>&1 \
	    || { tail -60 .cache/molecule-$$s.log; echo "molecule scenario $$s failed (log: .cache/molecule-$$s.log)"; exit 1; }; \
	done

down:
	tools/localfleet down

clean: down
	rm -rf out build .cache/localfleet/hosts
