"""The one write path for programmes (system administrators), enrolments and targets."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.utils.translation import gettext as _

from townbrain.core import audit
from townbrain.core.models import Level
from townbrain.core.scope import allows, require
from townbrain.core.services import refuse_unknown

from .models import Batch, Category, Enrolment, EnrolmentEvent, Programme, ProgrammeRole, Target

ENROLMENT_FIELDS = ("town", "programme", "batch", "role", "year_joined", "exit_year")
CONSEQUENCE_FIELDS = ("role", "exit_year", "flagged_year", "flag_reason")
TARGET_FIELDS = ("target_value", "unit", "target_text", "actual_value", "actual_text", "label")

# Sent inside enrol_town's transaction when a town's role or batch in a programme changes (kwarg
# `enrolment`), so the floors above keep their figures by role and batch current in the same
# transaction: the live roll-ups of projects (projects/apps.py connects them).
enrolment_changed = Signal()


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
            if (before.get("role"), before.get("batch")) != (after["role"], after["batch"]):
                enrolment_changed.send(sender=Enrolment, enrolment=enrolment)
    return enrolment


def record_event(actor, enrolment: Enrolment, *, kind: str, year: int, reason: str, role=None,
                 source: str = "") -> EnrolmentEvent | None:
    """Apply one consequence of a grade to an enrolment and keep it in the enrolment's history.

    kind ``role``: the town is on `role`'s list from `year` on (特色小镇 降格: 创建 → 培育);
    ``exit``: it leaves the programme, `year` being its first year out (淘汰); ``flag``: it is
    flagged from `year` (a 小城市 graded 警告 twice). Idempotent: an enrolment gets one event of a
    kind per year, so applying a run's consequences twice changes nothing (returns None then).
    The enrolment's audit trail records the change (action ``enrolment.event``).
    """
    require(actor, "change", enrolment.town_id)
    if kind not in EnrolmentEvent.Kind.values:
        raise ValidationError({"kind": _("Unknown kind of enrolment event: %(kind)s.") % {"kind": kind}})
    if kind == EnrolmentEvent.Kind.ROLE and (role is None or role.programme_id != enrolment.programme_id):
        raise ValidationError({"role": _("A move to another list names a role of %(programme)s.")
                               % {"programme": enrolment.programme}})
    with transaction.atomic():
        enrolment = Enrolment.objects.select_for_update().get(pk=enrolment.pk)  # no join: PostgreSQL locks no outer join
        if EnrolmentEvent.objects.filter(enrolment=enrolment, kind=kind, year=year).exists():
            return None
        before = audit.snapshot(enrolment, CONSEQUENCE_FIELDS)
        event = EnrolmentEvent(enrolment=enrolment, town_id=enrolment.town_id, programme_id=enrolment.programme_id,
                               year=year, kind=kind, reason=reason[:200], source=source[:200])
        if kind == EnrolmentEvent.Kind.ROLE:
            event.role_before, event.role_after = enrolment.role, role
            enrolment.role = role
        elif kind == EnrolmentEvent.Kind.EXIT:
            if year - 1 < enrolment.year_joined:
                raise ValidationError({"year": _("A town cannot leave a programme before the year after it joined.")})
            enrolment.exit_year = year - 1  # the last year it is in the programme
        else:
            enrolment.flagged_year, enrolment.flag_reason = year, reason[:200]
        enrolment.full_clean(validate_unique=False, validate_constraints=False)
        event.full_clean(validate_constraints=False)
        enrolment.save()
        event.save()
        after = audit.snapshot(enrolment, CONSEQUENCE_FIELDS)
        after["event"] = f"{event.year} {event.get_kind_display()}: {event.reason}"
        audit.record(actor, "enrolment.event", enrolment, before, after, org_code=enrolment.town_id)
        if kind == EnrolmentEvent.Kind.ROLE:
            enrolment_changed.send(sender=Enrolment, enrolment=enrolment)
    return event


def set_target(actor, org_unit, programme, year: int, measure: str, **fields) -> Target:
    refuse_unknown(fields, TARGET_FIELDS)
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


# --- programmes as data: only system administrators change them ----------------------------------

PROGRAMME_FIELDS = ("code", "name", "description", "active")
CATEGORY_FIELDS = ("programme", "code", "name", "order")
ROLE_FIELDS = ("programme", "code", "name")
BATCH_FIELDS = ("programme", "code", "name", "year")
RESERVED_CODES = {"new"}  # /programmes/new/ is the page that adds one


def _require_system_admin(actor) -> None:
    """Programmes are national reference data: the system-wide manage right (system administrators)."""
    if not allows(actor, "manage", ""):
        raise PermissionDenied(_("Only system administrators may change programmes."))


def create_programme(actor, code: str, name: str, description: str = "", active: bool = True, *,
                     categories=(), roles=(), batches=()) -> Programme:
    """Add a programme, optionally with its categories, roles and batches (dicts of their fields)."""
    _require_system_admin(actor)
    programme = Programme(code=(code or "").strip(), name=(name or "").strip(), description=description or "",
                          active=active)
    programme.full_clean(validate_unique=False)
    if programme.code in RESERVED_CODES:
        raise ValidationError({"code": _("“%(code)s” is reserved; choose another code.") % {"code": programme.code}})
    with transaction.atomic():
        if Programme.objects.filter(code=programme.code).exists():
            raise ValidationError({"code": _("A programme with code “%(code)s” already exists.")
                                   % {"code": programme.code}})
        programme.save()
        audit.record(actor, "programme.create", programme, {}, audit.snapshot(programme, PROGRAMME_FIELDS))
        for item in categories:
            add_category(actor, programme, **item)
        for item in roles:
            add_role(actor, programme, **item)
        for item in batches:
            add_batch(actor, programme, **item)
    return programme


def update_programme(actor, programme: Programme, **fields) -> Programme:
    """Change a programme's name, description or active flag (its code is its stable identity)."""
    refuse_unknown(fields, {"name", "description", "active"})
    _require_system_admin(actor)
    with transaction.atomic():
        programme = Programme.objects.select_for_update().get(pk=programme.pk)
        before = audit.snapshot(programme, PROGRAMME_FIELDS)
        for name, value in fields.items():
            setattr(programme, name, value)
        programme.full_clean(validate_unique=False)
        after = audit.snapshot(programme, PROGRAMME_FIELDS)
        if after != before:
            programme.save()
            audit.record(actor, "programme.update", programme, before, after)
    return programme


