# Offcloud's tasks. `just --list` shows them.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Start the emulator with every seed handler (AWS endpoint on 4566, API Gateway on 3000).
serve *ARGS:
    cargo build --workspace --all-targets
    ./target/debug/offcloud serve --config fixtures/offcloud.toml {{ARGS}}

# `just serve`, reloading what changes: Rust handlers are rebuilt, Python and Node.js ones restarted, the config
# reloaded, and no request is dropped.
watch *ARGS:
    cargo build --workspace --bins
    ./target/debug/offcloud serve --config fixtures/offcloud.toml --watch {{ARGS}}

# Run every test offline: unit tests, integration tests, scenarios, clippy and formatting.
test: venv mariadb chromium
    cargo fmt --all --check
    cargo build --workspace --all-targets
    cargo clippy --workspace --all-targets -- -D warnings
    PATH="$PWD/target/venv/bin:$PATH" cargo test --workspace

# The property tests with CASES inputs each instead of `just test`'s few. A failure prints the shrunk input and the
# PROPTEST_RNG_SEED that replays the run.
fuzz CASES="2000":
    PROPTEST_CASES={{CASES}} cargo test -p offcloud --test integration properties

# Mixed traffic across every service with faults on, a SIGKILL and restart halfway, then checks that no acknowledged
# write was lost, memory and open files stayed flat and no process was orphaned. SECS is its length.
soak SECS="600":
    cargo build --workspace --bins
    SOAK_SECS={{SECS}} ./target/debug/offcloud-soak

# The Python packages the tests use (AWS's awslambdaric, to compare Offcloud's client with; boto3; the AWS CLI), in
# a virtualenv under target/, made on first use.
venv:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ -x target/venv/bin/aws ] && target/venv/bin/python -c 'import awslambdaric, boto3' 2>/dev/null; then exit 0; fi
    command -v node >/dev/null || { echo "The tests need Node.js 18 or later: run 'apt-get install -y nodejs'"; exit 1; }
    python3 -m venv target/venv || { echo "Python's venv module is missing: run 'apt-get install -y python3-venv'"; exit 1; }
    target/venv/bin/pip install --quiet --disable-pip-version-check awslambdaric boto3 awscli

# MariaDB, which the MySQL differential test (`tests/mysql/`) starts in a temporary folder of its own. Installed
# from Debian where this user may; otherwise the exact command is printed and the run stops.
mariadb:
    #!/usr/bin/env bash
    set -euo pipefail
    export PATH="$PATH:/usr/sbin:/sbin"
    if command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null; then exit 0; fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "Installing mariadb-server for the MySQL differential test"
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mariadb-server >/dev/null \
        || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mariadb-server >/dev/null; }
      exit 0
    fi
    echo "The MySQL differential test needs MariaDB: run 'sudo apt-get install -y mariadb-server'"
    exit 1

# Headless Chromium and its WebDriver, which the dashboard's browser test (`tests/dashboard.rs`) drives. Installed
# from Debian where this user may; otherwise the exact command is printed and the run stops.
chromium:
    #!/usr/bin/env bash
    set -euo pipefail
    if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "Installing chromium and chromium-driver for the dashboard's browser test"
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null \
        || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null; }
      exit 0
    fi
    echo "The dashboard's browser test needs Chromium: run 'sudo apt-get install -y chromium chromium-driver'"
    exit 1

# Accept changed snapshot goldens interactively.
review:
    cargo insta review

# TARGET is the API's base URL, with the stage or without. ARGS: scenario files or folders (all of scenarios/ by
# default) and `--aws-endpoint URL` for setup calls, `invoke` and `aws` steps. `cargo run -p offcloud -- scenario
# list` shows which goldens are recorded and which emulated.
[doc("Run the scenarios against a live API and write what comes back as the goldens, marked as recorded.")]
record TARGET *ARGS:
    cargo run -q -p offcloud -- scenario record --target '{{TARGET}}' {{ARGS}}

# Benchmarks: invoke latency, cold start, start-up time, idle memory, API Gateway, DynamoDB (against dynoxide's
# own server), POST /ports end to end, Python and Node.js functions (beside awslambdaric) and loading a template,
# each against a baseline measured in the same run.
bench: venv mariadb
    cargo build --release --workspace --bins
    test -x target/tools/bin/dynoxide || cargo install --locked --quiet --root target/tools dynoxide-rs@3.2.0 --no-default-features --features native-sqlite,http-server,cli
    PATH="$PWD/target/venv/bin:$PATH" ./target/release/offcloud-bench
    cargo test -q -p offcloud --test mysql_differential 2>/dev/null | grep '^MySQL differential'
