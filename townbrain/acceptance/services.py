"""The one write path for acceptances (省级验收): open, answer, evidence, and the approval chain.

Who acts at each stage — a user whose membership is at the matching level above (or at) the
town, with a role that grants "change" (editor, office administrator); system administrators
may act at every stage:

| stage | who acts | what they may do |
|---|---|---|
| town 乡镇自评, returned 退回整改 | the town (its 9-digit code) | answer items, add/remove evidence, refresh values, submit |
| county 县级初审 | the county (6 digits) | item verdicts, evidence, approve (→ city), return |
| city 市级复核 | the city (4 digits) | item verdicts, evidence, approve (→ province), return |
| province 省级验收 | the province (2 digits) | item verdicts, evidence, sign off with an outcome (→ signed), return |
| signed 已验收 | nobody | the acceptance is frozen |

Opening acceptances needs "add" on the town (a town opens its own; an office opens all of
its area). Every write is atomic and writes one audit row; each move along the chain also
writes a Step. A frozen acceptance refuses everything (ValidationError).
"""

from functools import cache
from pathlib import Path

import yaml
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.assessments import engine
from townbrain.assessments import services as assessment_services
from townbrain.assessments import spec as specs
from townbrain.assessments.models import Scheme
from townbrain.core import audit, codes, conflicts
from townbrain.core.audit_labels import register_actions
from townbrain.core.models import Level, OrgUnit
from townbrain.core.roles import grants
from townbrain.core.scope import ALL, allows, require, scope_prefixes

from . import evidence as evidence_check
from .models import Acceptance, ChecklistItem, Evidence, Stage, Step

register_actions({
    "acceptance.open": gettext_lazy("Opened acceptance"),
    "acceptance.refresh": gettext_lazy("Refreshed acceptance values"),
    "acceptance.submit": gettext_lazy("Submitted acceptance"),
    "acceptance.approve": gettext_lazy("Approved acceptance"),
    "acceptance.return": gettext_lazy("Returned acceptance for correction"),
    "acceptance.sign_off": gettext_lazy("Signed off acceptance"),
    "checklist.assess": gettext_lazy("Self-assessed checklist item"),
    "checklist.review": gettext_lazy("Reviewed checklist item"),
    "evidence.add": gettext_lazy("Added evidence"),
    "evidence.remove": gettext_lazy("Removed evidence"),
})

FACILITIES_FILE = Path(__file__).resolve().parent / "facilities.yaml"
ACCEPTANCE_FIELDS = ("programme", "town", "year", "scheme", "scheme_version", "stage", "outcome", "frozen")
ITEM_FIELDS = ("answer", "note")
VERDICT_FIELDS = ("verdict", "verdict_note", "verdict_stage", "verdict_by_name")

# The level that acts at each stage, and where approve / submit lead.
ACTING_LEVEL = {Stage.TOWN: Level.TOWN, Stage.RETURNED: Level.TOWN, Stage.COUNTY: Level.COUNTY,
                Stage.CITY: Level.CITY, Stage.PROVINCE: Level.PROVINCE}
TOWN_STAGES = (Stage.TOWN, Stage.RETURNED)
REVIEW_STAGES = (Stage.COUNTY, Stage.CITY, Stage.PROVINCE)
NEXT = {Stage.TOWN: Stage.COUNTY, Stage.RETURNED: Stage.COUNTY, Stage.COUNTY: Stage.CITY, Stage.CITY: Stage.PROVINCE}


# --- who may act ---------------------------------------------------------------------------------------

def acting_code(acceptance: Acceptance, stage: str | None = None) -> str:
    """The division code of the office that acts at `stage` (default: the current one)."""
    level = ACTING_LEVEL.get(stage or acceptance.stage)
    return acceptance.town_id[:codes.LEVEL_LENGTHS[level]] if level else ""


