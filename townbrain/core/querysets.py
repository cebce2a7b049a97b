"""RestrictedQuerySet: the only way views, API, exports and imports read data.

Each restricted model names `scope_field`, the lookup path to the division code that
places a row in the tree (OrgUnit: "code"; a project: "town__code", which Django reads from the town_id column without a join). A subtree is a prefix,
so `restrict()` is a handful of indexed `LIKE 'prefix%'` conditions.
"""

from django.db import models

from .scope import scope_q


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view"):
        q = scope_q(user, action, self.model.scope_field)
        return self if q is None else self.filter(q)


class RestrictedManager(models.Manager.from_queryset(RestrictedQuerySet)):
    pass
