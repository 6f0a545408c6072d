# dpwear — the two set-up commands (see README.md):
#   make demo   set up everything, build, run the embedded default (simulated data → features)
#   make test   set up everything, build, run the whole test suite
SHELL := /bin/bash
ENV := source .env.build &&
CARGO_FLAGS ?= --release

.PHONY: setup build demo test test-pure lint clean-results

setup:
	@bash scripts/bootstrap.sh

build: setup
	$(ENV) cargo build $(CARGO_FLAGS)

demo: build
	$(ENV) bash scripts/demo.sh

test: setup
	$(ENV) cargo test $(CARGO_FLAGS)

# The pure layers (data, features, accounting, evaluation, ...) without libtorch.
test-pure: setup
	$(ENV) CARGO_TARGET_DIR=target/pure cargo test $(CARGO_FLAGS) --no-default-features

lint: setup
	$(ENV) cargo fmt --check
	$(ENV) cargo clippy $(CARGO_FLAGS) --all-targets -- -D warnings
	$(ENV) CARGO_TARGET_DIR=target/pure cargo clippy $(CARGO_FLAGS) --no-default-features --all-targets -- -D warnings
