"""The one write path for enrolments and targets."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from townbrain.core import audit
from townbrain.core.models import Level
from townbrain.core.scope import require

from .models import Enrolment, Target

ENROLMENT_FIELDS = ("town", "programme", "batch", "role", "year_joined", "exit_year")
TARGET_FIELDS = ("target_value", "unit", "target_text", "actual_value", "actual_text", "label")


def enrol_town(actor, town, programme, *, year_joined: int, role=None, batch=None, exit_year=None) -> Enrolment:
    """Enrol a town in a programme, or update its enrolment (one per town and programme)."""
    require(actor, "change", town.code)
    if town.level != Level.TOWN:
        raise ValidationError({"town": _("Only towns are enrolled in programmes; %(code)s is not a town.")
                               % {"code": town.code}})
    for obj, name in ((role, "role"), (batch, "batch")):
        if obj is not None and obj.programme_id != programme.pk:
            raise ValidationError({name: _("“%(value)s” does not belong to %(programme)s.")
                                   % {"value": obj, "programme": programme}})
    if exit_year is not None and exit_year < year_joined:
        raise ValidationError({"exit_year": _("The exit year cannot be before the year joined.")})
    with transaction.atomic():
        enrolment = Enrolment.objects.select_for_update().filter(town=town, programme=programme).first()
        before = audit.snapshot(enrolment, ENROLMENT_FIELDS) if enrolment else {}
        enrolment = enrolment or Enrolment(town=town, programme=programme)
        enrolment.role, enrolment.batch = role, batch
        enrolment.year_joined, enrolment.exit_year = year_joined, exit_year
        enrolment.full_clean(validate_unique=False, validate_constraints=False)
        after = audit.snapshot(enrolment, ENROLMENT_FIELDS)
        if after != before:
            enrolment.save()
            audit.record(actor, "enrolment.save", enrolment, before, after, org_code=town.code)
    return enrolment


def set_target(actor, org_unit, programme, year: int, measure: str, **fields) -> Target:
    unknown = set(fields) - set(TARGET_FIELDS)
    if unknown:
        raise ValidationError({n: _("Unknown field.") for n in sorted(unknown)})
    require(actor, "change", org_unit.code)
    with transaction.atomic():
        target = Target.objects.select_for_update().filter(
            org_unit=org_unit, programme=programme, year=year, measure=measure).first()
        before = audit.snapshot(target, TARGET_FIELDS) if target else {}
        target = target or Target(org_unit=org_unit, programme=programme, year=year, measure=measure)
        for name, value in fields.items():
            setattr(target, name, value)
        target.full_clean(validate_unique=False, validate_constraints=False)
        after = audit.snapshot(target, TARGET_FIELDS)
        if after != before:
            target.save()
            audit.record(actor, "target.save", target, before, after, org_code=org_unit.code)
    return target
