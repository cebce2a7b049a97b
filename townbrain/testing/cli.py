"""Running `townbrain` as a user would: a subprocess against its own SQLite home, not the test database."""

import os
import subprocess
import sys


def run_cli(*args, home, timeout=120) -> subprocess.CompletedProcess:
    env = {**os.environ, "TOWNBRAIN_HOME": str(home)}
    env.pop("TOWNBRAIN_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "townbrain.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)
