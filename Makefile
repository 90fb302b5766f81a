# pvc-chonker: the commands a developer and CI run. `make demo` and `make test` are the first two.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

NODE24  := .cache/tools/node24
KUBECTL := .cache/tools/kubectl
VITEST  := node_modules/vitest/vitest.mjs
IMAGE   ?= pvc-chonker:dev

.PHONY: all build typecheck lint format test test-node20 test-node24 demo bench bench-webhook image tools system-deps clean

all: build

node_modules: package.json package-lock.json
	npm ci
	@touch node_modules

build: node_modules
	npm run build

typecheck: node_modules
	npx tsc -p tsconfig.json --noEmit

lint: node_modules
	npx eslint .
	npx prettier --check .

format: node_modules
	npx prettier --write .

## Tools the tests use that npm does not install: Node.js 24, a real kubectl, the Pushgateway and promtool.
tools: $(NODE24) $(KUBECTL) system-deps

$(NODE24):
	bash scripts/fetch-node24.sh

$(KUBECTL):
	bash scripts/fetch-kubectl.sh

system-deps:
	bash scripts/install-system-deps.sh

## Every test, on Node.js 20 (the machine's) and on Node.js 24 (the image's), plus types and lint.
test: tools build typecheck lint test-node20 test-node24

test-node20: build
	node $(VITEST) run

test-node24: build $(NODE24)
	$(NODE24) $(VITEST) run

## The main job on the embedded simulated cluster, twice: the second run shows cooldown holding.
demo: build
	bash scripts/demo.sh

## 10,000 managed PVCs on 1,000 nodes with 5 ms per request; then the webhook's admission
## latency at 200 requests/s over TLS with 1,000 policies. Prints the figures.
bench: build
	node --expose-gc dist/bench/scale.js
	$(MAKE) --no-print-directory bench-webhook

bench-webhook: build
	node dist/bench/webhook.js

## Not run here (no Docker engine on the development machines).
image:
	docker build -t $(IMAGE) .

clean:
	rm -rf dist .cache
