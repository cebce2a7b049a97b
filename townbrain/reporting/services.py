"""The one write path of the reporting cycle: the steps (submit, approve, return, lock, unlock) on
one town or many at once, deadline rules and overrides, reminders. Each call is atomic and audited.

Who may take a step:
- submit: anyone who may change the town's data (its editor or office, or an office above);
- approve, return, lock, unlock: an office or editor *above* the town (with `change` at the
  county the town belongs to, or higher) — a town never approves its own reports.
A second approve by someone with `change` at the city records the city's approval (optional).
"""

from copy import copy

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from townbrain.core import audit, bulk, codes, periods
from townbrain.core.notify import notify
from townbrain.core.scope import allows, require

from .deadlines import Deadlines, working_days_late
from .models import DeadlineOverride, DeadlineRule, Kind, Status, Submission

STEPS = ("submit", "approve", "return", "lock", "unlock")
FIELDS = ("status", "deadline", "submitted_at", "late_days", "approved_at", "approved_level", "locked_at",
          "returned_count", "comment")


def step_label(step: str) -> str:
    # A context of their own: "return" and "lock" mean other things elsewhere in the catalogue.
    return {"submit": pgettext("reporting step", "submit"), "approve": pgettext("reporting step", "approve"),
            "return": pgettext("reporting step", "return"), "lock": pgettext("reporting step", "lock"),
            "unlock": pgettext("reporting step", "unlock")}.get(step, step)


def clean_period(period, kind: str = Kind.PROGRESS) -> str:
    try:
        if kind == Kind.PROGRESS:
            return periods.month_id(*periods.parse_month(period))
        return periods.canonical(period)
    except periods.InvalidPeriod as exc:
        raise ValidationError({"period": str(exc)}) from exc


def take_step(actor, town, programme, period, step: str, comment: str = "", *, kind: str = Kind.PROGRESS,
              at=None) -> Submission:
    """One town's step; raises the error that refuses it."""
    (result,) = take_steps(actor, [town], programme, period, step, comment, kind=kind, at=at, atomic_all=True)
    return result


def take_steps(actor, towns, programme, period, step: str, comment: str = "", *, kind: str = Kind.PROGRESS,
               at=None, atomic_all: bool = False) -> list:
    """The step for many towns in one transaction (an office's bulk approve): for each town its
    Submission, or the error that refused it (the others still go through). With atomic_all the
    first refusal is raised and nothing is written. `at` is when the step happened (now; the demo
    replays 2020)."""
    if step not in STEPS:
        raise ValidationError({"step": _("Unknown step “%(step)s”; use %(steps)s.")
                               % {"step": step, "steps": ", ".join(STEPS)}})
    period = clean_period(period, kind)
    comment = (comment or "").strip()
    if step == "return" and not comment:
        raise ValidationError({"comment": _("Say why the reports go back to the town.")})
    if step == "unlock" and not comment:
        raise ValidationError({"reason": _("Give the reason for unlocking.")})
    if len(comment) > 500:
        raise ValidationError({"comment": _("A comment has at most %(n)s characters.") % {"n": 500}})
    at = at or timezone.now()
    towns = list(towns)
    with transaction.atomic():
        rows = Submission.objects.select_for_update().filter(programme=programme, kind=kind, period=period)
        stored = {s.town_id: s for s in bulk.where_in(rows.order_by("pk"), "town_id", [t.code for t in towns])}
        due = Deadlines().due(programme.pk, period, kind)
        results, new, changed, rows_audit = [], [], [], []
        for town in towns:
            was = stored.get(town.code)
            sub = copy(was) if was else bulk.instance(Submission, {
                "town": town, "programme": programme, "kind": kind, "period": period, "status": Status.ENTERING})
            try:
                _apply(actor, sub, town, step, comment, at, due)
            except (ValidationError, PermissionDenied) as exc:
                if atomic_all:
                    raise
                results.append(exc)
                continue
            sub.town, sub.programme = town, programme  # naming it (audit) reads nothing again
            sub.updated_by = actor if getattr(actor, "pk", None) else None
            (changed if was else new).append(sub)
            rows_audit.append((sub, audit.snapshot(was, FIELDS) if was else None))
            results.append(sub)
        now = timezone.now()
        for sub in new:
            sub.created = sub.updated = now
        for sub in changed:
            sub.updated = now
        bulk.insert(Submission, new)
        _update(changed)
        audit.record_all(actor, ((f"submission.{step}", sub, before, audit.snapshot(sub, FIELDS), sub.town_id)
                                 for sub, before in rows_audit))
        if step == "return":
            for sub in new + changed:
                _tell_town(sub, _("%(programme)s reports of %(period)s were returned: %(comment)s") % {
                    "programme": programme.name, "period": period, "comment": comment})
    return results


