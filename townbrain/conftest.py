"""Shared fixtures: a real slice of the tree and one user per level.

`guali` works in 瓜沥镇 (330109113); `dayang` in 大洋镇 (330182107) — "another town" in the
scope tests. Clients are logged in with force_login (the login form is tested on its own).
"""

import os
import shutil
from pathlib import Path

import pytest
from django.core.signals import request_finished
from django.utils import translation
from rest_framework.test import APIClient

from townbrain.testing.cli import run_cli
from townbrain.testing.tree import build_tree
from townbrain.testing.users import make_fixture_users

# The PostgreSQL pass of scripts/test.sh sets TOWNBRAIN_TESTS_DATABASE_ONLY=1: tests that never touch
# the test database (the formula engine, file readers, CLI runs in their own SQLite homes …) ran,
# identically, in the SQLite pass of the same command, so they are deselected there, not run twice.
# A test that reaches PostgreSQL on its own (pg_database, pg_prepared) counts as a database test.
DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback",
                     "live_server", "pg_database", "pg_prepared", "shipped_data"}


def uses_database(item) -> bool:
    return bool(item.get_closest_marker("django_db") or DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config, items):
    if os.environ.get("TOWNBRAIN_TESTS_DATABASE_ONLY") != "1":
        return
    keep = [item for item in items if uses_database(item)]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if not uses_database(item)])
        items[:] = keep


@pytest.fixture(autouse=True)
def _english_outside_requests():
    """Messages made outside a request (services, a CLI run in-process) read in English in tests.

    A request activates its language on the thread and nothing resets it afterwards, so without this
    the language of a service's message depended on which test (or request) ran before it. A page
    still speaks the language its request asks for (Chinese by default); tests of the Chinese wording
    of a message say so with translation.override("zh-hans")."""

    def back_to_english(**_kwargs):  # the test client's request is over: its language goes with it
        translation.activate("en")

    request_finished.connect(back_to_english, dispatch_uid="tests-english-outside-requests")
    try:
        with translation.override("en"):
            yield
    finally:
        request_finished.disconnect(dispatch_uid="tests-english-outside-requests")


@pytest.fixture(autouse=True)
def _fast_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "uploads"
    # Production hashing costs ~0.3 s per password; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Rate limits count in the cache (core/ratelimit.py): each test starts with none used.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def shipped_data(transactional_db):
    """A transactional database holding what the migrations ship (see townbrain/testing/shipped.py)."""
    from townbrain.testing.shipped import restore

    restore()


@pytest.fixture(scope="session")
def _divisions_home_made(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("divisions-home")
    for args in (("init",), ("load-divisions", "--province", "33"), ("load-divisions", "--province", "52")):
        done = run_cli(*args, home=home)
        assert done.returncode == 0, done.stdout + done.stderr
    return home


@pytest.fixture
def divisions_home(tmp_path, _divisions_home_made) -> Path:
    """A TOWNBRAIN_HOME after `townbrain init` and `load-divisions` of 浙江 (33) and 贵州 (52), for a test's
    own CLI runs: a copy of one made once per test process (migrating a new home took ~15 s a test)."""
    return Path(shutil.copytree(_divisions_home_made, tmp_path / "home"))


@pytest.fixture
def tree(db):
    return build_tree()


@pytest.fixture
def users(tree):
    return make_fixture_users()


@pytest.fixture
def client_for(client, users):
    """client_for("guali") -> a Django test client logged in as that user."""

    def login(name):
        client.force_login(users[name])
        return client

    return login


@pytest.fixture
def api_for(users):
    """api_for("guali") -> a DRF APIClient authenticated as that user."""

    def login(name):
        api = APIClient()
        api.force_authenticate(users[name])
        return api

    return login
