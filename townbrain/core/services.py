"""The one write path for core objects: permission, transaction, audit row."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from . import audit
from .models import OrgUnit
from .scope import require


def refuse_unknown(fields, allowed) -> None:
    """Every service taking **fields starts here: a name it does not write is an error, never ignored."""
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in sorted(unknown)})


def update_org_profile(actor, unit: OrgUnit, **fields) -> OrgUnit:
    """Change an org unit's profile (type, population, area, centre point, notes)."""
    refuse_unknown(fields, OrgUnit.PROFILE_FIELDS)
    require(actor, "change", unit.code)
    with transaction.atomic():
        unit = OrgUnit.objects.select_for_update().get(pk=unit.pk)
        before = audit.snapshot(unit, OrgUnit.PROFILE_FIELDS)
        for name, value in fields.items():
            setattr(unit, name, value)
        unit.full_clean()
        after = audit.snapshot(unit, OrgUnit.PROFILE_FIELDS)
        if after != before:
            unit.save(update_fields=[*fields, "updated"])
            audit.record(actor, "orgunit.update", unit, before, after, org_code=unit.code)
    return unit
