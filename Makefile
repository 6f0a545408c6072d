# dpwear — the two set-up commands (see README.md):
#   make demo   set up everything, build, run the quickstart campaign (generators per fold → cells → tables)
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

# The library's unit tests run one at a time: libtorch's random generator is process-wide, and
# tests that seed it and compare two draws (dropout masks, same seed → same model) would race
# with other tests drawing from it in parallel threads. The integration tests drive the binary
# in their own processes and run in parallel.
test: setup
	$(ENV) RUST_TEST_THREADS=1 cargo test $(CARGO_FLAGS) --lib
	$(ENV) cargo test $(CARGO_FLAGS) --bins --test '*'
	$(ENV) cargo test $(CARGO_FLAGS) --doc

# The pure layers (data, features, accounting, evaluation, ...) without libtorch.
test-pure: setup
	$(ENV) CARGO_TARGET_DIR=target/pure cargo test $(CARGO_FLAGS) --no-default-features

lint: setup
	$(ENV) cargo fmt --check
	$(ENV) cargo clippy $(CARGO_FLAGS) --all-targets -- -D warnings
	$(ENV) CARGO_TARGET_DIR=target/pure cargo clippy $(CARGO_FLAGS) --no-default-features --all-targets -- -D warnings
