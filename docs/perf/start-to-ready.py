"""Start-up to ready, p50 over 30 starts per config, for A/B comparisons of two builds in one run.

    BIN=target/release/offcloud python3 docs/perf/start-to-ready.py fixtures/offcloud.toml
    BIN=/tmp/offcloud-old python3 docs/perf/start-to-ready.py fixtures/offcloud.toml

`just bench` (BENCH_ONLY=startup) is the reference measurement; this is the quick one.
"""

import os
import statistics
import subprocess
import sys
import time


def one(binary, config):
    started = time.perf_counter()
    p = subprocess.Popen([binary, "serve", "--port", "0", "--api-port", "0", "--config", config],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=dict(os.environ, OFFCLOUD_LOG="warn"))
    for line in p.stdout:
        if line.startswith(b"offcloud: ready"):
            break
    elapsed = time.perf_counter() - started
    p.kill()
    p.wait()
    return elapsed * 1000


binary = os.environ.get("BIN", "target/release/offcloud")
for config in sys.argv[1:]:
    print(f"{config}: p50 {statistics.median(one(binary, config) for _ in range(30)):.2f} ms")
