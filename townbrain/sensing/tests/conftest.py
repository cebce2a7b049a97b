import datetime as dt

import pytest

from townbrain.core.scope import SYSTEM
from townbrain.sensing import services, storage

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture(autouse=True)
def _fresh_partitions():
    # Partitions made inside a rolled-back test transaction are gone afterwards: forget them.
    storage.forget_partitions()
    yield
    storage.forget_partitions()


@pytest.fixture
def sensor(users):
    s, token = services.create_sensor(SYSTEM, "330109113", code="gl-cod-1", kind="cod")
    s.token = token
    return s


@pytest.fixture
def other_sensor(users):
    s, token = services.create_sensor(SYSTEM, "330182107", code="dy-cod-1", kind="cod")
    s.token = token
    return s


def items(values, start=T0, step=60):
    return [{"ts": (start + dt.timedelta(seconds=i * step)).isoformat(), "value": v} for i, v in enumerate(values)]
