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

# `just test` compiles the workspace with Clippy's driver as its compiler, the way `cargo clippy` runs it, with
# warnings denied. The tests then run what Clippy compiled, and the dependencies are built once rather than built for
# the tests and checked again for `cargo clippy`.
clippy := 'RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)" CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__'

# Run every test offline: unit tests, integration tests, scenarios, clippy and formatting.
test: venv mariadb postgres chromium
    cargo fmt --all --check
    rustup which clippy-driver >/dev/null 2>&1 || command -v clippy-driver >/dev/null \
      || { echo "The tests compile with Clippy: run 'rustup component add clippy'"; exit 1; }
    {{clippy}} cargo build --workspace --all-targets
    PATH="$PWD/target/venv/bin:$PATH" {{clippy}} cargo test --workspace

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

# PostgreSQL, which the Data API's server tests (`tests/rdsdata_server.rs`) start in a temporary folder of their
# own. Installed from Debian where this user may; otherwise the exact command is printed and the run stops.
postgres:
    #!/usr/bin/env bash
    set -euo pipefail
    if command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then exit 0; fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "Installing postgresql for the Data API's server tests"
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >/dev/null \
        || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >/dev/null; }
      exit 0
    fi
    echo "The Data API's server tests need PostgreSQL: run 'sudo apt-get install -y postgresql'"
    exit 1

# A MariaDB server for `[[cluster]] url = "mysql://root@127.0.0.1:PORT"`, from Debian's packages, in
# target/db/mariadb, as the current user, on loopback, until Ctrl-C. PORT defaults to 3306.
db-mysql PORT="3306": mariadb
    #!/usr/bin/env bash
    set -euo pipefail
    export PATH="$PATH:/usr/sbin:/sbin"
    dir="$PWD/target/db/mariadb"
    mkdir -p "$dir"
    user=(); [ "$(id -u)" = 0 ] && user=(--user=root)
    if [ ! -d "$dir/data/mysql" ]; then
      mariadb-install-db --no-defaults --datadir="$dir/data" "${user[@]}" --auth-root-authentication-method=normal \
        --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log"; exit 1; }
    fi
    echo "MariaDB on mysql://root@127.0.0.1:{{PORT}} (data in $dir); Ctrl-C stops it"
    mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/sock" --port={{PORT}} --bind-address=127.0.0.1 \
      "${user[@]}" --skip-log-bin --character-set-server=utf8 --collation-server=utf8_general_ci \
      --sql-mode=ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION &
    pid=$!
    trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM
    wait $pid

# A PostgreSQL server for `[[cluster]] url = "postgres://postgres@127.0.0.1:PORT/postgres"`, from Debian's
# packages, in target/db/postgres, on loopback with trust authentication, until Ctrl-C. Under root it runs as the
# `postgres` user, as PostgreSQL refuses root. PORT defaults to 5432.
db-postgres PORT="5432": postgres
    #!/usr/bin/env bash
    set -euo pipefail
    bin="$(dirname "$(command -v initdb || ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
    dir="$PWD/target/db/postgres"
    mkdir -p "$dir"
    run=(); if [ "$(id -u)" = 0 ]; then chown -R postgres: "$dir"; run=(runuser -u postgres --); fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      "${run[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log"; exit 1; }
    fi
    echo "PostgreSQL on postgres://postgres@127.0.0.1:{{PORT}}/postgres (data in $dir); Ctrl-C stops it"
    "${run[@]}" "$bin/postgres" -D "$dir/data" -p {{PORT}} -k "$dir" -c listen_addresses=127.0.0.1 &
    pid=$!
    # A fast shutdown, which ends the server's sessions too; runuser does not pass signals on.
    trap '"${run[@]}" "$bin/pg_ctl" -D "$dir/data" stop -m fast >/dev/null; wait $pid' INT TERM
    wait $pid

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

# The MySQL differential test is compiled as `just test` compiles it, so that a bench after the tests reuses their
# build.
# Benchmarks: invoke latency, cold start, start-up time, idle memory, API Gateway, DynamoDB (against dynoxide's
# own server), POST /ports end to end, Python and Node.js functions (beside awslambdaric) and loading a template,
# each against a baseline measured in the same run.
bench: venv mariadb
    cargo build --release --workspace --bins
    test -x target/tools/bin/dynoxide || cargo install --locked --quiet --root target/tools dynoxide-rs@3.2.0 --no-default-features --features native-sqlite,http-server,cli
    PATH="$PWD/target/venv/bin:$PATH" ./target/release/offcloud-bench
    {{clippy}} cargo test -q -p offcloud --test mysql_differential 2>/dev/null | grep '^MySQL differential'