def may_act(user, acceptance: Acceptance) -> bool:
    """Whether `user` acts at the acceptance's current stage (see the table above)."""
    if acceptance.frozen or acceptance.stage not in ACTING_LEVEL:
        return False
    if scope_prefixes(user, "change") is ALL:
        return True
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    code = acting_code(acceptance)
    return any(grants(role, "change") for role in
               user.memberships.filter(org_unit_id=code).values_list("role", flat=True))


def _refuse_frozen(acceptance: Acceptance) -> None:
    if acceptance.frozen or Acceptance.objects.filter(pk=acceptance.pk, frozen=True).exists():
        raise ValidationError(_("This acceptance is signed off and frozen: it can no longer be changed."),
                              code="frozen")


def _require_stage(actor, acceptance: Acceptance, stages=None) -> None:
    """Refuse unless the acceptance is open, at one of `stages`, and `actor` acts at its stage."""
    require(actor, "view", acceptance.town_id)
    _refuse_frozen(acceptance)
    if not may_act(actor, acceptance):
        level = ACTING_LEVEL[acceptance.stage]
        raise PermissionDenied(
            _("At the stage “%(stage)s” only an editor or office administrator of %(level)s %(code)s may act.")
            % {"stage": acceptance.get_stage_display(), "level": Level(level).label, "code": acting_code(acceptance)})
    if stages is not None and acceptance.stage not in stages:
        raise ValidationError(_("This cannot be done at the stage “%(stage)s”.")
                              % {"stage": acceptance.get_stage_display()}, code="stage")


def _locked(acceptance: Acceptance) -> Acceptance:
    """The acceptance as it is now in the database, locked for the transaction."""
    return Acceptance.objects.select_for_update().select_related("town").get(pk=acceptance.pk)


def expect_version(acceptance: Acceptance, expected) -> None:
    """conflicts.Conflict unless the (locked) acceptance is still at version `expected` (None: no check).
    What changed: the acceptance's own audit rows, its items' and its evidence's (evidence removed
    meanwhile is no longer found by id: its row may be missing from the list)."""
    if conflicts.parse_version(expected) in (None, acceptance.version):
        return
    items = list(acceptance.items.values_list("pk", flat=True))
    evidence = list(acceptance.evidence.values_list("pk", flat=True))
    labels = {f.name: str(f.verbose_name) for model in (Evidence, ChecklistItem, Acceptance)
              for f in model._meta.concrete_fields}
    conflicts.expect_version(acceptance, expected, conflicts.entries_of(
        acceptance, ("checklistitem", items), ("evidence", evidence)), labels=labels)


def _bump(acceptance: Acceptance, *followers) -> None:
    """One more version of the (locked) acceptance: every audited change of it or its parts counts one."""
    Acceptance.objects.filter(pk=acceptance.pk).update(version=F("version") + 1)
    acceptance.version += 1
    for other in followers:
        other.version = acceptance.version


# --- the checklist -------------------------------------------------------------------------------------

@cache
def _facility_file() -> dict:
    return yaml.safe_load(FACILITIES_FILE.read_text(encoding="utf-8")) or {}


def facilities_for(programme_code: str) -> list[dict]:
    """The facility checklist of a programme ([{code, name}]); empty when it has none.

    From `facilities.yaml`, or the setting ACCEPTANCE_FACILITIES ({programme code: [...]}) when set.
    """
    configured = getattr(settings, "ACCEPTANCE_FACILITIES", None)
    table = configured if configured is not None else _facility_file()
    return list(table.get(programme_code) or [])


def binding_spec(spec: dict) -> dict:
    """The scheme reduced to its binding criteria (what the checklist reads values for)."""
    out = dict(spec)
    out["groups"] = [{**g, "criteria": [c for c in g["criteria"] if c.get("binding")]} for g in spec["groups"]]
    out["groups"] = [g for g in out["groups"] if g["criteria"]]
    return out


