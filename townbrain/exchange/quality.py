"""Data quality: the warnings of the data standard, and the register that keeps them.

Every import rule is one of two kinds (docs/data-standard.md, "Errors and warnings"):

- an **error** when a row breaks the standard or would make a figure wrong — the row is refused
  (raised by the parsers, the kinds and the apps' services, as before);
- a **warning** when the record is valid but incomplete or unusual — it is written, and the warning
  is kept here: in the import plan beside the errors, then in the register (`DataWarning`) until the
  record no longer has the problem.

A warning rule is a property of the stored record, not of the file, so the same rule finds the
problem in an import's plan (`row_warnings`, on the object the row would write), in a record
entered by a form, and in the register's sync (`sync`, as one query per rule). Rules therefore
come in pairs: `test(obj, today)` in Python and `q(today)` in the database, which must agree
(tests check it).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from townbrain.core import bulk

FAR_YEARS = 10  # a planned date further ahead than this is a typo more often than a plan
# The mainland's bounding box, generously (WGS-84): a point outside it has its coordinates swapped or mistyped.
CHINA_LAT, CHINA_LNG = (3, 54), (73, 136)


@dataclass(frozen=True)
class Rule:
    code: str
    object_type: str
    column: str  # the standard's header the warning points at
    field: str  # the record's field that column fills (its value is shown)
    message: Any  # lazy, may use %(value)s
    test: Callable[[Any, date], bool]
    q: Callable[[date], Q]
    value: Callable[[Any], Any] | None = None

    def value_of(self, obj):
        return self.value(obj) if self.value else getattr(obj, self.field)

    def text(self, params: dict) -> str:
        return str(self.message) % params if "%(" in str(self.message) else str(self.message)


def _far(today: date) -> date:
    return today.replace(year=today.year + FAR_YEARS) if not (today.month == 2 and today.day == 29) \
        else today + timedelta(days=365 * FAR_YEARS)


def future_rule(code, object_type, column, name, message, far=False) -> Rule:
    """The record's date `name` lies after today (with `far`, more than FAR_YEARS ahead)."""
    def limit(today):
        return _far(today) if far else today

    return Rule(code, object_type, column, name, message,
                test=lambda obj, today: getattr(obj, name) is not None and getattr(obj, name) > limit(today),
                q=lambda today: Q(**{f"{name}__gt": limit(today)}))


def _outside_china(obj, today) -> bool:
    lat, lng = obj.latitude, obj.longitude
    return lat is not None and lng is not None and not (
        CHINA_LAT[0] <= lat <= CHINA_LAT[1] and CHINA_LNG[0] <= lng <= CHINA_LNG[1])


_OUTSIDE_Q = (Q(latitude__isnull=False) & Q(longitude__isnull=False)
              & (Q(latitude__lt=CHINA_LAT[0]) | Q(latitude__gt=CHINA_LAT[1])
                 | Q(longitude__lt=CHINA_LNG[0]) | Q(longitude__gt=CHINA_LNG[1])))
_OPEN_STATUSES = ("planned", "preparing", "started", "suspended")

