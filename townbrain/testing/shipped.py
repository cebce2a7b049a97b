"""The data TownBrain's migrations ship (programmes, expert activity types, event categories), put back.

A transactional test (live_server, threads) ends with a flush that empties these tables. Django's
serialized rollback would restore them, but a flush by a plain transactional test before it lets
post_migrate re-create the content types, and the restore then collides with them (UNIQUE on
django_content_type). So transactional tests call the migrations' own seed functions instead:
they use get_or_create / update_or_create and leave what is already there alone.
"""

import importlib

from django.apps import apps

SEEDS = (
    ("townbrain.programmes.migrations.0002_ship_programmes", "forwards"),
    ("townbrain.experts.migrations.0002_activity_types", "seed"),
    ("townbrain.governance.migrations.0002_seed_categories", "seed"),
)


def restore() -> None:
    for module, function in SEEDS:
        getattr(importlib.import_module(module), function)(apps, None)