def _update(changed) -> None:
    """Write the changed rows as one UPDATE per set of equal values: a step on a county's towns at once
    gives them the same values but for a few (late days, comments), so this is a handful of
    statements — Django's bulk_update (CASE per row and field) took seconds for a hundred rows."""
    groups = {}
    for sub in changed:
        values = {name: getattr(sub, name) for name in (*FIELDS, "updated", "updated_by_id")}
        groups.setdefault(tuple(values.items()), []).append(sub.pk)
    for values, pks in groups.items():
        for piece in bulk.pieces(pks, bulk.IN_CHUNK):
            Submission.objects.filter(pk__in=piece).update(**dict(values))


def _require_above(actor, town, step: str) -> None:
    parent = codes.parent_of(town.code)
    if not parent or not allows(actor, "change", parent):
        raise PermissionDenied(_("Only an office above %(town)s may %(step)s its reports.")
                               % {"town": town.name, "step": step_label(step)})


def _refuse(sub, step: str):
    raise ValidationError({"status": _("%(town)s's reports of %(period)s are %(status)s: you cannot %(step)s them.") % {
        "town": sub.town.name, "period": sub.period, "status": Status(sub.status).label, "step": step_label(step)}})


def _apply(actor, sub: Submission, town, step: str, comment: str, at, due) -> None:
    if step == "submit":
        require(actor, "change", town.code)
        if sub.status not in (Status.ENTERING, Status.RETURNED):
            _refuse(sub, step)
        sub.status = Status.SUBMITTED
        if sub.submitted_at is None:  # timeliness counts the first submission; a resubmission after 退回 does not reset it
            sub.submitted_at, sub.deadline = at, due
            sub.late_days = working_days_late(due, timezone.localtime(at).date())
        if comment:
            sub.comment = comment
        return
    _require_above(actor, town, step)
    if step == "approve":
        if sub.status == Status.SUBMITTED:
            sub.status, sub.approved_at, sub.approved_level = Status.APPROVED, at, "county"
        elif sub.status == Status.APPROVED and sub.approved_level == "county" and allows(actor, "change", town.code[:4]):
            sub.approved_level, sub.approved_at = "city", at  # the city's optional second approval
        else:
            _refuse(sub, step)
    elif step == "return":
        if sub.status not in (Status.SUBMITTED, Status.APPROVED):
            _refuse(sub, step)
        sub.status, sub.approved_at, sub.approved_level = Status.RETURNED, None, ""
        sub.returned_count += 1
        sub.comment = comment
    elif step == "lock":
        if sub.status not in (Status.SUBMITTED, Status.APPROVED):
            _refuse(sub, step)
        sub.status, sub.locked_at = Status.LOCKED, at
        if sub.approved_at is None:
            sub.approved_at, sub.approved_level = at, "county"  # locking approves what it locks
    elif step == "unlock":
        if sub.status not in (Status.SUBMITTED, Status.APPROVED, Status.LOCKED):
            _refuse(sub, step)
        sub.status, sub.locked_at, sub.approved_at, sub.approved_level = Status.ENTERING, None, None, ""
        sub.comment = comment


def town_users(code: str, roles=("editor", "office_admin")):
    """The active users who work for the town itself (memberships at its code)."""
    from townbrain.access.models import Membership

    return [m.user for m in Membership.objects.filter(org_unit_id=code, role__in=roles, user__is_active=True)
            .select_related("user").order_by("user_id")]


def _tell_town(sub: Submission, text: str) -> None:
    from django.urls import reverse

    url = reverse("reporting-town", args=[sub.town_id, sub.programme.code, sub.period])
    notify("reporting", town_users(sub.town_id), text, url)


def set_deadline_rule(actor, programme, day: int, kind: str = Kind.PROGRESS) -> DeadlineRule:
    """Day N of the following month for a programme (None: every programme): system administrators."""
    require(actor, "manage", "")
    with transaction.atomic():
        rule = DeadlineRule.objects.select_for_update().filter(programme=programme, kind=kind).first()
        before = audit.snapshot(rule, ("day",)) if rule else {}
        rule = rule or DeadlineRule(programme=programme, kind=kind, day=day)
        rule.day = day
        rule.full_clean(validate_constraints=False, validate_unique=False)
        rule.save()
        audit.record(actor, "deadline.rule", rule, before, audit.snapshot(rule, ("day",)))
    return rule


