"""What tests and benchmarks need of this machine: a free port on 127.0.0.1, whether something listens on
one, and how a test that needs a local program (chromium, mosquitto, PostgreSQL's server programs) reacts
when it is missing — a failure under CI, where the set-up installs it, a skip on a newcomer's machine."""

import os
import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def unavailable(what: str, reason: str):
    """Fail under CI (`CI=true`: the project's set-up provides `what`), else skip with the reason."""
    import pytest  # here, not above: the benchmarks use this module where the test extras are not installed

    if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        pytest.fail(f"{what} cannot run under CI: {reason}")
    pytest.skip(reason)
