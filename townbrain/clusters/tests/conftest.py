import pytest


@pytest.fixture(autouse=True)
def _english():
    """Messages are checked in English (the source strings)."""
    from django.utils import translation

    with translation.override("en"):
        yield
