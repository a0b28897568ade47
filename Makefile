# Integration Hub — `make run` serves the app, `make test` runs every check CI runs.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

TOOLS_BIN := $(HOME)/.cache/integration-hub/tools/bin
export PATH := $(TOOLS_BIN):$(CURDIR)/node_modules/.bin:$(PATH)
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
HUB_BIN_RELEASE := $(TARGET_DIR)/release/integration-hub
export HUB_BIN := $(TARGET_DIR)/debug/integration-hub

.PHONY: run test tools node chromium build-release ship-check fmt lint unit hostile e2e bench soak clean

# --precompress writes a .br and a .gz beside each file, and makes cargo-leptos finish the site before it
# compiles the server, which embeds it (src/server/site.rs).
build-release: tools
	cargo leptos build --release --precompress

## The release binary, copied alone into an empty folder, serves the UI (tests/shipping.rs).
ship-check: build-release
	HUB_RELEASE_BIN=$(HUB_BIN_RELEASE) cargo test --features ssr --test shipping -- --ignored

## Build in release mode and serve on http://127.0.0.1:3000 (SQLite at ./data/hub.db).
run: tools
	cargo leptos build --release --precompress
	$(HUB_BIN_RELEASE) serve

## Everything CI checks: format, clippy (server and browser), unit + integration tests, schemathesis, the release
## build `make run` serves, that binary alone in an empty folder, and Playwright against it.
test: tools chromium fmt lint unit hostile build-release ship-check e2e

tools: node
	bash scripts/install-tools.sh >/dev/null

# npm packages at the exact versions of package.json/package-lock.json; reinstalled only when those change.
# (`npm install`, not `npm ci`: the registry here lists only some of tailwind's optional platform packages, so
# the lockfile cannot name them all and `npm ci` refuses it.)
node: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error
	touch $@

chromium:
	command -v /usr/bin/chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

fmt:
	cargo fmt --check

lint:
	cargo clippy --features ssr --all-targets -- -D warnings
	cargo clippy --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings

unit:
	cargo test --features ssr

## schemathesis against /api/v1/openapi.json: no 5xx, every answer as documented (the binary `unit` built).
hostile:
	bash scripts/schemathesis.sh
	if [ -n "$${HUB_TEST_DATABASE_URL:-}" ]; then ST_POSTGRES="$$HUB_TEST_DATABASE_URL" bash scripts/schemathesis.sh; fi

## Playwright against the release build: what `make run` serves (split, compressed, embedded) is what is tested.
e2e: chromium build-release
	cd end2end && HUB_BIN=$(HUB_BIN_RELEASE) npx playwright test

## The long forms of the crash and scale-out tests (10,000 events each; the short forms run in `make test`).
## Then each fuzz target (fuzz/) for FUZZ_SECONDS (default 60) from the small seed corpus in the repo; new
## inputs go to a scratch folder, crashes to fuzz/artifacts/. cargo-fuzz needs nightly flags: RUSTC_BOOTSTRAP
## lets the stable toolchain accept them (no sanitizer, so no nightly-only runtime).
soak: tools
	CRASH_EVENTS=10000 cargo test --release --features ssr --test binary -- --nocapture
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --root $(HOME)/.cache/integration-hub/tools
	for t in filter template signature api_key; do
	  scratch=$$(mktemp -d /tmp/hub-fuzz.XXXXXX)
	  (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run $$t -s none --target-dir $(HOME)/.cache/integration-hub/fuzz-target \
	    "$$scratch" corpus/$$t -- -max_total_time=$${FUZZ_SECONDS:-60} -max_len=4096)
	  rm -rf "$$scratch"
	done

## Benchmarks on this machine; results rewrite docs/BENCHMARKS.md.
bench: tools
	bash scripts/bench.sh

clean:
	cargo clean
	rm -rf node_modules end2end/test-results end2end/.state