RULES: list[Rule] = [
    Rule("completion_date_missing", "project", "实际完工日期", "actual_completion",
         _("Completed, but the actual completion date (实际完工日期) is missing; add it when it is known."),
         test=lambda p, today: p.status == "completed" and p.actual_completion is None,
         q=lambda today: Q(status="completed", actual_completion__isnull=True),
         value=lambda p: ""),
    future_rule("actual_start_future", "project", "实际开工日期", "actual_start",
                _("The actual start date %(value)s lies in the future.")),
    future_rule("actual_completion_future", "project", "实际完工日期", "actual_completion",
                _("The actual completion date %(value)s lies in the future.")),
    future_rule("planned_start_far", "project", "计划开工日期", "planned_start",
                _("The planned start date %(value)s is more than 10 years ahead; is the year right?"), far=True),
    future_rule("planned_completion_far", "project", "计划完工日期", "planned_completion",
                _("The planned completion date %(value)s is more than 10 years ahead; is the year right?"), far=True),
    Rule("annual_plan_zero", "project", "年度计划投资(万元)", "annual_plan",
         _("The annual plan is 0 万元 for a project still under way; the investment completion rate cannot be "
           "computed for it."),
         test=lambda p, today: p.annual_plan == 0 and p.status in _OPEN_STATUSES,
         q=lambda today: Q(annual_plan=0, status__in=_OPEN_STATUSES)),
    Rule("location_outside_china", "project", "经度", "longitude",
         _("The point (longitude %(value)s) lies outside China; are 经度 and 纬度 swapped?"),
         test=_outside_china, q=lambda today: _OUTSIDE_Q),
    Rule("activity_type_unknown", "expertactivity", "活动类型", "activity_type",
         _("“%(value)s” is not an activity type of the vocabulary; it is filed under 其他 with the word kept. "
           "A province office can add it as a synonym."),
         test=lambda a, today: a.activity_type_id == "other" and bool(a.type_word),
         q=lambda today: Q(activity_type_id="other") & ~Q(type_word=""), value=lambda a: a.type_word),
    future_rule("activity_date_future", "expertactivity", "活动日期", "date",
                _("The activity date %(value)s lies in the future.")),
    Rule("activity_no_person_times", "expertactivity", "驻镇规划师人次", "resident_planner_count",
         _("No person-times (人次) of any kind of expert are recorded."),
         test=lambda a, today: not (a.chief_designer_count or a.resident_planner_count or a.adviser_count),
         q=lambda today: Q(chief_designer_count=0, resident_planner_count=0, adviser_count=0),
         value=lambda a: 0),
]
BY_CODE = {r.code: r for r in RULES}


@dataclass(frozen=True)
class Subject:
    """What the register needs to know of a kind of record."""

    model: Callable[[], Any]
    scope: str  # attribute holding the org code
    related: tuple[str, ...]
    describe: Callable[[Any], str]
    url_name: str
    label: Any


def _project_model():
    from townbrain.projects.models import Project

    return Project


def _activity_model():
    from townbrain.experts.models import ExpertActivity

    return ExpertActivity


SUBJECTS = {
    "project": Subject(_project_model, "town_id", ("town",), lambda p: f"{p.code} {p.name}", "project-detail",
                       _("Project")),
    "expertactivity": Subject(_activity_model, "town_id", ("town", "activity_type"),
                              lambda a: f"{a.date:%Y-%m-%d} {a.town.name} {a.type_label}", "expert-activity-edit",
                              _("Expert activity")),
}


def register(object_type: str, subject: Subject, rules: list[Rule]) -> None:
    """Teach the register a kind of record and its rules: the kinds of the apps above the first ones
    (deals, expert problems, publicity) register theirs when their module is imported, once."""
    if object_type in SUBJECTS:
        return
    RULES.extend(rules)
    BY_CODE.update({r.code: r for r in rules})
    SUBJECTS[object_type] = subject


def rules_for(object_type: str) -> list[Rule]:
    return [r for r in RULES if r.object_type == object_type]