def _add_part(actor, model, fields, action, programme, **values):
    _require_system_admin(actor)
    obj = model(programme=programme, **values)
    obj.code = (obj.code or "").strip()
    obj.name = (obj.name or "").strip()
    obj.full_clean(validate_unique=False, validate_constraints=False)
    with transaction.atomic():
        if model.objects.filter(programme=programme, code=obj.code).exists():
            raise ValidationError({"code": _("%(programme)s already has a %(kind)s with code “%(code)s”.") % {
                "programme": programme.name, "kind": model._meta.verbose_name, "code": obj.code}})
        obj.save()
        audit.record(actor, action, obj, {}, audit.snapshot(obj, fields))
    return obj


def add_category(actor, programme: Programme, code: str, name: str, order: int | None = None) -> Category:
    """Add a project/indicator category to a programme (placed last unless `order` is given)."""
    if order is None:
        last = programme.categories.order_by("-order").values_list("order", flat=True).first()
        order = (last or 0) + 1
    return _add_part(actor, Category, CATEGORY_FIELDS, "category.add", programme, code=code, name=name, order=order)


def add_role(actor, programme: Programme, code: str, name: str) -> ProgrammeRole:
    """Add a role towns play in a programme (样板创建 / 达标, 创建 / 培育 ...)."""
    return _add_part(actor, ProgrammeRole, ROLE_FIELDS, "role.add", programme, code=code, name=name)


def add_batch(actor, programme: Programme, code: str, name: str, year: int | None = None) -> Batch:
    """Add a batch (第一批, 2020年 ...) to a programme."""
    return _add_part(actor, Batch, BATCH_FIELDS, "batch.add", programme, code=code, name=name, year=year)
