# Offcloud's tasks. `just --list` shows them.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Start the emulator with every seed handler (AWS endpoint on 4566, API Gateway on 3000).
serve *ARGS:
    cargo build --workspace --all-targets
    ./target/debug/offcloud serve --config fixtures/offcloud.toml {{ARGS}}

# Run every test offline: unit tests, integration tests, scenarios, clippy and formatting.
test:
    cargo fmt --all --check
    cargo build --workspace --all-targets
    cargo clippy --workspace --all-targets -- -D warnings
    cargo test --workspace

# Accept changed snapshot goldens interactively.
review:
    cargo insta review

# Run the scenarios against a live endpoint and write what comes back as the goldens.
record TARGET *PATHS:
    cargo run -q -p offcloud -- scenario record --target {{TARGET}} {{PATHS}}

# Benchmarks: invoke latency, cold start, start-up time, idle memory, API Gateway, DynamoDB (against dynoxide's
# own server) and POST /ports end to end, each against a baseline measured in the same run.
bench:
    cargo build --release --workspace --bins
    test -x target/tools/bin/dynoxide || cargo install --locked --quiet --root target/tools dynoxide-rs@3.2.0 --no-default-features --features native-sqlite,http-server,cli
    ./target/release/offcloud-bench