def read_values(spec: dict, town_code: str, year: int) -> dict[str, tuple]:
    """{criterion code: (value, met)} of the binding criteria for the town and year, read by the assessment engine."""
    reduced = binding_spec(spec)
    if not reduced["groups"]:
        return {}
    outcome = engine.run(reduced, year, towns=[engine.Town(town_code)])
    result = outcome.results[0]
    criteria = [c for _g, c in specs.criteria(reduced)]
    return {c["code"]: (value, value is not None and c["code"] not in result.vetoes)
            for c, value in zip(criteria, result.breakdown["values"], strict=True)}


def _build_items(acceptance: Acceptance) -> list[ChecklistItem]:
    spec = acceptance.snapshot
    values = read_values(spec, acceptance.town_id, acceptance.year)
    items, order = [], 0
    for _group, c in specs.criteria(spec):
        if not c.get("binding"):
            continue
        order += 1
        value, met = values.get(c["code"], (None, None))
        items.append(ChecklistItem(acceptance=acceptance, group=ChecklistItem.Group.BINDING, code=c["code"],
                                   label=c["name"][:200], order=order, criterion_code=c["code"],
                                   unit=c.get("unit", "")[:20], value=value, value_met=met if value is not None else None))
    for f in facilities_for(spec["programme"]):
        order += 1
        items.append(ChecklistItem(acceptance=acceptance, group=ChecklistItem.Group.FACILITY, code=f["code"],
                                   label=f["name"][:200], order=order))
    return items


def default_scheme(programme, town_code: str, year: int) -> Scheme:
    """The programme's official scheme for the year that applies to the town's programme role."""
    from townbrain.programmes.models import Enrolment

    role = Enrolment.objects.filter(programme=programme, town_id=town_code).values_list("role__code", flat=True).first()
    for scheme in assessment_services.official_schemes(programme, year):
        if not scheme.roles or (role and role in scheme.roles):
            return scheme
    raise ValidationError({"scheme": _("%(programme)s has no official assessment scheme for %(year)s to build the "
                                       "checklist from.") % {"programme": programme.name, "year": year}})


def _check_open(programme, town: OrgUnit, year: int, scheme: Scheme | None) -> Scheme:
    if not 1990 <= int(year) <= 2100:
        raise ValidationError({"year": _("A year between 1990 and 2100.")})
    if town.level != Level.TOWN:
        raise ValidationError({"town": _("Acceptances are for towns; %(name)s (%(code)s) is not a town.")
                               % {"name": town.name, "code": town.code}})
    if not engine.enrolled_queryset(programme, int(year)).filter(town=town).exists():
        raise ValidationError({"town": _("%(name)s is not enrolled in %(programme)s in %(year)s.")
                               % {"name": town.name, "programme": programme.name, "year": year}})
    if Acceptance.objects.filter(programme=programme, town=town, year=year).exists():
        raise ValidationError({"town": _("%(name)s already has an acceptance of %(programme)s for %(year)s.")
                               % {"name": town.name, "programme": programme.name, "year": year}})
    if scheme is None:
        return default_scheme(programme, town.code, int(year))
    if scheme.programme_id != programme.pk:
        raise ValidationError({"scheme": _("The scheme %(scheme)s is not a scheme of %(programme)s.")
                               % {"scheme": scheme.code, "programme": programme.name}})
    return scheme


def open_acceptance(actor, programme, town: OrgUnit, year: int, scheme: Scheme | None = None) -> Acceptance:
    """Open a town's acceptance for a year and build its checklist (binding criteria + facilities)."""
    require(actor, "add", town.code)
    year = int(year)
    scheme = _check_open(programme, town, year, scheme)
    scheme = Scheme.objects.select_related("programme").get(pk=scheme.pk)
    spec = specs.from_scheme(scheme, with_elements=False)
    with transaction.atomic():
        acceptance = Acceptance(programme=programme, town=town, year=year, scheme=scheme,
                                scheme_version=scheme.version, snapshot=spec, stage=Stage.TOWN,
                                values_read_at=timezone.now(), opened_by_name=getattr(actor, "username", "") or "system")
        acceptance.full_clean(exclude=["snapshot"])
        acceptance.save()
        items = _build_items(acceptance)
        ChecklistItem.objects.bulk_create(items)
        after = audit.snapshot(acceptance, ACCEPTANCE_FIELDS)
        after["checklist_items"] = len(items)  # not "items": the audit page reads changes.items
        audit.record(actor, "acceptance.open", acceptance, {}, after, org_code=town.code)
    return acceptance


