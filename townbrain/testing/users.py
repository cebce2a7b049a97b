from django.contrib.auth import get_user_model

from townbrain.access.models import Membership

PASSWORD = "correct-horse-battery-9"


def make_user(username: str, code: str | None = None, role: str = "editor", **extra):
    """A user with one membership (no audit row: test set-up, not a product write)."""
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)
    if code:
        Membership.objects.create(user=user, org_unit_id=code, role=role)
    return user


# One user per level of the test tree (townbrain/testing/tree.py): the `users` fixture.
FIXTURE_USERS = {
    "admin": ("33", "system_admin"),
    "zhejiang": ("33", "office_admin"),
    "hangzhou": ("3301", "office_admin"),
    "xiaoshan": ("330109", "editor"),
    "jiande": ("330182", "editor"),
    "guali": ("330109113", "editor"),
    "dayang": ("330182107", "editor"),
    "guali_viewer": ("330109113", "viewer"),
    "guizhou": ("52", "office_admin"),
}


def make_fixture_users() -> dict:
    return {name: make_user(name, code, role) for name, (code, role) in FIXTURE_USERS.items()}
