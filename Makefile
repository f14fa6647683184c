# mesh: build, test, demo, install. `make deps` installs the system packages the tests need (run as root).
# `make build` compiles to dist/ with tsc, then bundles each CLI with esbuild into one file, dist/bin/mesh.bundle.cjs
# and dist/bin/mesh-cert.bundle.cjs, behind the executables dist/bin/mesh.cjs and dist/bin/mesh-cert.cjs that
# `make install` puts on PATH (scripts/bundle.mjs), and makes their V8 code caches (scripts/train-code-cache.mjs).
SHELL := /bin/bash
NODE_TEST := node --test --test-concurrency=1

.PHONY: all build test unit e2e interop demo install deps deps-check clean bench lint format

# Commands the tests and the demo use; `make demo` and `make test` install them first on a fresh machine.
NEEDED_CMDS := nebula nebula-cert ip nft conntrack tcpdump iperf3 ping curl zbarimg miniupnpd nats-server dig clang-format

all: build

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# npm ci builds the addon too (binding.gyp); this rebuilds it when its C sources change afterwards.
ADDON := build/Release/mesh_native.node
$(ADDON): binding.gyp $(wildcard pkg/native/*.c pkg/native/*.h) | node_modules/.installed
	npx node-gyp rebuild
	@touch $@

build: node_modules/.installed $(ADDON)
	npx tsc -p tsconfig.json
	node scripts/bundle.mjs
	node scripts/train-code-cache.mjs

unit: build
	$(NODE_TEST) dist/test/unit/

test: deps-check build lint
	$(NODE_TEST) dist/test/unit/ dist/test/interop/ dist/test/e2e/

# Style without review: prettier (.prettierrc.json) and eslint with typescript-eslint (eslint.config.mjs) for the
# TypeScript, clang-format (.clang-format) for the addon's C. `make format` rewrites; `make lint` (part of `make test`)
# fails on any difference.
TS_SOURCES := 'cmd/**/*.ts' 'pkg/**/*.ts' 'test/**/*.ts' 'bench/**/*.ts' 'scripts/**/*.mjs' eslint.config.mjs
C_SOURCES := $(wildcard pkg/native/*.c pkg/native/*.h)

lint: node_modules/.installed
	npx prettier --check --log-level warn $(TS_SOURCES)
	npx eslint --max-warnings 0 .
	clang-format --dry-run --Werror $(C_SOURCES)

format: node_modules/.installed
	npx prettier --write --log-level warn $(TS_SOURCES)
	clang-format -i $(C_SOURCES)

demo: deps-check build
	bash examples/demo.sh

install: build
	npm install -g --no-audit --no-fund .

deps-check:
	@missing=""; for c in $(NEEDED_CMDS); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then echo "missing:$$missing; installing with make deps"; $(MAKE) deps; fi

deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	  nebula iproute2 nftables conntrack tcpdump iperf3 iputils-ping zbar-tools curl make g++ python3 \
	  miniupnpd-nftables nats-server bind9-dnsutils clang-format

bench: build
	node dist/bench/throughput.js

clean:
	rm -rf dist build node_modules/.installed