def _shown(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def row_warnings(object_type: str, obj, today: date | None = None) -> list[tuple[Rule, str]]:
    """(rule, value shown) for each warning rule `obj` breaks: what an import plan shows for its row."""
    today = today or timezone.localdate()
    return [(rule, _shown(rule.value_of(obj))) for rule in rules_for(object_type) if rule.test(obj, today)]


def sync(object_type: str, *, ids=None, prefix: str | None = None, batch=None, objects=None, broken=None) -> None:
    """Bring the register in line with the records of `object_type`: the objects `ids`, or every one
    under the division code `prefix`, or the saved `objects` as they are (an import's records as it wrote
    them: their rules are tested here, so only the few that break one are read again, not 100,000 by a
    query per rule; `broken`: {id: [rules]} of those objects as the caller tested them, not tested again).
    A problem found is opened (first seen now) or kept (first seen stays); one no longer there — fixed by
    an edit or a re-import, or its record deleted — is resolved."""
    from .models import DataWarning

    rules = rules_for(object_type)
    subject = SUBJECTS.get(object_type)
    if not rules or subject is None:
        return
    model = subject.model()
    now, today = timezone.now(), timezone.localdate()
    records = model.objects.select_related(*subject.related)
    warnings = DataWarning.objects.filter(object_type=object_type)
    if objects is not None:
        ids = [o.pk for o in objects]
    if ids is not None:
        ids = sorted({str(i) for i in ids})
        if not ids:
            return
        pks = [model._meta.pk.to_python(i) for i in ids]
        register = list(bulk.where_in(warnings, "object_id", ids))
    else:
        records = records.filter(**{f"{subject.scope.removesuffix('_id')}__code__startswith": prefix or ""})
        register = list(warnings.filter(town__code__startswith=prefix or ""))
    if objects is not None:
        found = _found_in(objects, rules, records, today, broken)
    else:
        found: dict[tuple[str, str], tuple] = {}
        for rule in rules:
            # One query per rule: only the records that break it are read (an area has few).
            offending = records.filter(rule.q(today))
            for obj in (bulk.where_in(offending, "pk", pks) if ids is not None else offending):
                found[(str(obj.pk), rule.code)] = (rule, obj)
    known = {(w.object_id, w.rule): w for w in register}
    create, update = [], []
    for key, (rule, obj) in found.items():
        value = _shown(rule.value_of(obj))[:200]
        fields = {"town_id": getattr(obj, subject.scope), "column": rule.column, "value": value,
                  "object_repr": subject.describe(obj)[:200], "last_seen": now}
        w = known.get(key)
        if w is None:
            create.append(DataWarning(object_type=object_type, object_id=key[0], rule=rule.code, first_seen=now,
                                      batch=batch, **fields))
            continue
        if w.resolved_at is not None:  # back again: a new problem from now on
            w.resolved_at, w.first_seen, w.batch = None, now, batch
        for name, v in fields.items():
            setattr(w, name, v)
        update.append(w)
    for key, w in known.items():
        if key not in found and w.resolved_at is None and w.rule in BY_CODE:
            w.resolved_at = now
            update.append(w)
    # Two pages syncing the same area at once may both find a new problem: the second insert is dropped.
    DataWarning.objects.bulk_create(create, batch_size=1000, ignore_conflicts=True)
    DataWarning.objects.bulk_update(update, ["town_id", "column", "value", "object_repr", "last_seen",
                                             "resolved_at", "first_seen", "batch"], batch_size=1000)


def _found_in(objects, rules, records, today, broken=None) -> dict:
    """{(id, rule): (rule, record)} of saved records as they are, their rules tested here (unless `broken`
    holds them); only the records with a problem are read again (`records` selects what describe() needs)."""
    if broken is None:
        broken = {o.pk: [r for r in rules if r.test(o, today)] for o in objects}
    breaking = {pk: found for pk, found in broken.items() if found}
    return {(str(obj.pk), rule.code): (rule, obj)
            for obj in bulk.where_in(records, "pk", breaking) for rule in breaking[obj.pk]}


def open_warnings(obj) -> list[dict]:
    """The warnings of one record as it is now (a record edited since the last import is seen as it is),
    each with the time the register first saw it, if it has: {rule, column, value, message, since}.
    Reads only — a page that shows them writes nothing."""
    from .models import DataWarning

    object_type = obj._meta.model_name
    if object_type not in SUBJECTS:
        return []
    since = dict(DataWarning.objects.filter(object_type=object_type, object_id=str(obj.pk), resolved_at__isnull=True)
                 .values_list("rule", "first_seen"))
    return [{"rule": rule.code, "column": rule.column, "value": value, "message": rule.text({"value": value or "—"}),
             "since": since.get(rule.code)} for rule, value in row_warnings(object_type, obj)]
