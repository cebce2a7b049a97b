from django.contrib.auth import get_user_model

from townbrain.access.models import Membership

PASSWORD = "correct-horse-battery-9"


def make_user(username: str, code: str | None = None, role: str = "editor", **extra):
    """A user with one membership (no audit row: test set-up, not a product write)."""
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)
    if code:
        Membership.objects.create(user=user, org_unit_id=code, role=role)
    return user