def set_deadline_override(actor, programme, period, due, reason: str = "", kind: str = Kind.PROGRESS
                          ) -> DeadlineOverride:
    """One period's own deadline (a holiday, a provincial date brought forward): system administrators."""
    require(actor, "manage", "")
    period = clean_period(period, kind)
    with transaction.atomic():
        o = DeadlineOverride.objects.select_for_update().filter(programme=programme, kind=kind, period=period).first()
        before = audit.snapshot(o, ("due", "reason")) if o else {}
        o = o or DeadlineOverride(programme=programme, kind=kind, period=period, due=due)
        o.due, o.reason = due, reason
        o.full_clean(validate_constraints=False, validate_unique=False)
        o.save()
        audit.record(actor, "deadline.override", o, before, audit.snapshot(o, ("due", "reason")))
    return o


REMIND_BEFORE_DAYS = 3  # a town hears of a deadline this many calendar days before it (and on the day)


def remind(today=None) -> dict:
    """Send the reminders due today (idempotent: each town, period, stage and user hears once; run daily).

    - before: from REMIND_BEFORE_DAYS days before the deadline, the town's editors and office of each
      town that has not submitted the last month's reports;
    - late: once the deadline has passed, the same people again and the county's office, for the
      last two months still not submitted (the county also sees them on its cockpit and board).
    In the app through core.notify (the bell's owner stores it) and by e-mail; Reminder keeps the record.
    """
    from types import SimpleNamespace

    from django.urls import reverse

    from townbrain.core.scope import SYSTEM
    from townbrain.programmes.models import Programme

    from . import timeliness
    from .models import Reminder

    today = today or timezone.localdate()
    this_month = periods.month_id(today.year, today.month)
    last = periods.previous_month(this_month)
    candidates = [last, periods.previous_month(last)]
    everywhere = SimpleNamespace(code="")
    sent = {"before": 0, "late": 0}
    deadlines = Deadlines()
    with transaction.atomic():
        for programme in Programme.objects.filter(active=True).order_by("pk"):
            for period in candidates:
                due = deadlines.due(programme.pk, period)
                left = (due - today).days
                stage = Reminder.Stage.LATE if left < 0 else Reminder.Stage.BEFORE if left <= REMIND_BEFORE_DAYS else None
                if stage is None or (stage == Reminder.Stage.BEFORE and period != last):
                    continue
                rows = [r for r in timeliness.rows(SYSTEM, everywhere, programme, period, today=today, deadlines=deadlines)
                        if r.submitted_at is None and r.status not in (Status.SUBMITTED, Status.APPROVED, Status.LOCKED)]
                done = set(Reminder.objects.filter(programme=programme, kind=Kind.PROGRESS, period=period, stage=stage)
                           .values_list("town_id", "user_id"))
                for r in rows:
                    url = reverse("reporting-town", args=[r.town.code, programme.code, period])
                    if stage == Reminder.Stage.BEFORE:
                        text = _("%(town)s: the %(programme)s reports of %(period)s are due on %(due)s "
                                 "(%(n)s days left).") % {"town": r.town.name, "programme": programme.name,
                                                          "period": period, "due": due.isoformat(), "n": left}
                        users = town_users(r.town.code)
                    else:
                        text = _("%(town)s: the %(programme)s reports of %(period)s were due on %(due)s and are "
                                 "%(n)s working days late.") % {"town": r.town.name, "programme": programme.name,
                                                                "period": period, "due": due.isoformat(),
                                                                "n": r.late_days or 0}
                        users = town_users(r.town.code) + town_users(codes.parent_of(r.town.code))
                    users = [u for u in {u.pk: u for u in users}.values() if (r.town.code, u.pk) not in done]
                    if not users:
                        continue
                    Reminder.objects.bulk_create([Reminder(town=r.town, programme=programme, kind=Kind.PROGRESS,
                                                           period=period, stage=stage, user=u, message=text[:300],
                                                           url=url, sent_at=timezone.now()) for u in users])
                    notify("reporting", users, text, url)
                    sent[stage] += len(users)
    return sent