def open_acceptances(actor, programme, year: int, area: str, scheme: Scheme | None = None) -> dict:
    """Open the acceptances of every town enrolled in the programme in `area` that has none yet for the year.

    {"opened": [acceptances], "existing": n}. Towns outside the actor's area are refused as a whole.
    """
    area = codes.normalize(area)
    if not OrgUnit.objects.filter(code=area).exists():
        raise ValidationError({"area": _("There is no org unit %(code)s.") % {"code": area}})
    require(actor, "add", area)
    year = int(year)
    towns = [t for t in OrgUnit.objects.filter(code__in=engine.enrolled_queryset(programme, year, area=area)
                                               .values("town_id")).order_by("code")]
    existing = set(Acceptance.objects.filter(programme=programme, year=year, town__in=towns)
                   .values_list("town_id", flat=True))
    opened = []
    with transaction.atomic():
        for town in towns:
            if town.code not in existing:
                opened.append(open_acceptance(actor, programme, town, year, scheme))
    return {"opened": opened, "existing": len(existing)}


def refresh_values(actor, acceptance: Acceptance, *, expected_version=None) -> Acceptance:
    """Read the binding criteria's values again (the acceptance's scheme snapshot, the indicators as they are now)."""
    _require_stage(actor, acceptance)
    with transaction.atomic():
        acceptance = _locked(acceptance)
        _refuse_frozen(acceptance)
        expect_version(acceptance, expected_version)
        values = read_values(acceptance.snapshot, acceptance.town_id, acceptance.year)
        before, after = {}, {}
        for item in acceptance.items.filter(group=ChecklistItem.Group.BINDING):
            value, met = values.get(item.criterion_code, (None, None))
            met = met if value is not None else None
            if (item.value, item.value_met) != (value, met):
                key = f"{item.code}.value"
                before[key], after[key] = [item.value, item.value_met], [value, met]
                item.value, item.value_met = value, met
                item.save(update_fields=["value", "value_met"])
        acceptance.values_read_at = timezone.now()
        acceptance.version += 1
        acceptance.save(update_fields=["values_read_at", "version", "updated"])
        audit.record(actor, "acceptance.refresh", acceptance, before, after, org_code=acceptance.town_id)
    return acceptance


# --- answers and verdicts -------------------------------------------------------------------------------

def self_assess_item(actor, item: ChecklistItem, answer: str, note: str = "", *, expected_version=None) -> ChecklistItem:
    """The town's self-assessment of one item: met / not met / not applicable, and a note."""
    acceptance = item.acceptance
    _require_stage(actor, acceptance, TOWN_STAGES)
    if answer not in ChecklistItem.Answer.values:
        raise ValidationError({"answer": _("Choose met, not met or not applicable.")})
    with transaction.atomic():
        locked = _locked(acceptance)
        _refuse_frozen(locked)
        expect_version(locked, expected_version)
        item = ChecklistItem.objects.select_for_update().get(pk=item.pk)
        before = audit.snapshot(item, ITEM_FIELDS)
        item.answer, item.note = answer, (note or "").strip()
        item.full_clean(exclude=["acceptance"])
        after = audit.snapshot(item, ITEM_FIELDS)
        if after != before:
            item.save()
            audit.record(actor, "checklist.assess", item, before, after, org_code=acceptance.town_id)
            _bump(locked, acceptance)
    return item


