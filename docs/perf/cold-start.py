"""Start-up to ready and the first invoke's cold start, p50 over N starts per binary, the binaries interleaved, for
A/B comparisons of builds in one run.

    N=30 DELAY_MS=2 python3 docs/perf/cold-start.py /tmp/old/offcloud target/release/offcloud

Each start is `offcloud serve --release --config fixtures/offcloud.toml`; `epoch-time` is invoked DELAY_MS after
the ready line (0 by default, as `just bench` does). Ready is timed from `Popen`, so it reads a little above the
bench. `just bench` (BENCH_ONLY=startup) is the reference measurement; this is the quick one.
"""

import http.client
import os
import statistics
import subprocess
import sys
import time


def one(binary, delay):
    started = time.perf_counter()
    p = subprocess.Popen([binary, "serve", "--release", "--config", "fixtures/offcloud.toml", "--port", "0",
                          "--api-port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         env=dict(os.environ, OFFCLOUD_LOG="warn"))
    main = None
    for line in p.stdout:
        if main is None:
            main = line.rsplit("http://", 1)[1].strip()
        if line.startswith("offcloud: ready"):
            break
    ready = time.perf_counter() - started
    time.sleep(delay)
    host, port = main.split(":")
    c = http.client.HTTPConnection(host, int(port))
    t = time.perf_counter()
    c.request("POST", "/2015-03-31/functions/epoch-time/invocations", b"{}")
    c.getresponse().read()
    cold = time.perf_counter() - t
    p.kill()
    p.wait()
    return ready * 1000, cold * 1000


binaries = sys.argv[1:]
delay = float(os.environ.get("DELAY_MS", "0")) / 1000
results = {b: ([], []) for b in binaries}
for _ in range(int(os.environ.get("N", "30"))):
    for b in binaries:
        ready, cold = one(b, delay)
        results[b][0].append(ready)
        results[b][1].append(cold)
for b in binaries:
    print(f"{b}: ready p50 {statistics.median(results[b][0]):.2f} ms, "
          f"cold start p50 {statistics.median(results[b][1]):.2f} ms")
