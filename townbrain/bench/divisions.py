"""Benchmark: `townbrain load-divisions` for the whole country into a fresh SQLite database.

Target (issue 3): under 15 s. Each repeat runs the real command in a fresh TOWNBRAIN_HOME,
so the figure includes process start-up and Django set-up: what an operator waits for.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

TARGET_SECONDS = 15.0


def _run(args, env):
    subprocess.run([sys.executable, "-m", "townbrain.cli", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(repeat: int = 3) -> dict:
    times, village_time = [], None
    for i in range(repeat):
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "TOWNBRAIN_HOME": home}
            env.pop("TOWNBRAIN_DATABASE_URL", None)
            _run(["init"], env)
            start = time.perf_counter()
            _run(["load-divisions"], env)
            times.append(time.perf_counter() - start)
            if i == 0:
                start = time.perf_counter()
                _run(["load-divisions", "--villages"], env)
                village_time = time.perf_counter() - start
    median = statistics.median(times)
    rows = [
        ("units loaded", "34 provinces, 342 cities, 2,978 counties, 41,352 townships (44,706)"),
        ("runs", str(repeat)),
        ("wall time per run (s)", ", ".join(f"{t:.2f}" for t in times)),
        ("median (s)", f"{median:.2f}"),
        ("target (s)", f"< {TARGET_SECONDS:.0f}"),
        ("then + 620,573 villages on demand (s)", f"{village_time:.2f}"),
    ]
    verdict = "meets" if median < TARGET_SECONDS else "MISSES"
    return {
        "description": "`townbrain load-divisions` (whole country, no villages) into a freshly migrated "
        "SQLite database; wall time of the whole command including Python start-up.",
        "rows": rows,
        "summary": f"median {median:.2f} s for the national list — {verdict} the {TARGET_SECONDS:.0f} s target",
    }