def review_item(actor, item: ChecklistItem, verdict: str, note: str = "", *, expected_version=None) -> ChecklistItem:
    """A reviewer's verdict on one item at their stage (the last verdict shows; the audit log keeps them all)."""
    acceptance = item.acceptance
    _require_stage(actor, acceptance, REVIEW_STAGES)
    if verdict not in ChecklistItem.Verdict.values:
        raise ValidationError({"verdict": _("Choose agreed or not agreed.")})
    with transaction.atomic():
        locked = _locked(acceptance)
        _refuse_frozen(locked)
        expect_version(locked, expected_version)
        item = ChecklistItem.objects.select_for_update().get(pk=item.pk)
        before = audit.snapshot(item, VERDICT_FIELDS)
        item.verdict, item.verdict_note = verdict, (note or "").strip()
        item.verdict_stage, item.verdict_by_name = acceptance.stage, getattr(actor, "username", "") or "system"
        item.full_clean(exclude=["acceptance"])
        after = audit.snapshot(item, VERDICT_FIELDS)
        if after != before:
            item.save()
            audit.record(actor, "checklist.review", item, before, after, org_code=acceptance.town_id)
            _bump(locked, acceptance)
    return item


# --- evidence -------------------------------------------------------------------------------------------

def add_evidence(actor, acceptance: Acceptance, upload, item: ChecklistItem | None = None, *,
                 expected_version=None) -> Evidence:
    """Store an uploaded image or PDF (checked from its bytes) under MEDIA_ROOT/evidence/<acceptance id>/."""
    _require_stage(actor, acceptance)
    if item is not None and item.acceptance_id != acceptance.pk:
        raise ValidationError({"item": _("The item does not belong to this acceptance.")})
    if upload is None:
        raise ValidationError({"file": _("Choose a file to upload.")})
    try:
        checked = evidence_check.check(upload)
    except ValidationError as exc:
        raise ValidationError({"file": exc.messages}) from None
    original = Path(getattr(upload, "name", "") or "upload").name[:255] or "upload"
    stored = None
    try:
        with transaction.atomic():
            locked = _locked(acceptance)
            _refuse_frozen(locked)
            expect_version(locked, expected_version)
            evidence = Evidence(acceptance=acceptance, item=item, original_name=original,
                                content_type=checked.content_type, size=checked.size, sha256=checked.sha256,
                                uploaded_by=actor if getattr(actor, "pk", None) else None,
                                uploaded_by_name=getattr(actor, "username", "") or "system")
            evidence.file.save(f"upload.{checked.extension}", ContentFile(checked.data), save=False)
            stored = evidence.file.name
            evidence.save()
            audit.record(actor, "evidence.add", evidence, {},
                         {"original_name": original, "content_type": checked.content_type, "size": checked.size,
                          "sha256": checked.sha256, "item": item.code if item else None},
                         org_code=acceptance.town_id)
            _bump(locked, acceptance)
    except BaseException:
        if stored:
            evidence.file.storage.delete(stored)
        raise
    return evidence


def remove_evidence(actor, evidence: Evidence, *, expected_version=None) -> None:
    acceptance = evidence.acceptance
    _require_stage(actor, acceptance)
    with transaction.atomic():
        locked = _locked(acceptance)
        _refuse_frozen(locked)
        expect_version(locked, expected_version)
        name, storage = evidence.file.name, evidence.file.storage
        audit.record(actor, "evidence.remove", evidence,
                     {"original_name": evidence.original_name, "sha256": evidence.sha256}, {},
                     org_code=acceptance.town_id)
        _bump(locked, acceptance)
        evidence.delete()
        transaction.on_commit(lambda: storage.delete(name))


# --- the approval chain ---------------------------------------------------------------------------------

def _move(actor, original: Acceptance, action: str, to_stage: str, comment: str, expected_version=None,
          **changes) -> Acceptance:
    """Write the step, the new stage (and whatever else changes) and the audit row, in the open transaction.

    The caller's object follows the change too.
    """
    acceptance = _locked(original)
    _refuse_frozen(acceptance)
    expect_version(acceptance, expected_version)
    if acceptance.stage != original.stage:
        raise ValidationError(_("Someone moved this acceptance on meanwhile; reload it and try again."), code="stale")
    from_stage = acceptance.stage
    before = audit.snapshot(acceptance, ACCEPTANCE_FIELDS)
    Step.objects.create(acceptance=acceptance, from_stage=from_stage, to_stage=to_stage, action=action,
                        comment=comment, actor=actor if getattr(actor, "pk", None) else None,
                        actor_name=getattr(actor, "username", "") or "system")
    acceptance.stage = to_stage
    for name, value in changes.items():
        setattr(acceptance, name, value)
    acceptance.version += 1
    acceptance.save()
    after = audit.snapshot(acceptance, ACCEPTANCE_FIELDS)
    if comment:
        after["comment"] = comment
    audit.record(actor, f"acceptance.{action}", acceptance, before, after, org_code=acceptance.town_id)
    for name in ("stage", "outcome", "frozen", "frozen_at", "version", "updated"):
        setattr(original, name, getattr(acceptance, name))
    return acceptance


def submit(actor, acceptance: Acceptance, comment: str = "", *, expected_version=None) -> Acceptance:
    """The town submits its self-assessment to the county (every item answered)."""
    _require_stage(actor, acceptance, TOWN_STAGES)
    with transaction.atomic():
        _refuse_frozen(_locked(acceptance))
        open_items = list(acceptance.items.filter(answer="").values_list("label", flat=True))
        if open_items:
            raise ValidationError(_("Answer every item before submitting; not answered yet: %(items)s.")
                                  % {"items": "、".join(open_items)}, code="unanswered")
        return _move(actor, acceptance, Step.Action.SUBMIT, NEXT[acceptance.stage], (comment or "").strip(),
                     expected_version)


def approve(actor, acceptance: Acceptance, comment: str = "", *, expected_version=None) -> Acceptance:
    """The county (→ city) or the city (→ province) passes the acceptance on."""
    _require_stage(actor, acceptance, (Stage.COUNTY, Stage.CITY))
    with transaction.atomic():
        return _move(actor, acceptance, Step.Action.APPROVE, NEXT[acceptance.stage], (comment or "").strip(),
                     expected_version)


def return_for_correction(actor, acceptance: Acceptance, comment: str, *, expected_version=None) -> Acceptance:
    """Any reviewer sends the acceptance back to the town (退回整改); the comment says what to correct."""
    _require_stage(actor, acceptance, REVIEW_STAGES)
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": _("Say what must be corrected: returning needs a comment.")})
    with transaction.atomic():
        return _move(actor, acceptance, Step.Action.RETURN, Stage.RETURNED, comment, expected_version)


def sign_off(actor, acceptance: Acceptance, outcome: str, comment: str = "", *, expected_version=None) -> Acceptance:
    """The province signs the acceptance off with an outcome (a grade of the scheme); it is frozen from now on."""
    _require_stage(actor, acceptance, (Stage.PROVINCE,))
    grades = acceptance.grade_names
    if outcome not in grades:
        raise ValidationError({"outcome": _("Choose the outcome from %(grades)s.") % {"grades": " / ".join(grades)}})
    with transaction.atomic():
        return _move(actor, acceptance, Step.Action.SIGN_OFF, Stage.SIGNED, (comment or "").strip(),
                     expected_version, outcome=outcome, frozen=True, frozen_at=timezone.now())


def available_actions(user, acceptance: Acceptance) -> list[str]:
    """What `user` may do now: answer, review, evidence, refresh, submit, approve, return, sign_off."""
    if not allows(user, "view", acceptance.town_id) or not may_act(user, acceptance):
        return []
    if acceptance.stage in TOWN_STAGES:
        return ["answer", "evidence", "refresh", "submit"]
    if acceptance.stage == Stage.PROVINCE:
        return ["review", "evidence", "refresh", "return", "sign_off"]
    return ["review", "evidence", "refresh", "approve", "return"]
