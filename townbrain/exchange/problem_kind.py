"""The exchange kind `expert_problems` (问题清单): problems found by expert activities.

Registered in `townbrain.exchange.kinds.KINDS`; writes through `experts.services`.

**How a row names its activity.** By 乡镇代码 and 活动日期 — enough when the town had one activity that
day — narrowed, when it had several, by 活动类型 (matched like the activities import: by name or
synonym; an unmatched word names the 其他 activity that kept that word) and 专家姓名 (the activity's
names, separated by 、). Together these four are the activity's own natural key, so a row that gives
all four always names one activity; the list export writes all four.

**Natural key of a problem**: (its activity, 问题描述 with spaces collapsed). A row whose key exists
updates that problem's 责任人, 整改期限 and 状态 (or leaves it unchanged); any other row creates one.
The same file imported twice changes nothing the second time.

状态 is 待解决 / 解决中 / 已解决 / 不予处理 (or the words in STATUS_WORDS; empty is 待解决); 不予处理 needs a
不予处理理由, which is ignored for the other statuses. A row may bring a problem to any status (the pages
move it one step of its life cycle at a time); the change of status is audited as the step that leads
to it (`problem.solve` …), beside `problem.update` for the other columns.

The rows are checked together and written together (a BatchKind over `services.ProblemBatch`), then
the activities whose problems changed take their found and solved counts from them.

Overdue problems (still 待解决 or 解决中 after 整改期限) are a warning of the data-quality register
(`problem_overdue`, below): shown in the import plan, on the problem's page and in `/quality/`.
"""

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import bulk
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import allows
from townbrain.experts import services
from townbrain.experts.models import (
    OPEN_STATUSES,
    PROBLEM_HEADERS,
    PROBLEM_STATUS_CHINESE,
    ExpertActivity,
    ExpertProblem,
    ProblemStatus,
)

from . import normalize as n
from . import quality
from .expert_kind import parse_activity_type, parse_names
from .kind import BatchKind, Column, RowError
from .normalize import parse_text

# How offices word the four statuses (besides the standard's own words and the codes).
STATUS_WORDS = {
    "未解决": "open", "待整改": "open", "未整改": "open", "待处理": "open",
    "整改中": "in_progress", "处理中": "in_progress", "推进中": "in_progress", "正在解决": "in_progress",
    "已整改": "solved", "已完成": "solved", "已处理": "solved", "完成": "solved", "解决": "solved",
    "不处理": "dismissed", "不予解决": "dismissed", "不予整改": "dismissed", "驳回": "dismissed",
}
_STATUS_BY_WORD = {**{v: k for k, v in PROBLEM_STATUS_CHINESE.items()}, **STATUS_WORDS,
                   **{s: s for s in ProblemStatus.values}}


def parse_status(value) -> str:
    text = "".join(n.clean_text(value).split()).lower()
    if not text:
        return ProblemStatus.OPEN
    status = _STATUS_BY_WORD.get(text)
    if status is None:
        raise n.BadValue(_("%(value)s is not a status; write 待解决, 解决中, 已解决 or 不予处理.") % {"value": value})
    return status


def parse_optional_date(value):
    return None if n.is_blank(value) else n.parse_date(value)


class ExpertProblemsKind(BatchKind):
    def prepare(self, actor, records):
        codes = sorted({r.get("town") for r in records if r.get("town")})
        dates = [r["date"] for r in records if r.get("date")]
        self.vocabulary = services.TypeVocabulary()
        self.towns = {u.code: u for u in bulk.where_in(OrgUnit.objects.all(), "code", codes)}
        self.activities: dict[tuple, list[ExpertActivity]] = {}
        self.existing: dict[tuple, ExpertProblem] = {}
        if dates:
            within = ExpertActivity.objects.filter(date__gte=min(dates), date__lte=max(dates)).select_related(
                "activity_type", "town")
            for a in bulk.where_in(within, "town_id", codes):
                self.activities.setdefault((a.town_id, a.date), []).append(a)
            problems = ExpertProblem.objects.filter(activity__date__gte=min(dates), activity__date__lte=max(dates))
            for p in bulk.where_in(problems, "town_id", codes):
                self.existing[(p.activity_id, p.description)] = p

    def _activity(self, town, v) -> ExpertActivity:
        candidates = self.activities.get((town.code, v["date"]), [])
        if not candidates:
            raise RowError({"date": _("%(town)s has no expert activity on %(date)s; record the activity first.")
                            % {"town": town.name, "date": v["date"]}})
        if v.get("activity_type"):
            activity_type, word = self.vocabulary.match(v["activity_type"])
            candidates = [a for a in candidates if activity_type is not None
                          and (a.activity_type_id, a.type_word) == (activity_type.code, word)]
            if not candidates:
                raise RowError({"activity_type": _("%(town)s has no %(type)s activity on %(date)s.") % {
                    "town": town.name, "type": v["activity_type"], "date": v["date"]}})
        names = v.get("expert_names") or ""
        if names:
            candidates = [a for a in candidates if a.expert_names == names]
            if not candidates:
                raise RowError({"expert_names": _("No activity of %(town)s on %(date)s has the experts %(names)s.")
                                % {"town": town.name, "date": v["date"], "names": names}})
        elif len(candidates) > 1 and sum(1 for a in candidates if not a.expert_names) == 1:
            candidates = [a for a in candidates if not a.expert_names]  # the one activity without names
        if len(candidates) > 1:
            raise RowError({"date": _("%(town)s has %(count)s expert activities on %(date)s; give 活动类型 and "
                                      "专家姓名 to say which.") % {
                "town": town.name, "count": len(candidates), "date": v["date"]}})
        return candidates[0]

    def build(self, actor, v: dict) -> dict:
        town = self.towns.get(v.get("town"))
        if town is None:
            raise RowError({"town": _("There is no org unit with code %(code)s.") % {"code": v.get("town")}})
        if town.level != Level.TOWN:
            raise RowError({"town": _("A problem belongs to a town (9-digit code); %(code)s is a %(level)s.") % {
                "code": town.code, "level": town.get_level_display()}})
        if not allows(actor, "add", town.code):
            raise RowError({"town": _("%(name)s (%(code)s) is outside your area.") % {
                "name": town.name, "code": town.code}})
        activity = self._activity(town, v)
        status = v.get("status") or ProblemStatus.OPEN
        reason = " ".join((v.get("reason") or "").split()) if status == ProblemStatus.DISMISSED else ""
        if status == ProblemStatus.DISMISSED and not reason:
            raise RowError({"reason": _("A dismissed problem (不予处理) needs the reason why.")})
        due = v.get("due_date")
        if due is not None and due < activity.date:
            raise RowError({"due_date": _("The due date (%(due)s) cannot be before the activity that found the "
                                          "problem (%(date)s).") % {"due": due, "date": activity.date}})
        key = (activity.pk, v["description"])
        fields = {"owner": " ".join((v.get("owner") or "").split()), "due_date": due}
        # Columns absent from the file keep their value.
        fields = {k: val for k, val in fields.items() if k in v}
        fields.update(status=status, reason=reason)
        existing = self.existing.get(key)
        if existing is None:
            fields.update(activity=activity, description=v["description"])
        return {"item": (existing, fields), "key": key}

    def batch_for(self, actor):
        return services.ProblemBatch(actor)

    def undo_many(self, actor, changes):
        """Put back a batch's changes together: the problems it created removed at once, those it changed
        given back what they had by one ProblemBatch (a refusal stops the undo, nothing written)."""
        held = {str(p.pk): p for p in bulk.where_in(ExpertProblem.objects.prefetch_related("activity"), "pk",
                                                     [c.object_id for c in changes])}
        services.delete_problems(actor, [held[c.object_id] for c in changes
                                         if c.action == "created" and c.object_id in held])
        bulk.every(services.ProblemBatch(actor), [(held[c.object_id], _restored(c.before)) for c in changes
                                                  if c.action != "created" and c.object_id in held])

    def undo(self, actor, change):
        self.undo_many(actor, [change])


def _restored(before: dict) -> dict:
    """The fields a row changed, as they were (an import changes a problem's owner, due date and status)."""
    values = {k: before[k] for k in ("owner", "status", "reason") if k in before}
    if "due_date" in before:
        values["due_date"] = ExpertProblem._meta.get_field("due_date").to_python(before["due_date"])
    return values


def export_row(problem: ExpertProblem) -> list:
    """A problem as a row of the standard, in the order of EXPERT_PROBLEMS.columns."""
    a = problem.activity
    return [problem.town_id, a.date, a.type_as_written, a.expert_names, problem.description, problem.owner,
            problem.due_date, PROBLEM_STATUS_CHINESE[problem.status], problem.reason]


EXPERT_PROBLEMS = ExpertProblemsKind(
    name="expert_problems",
    label=gettext_lazy("Problems found by experts"),
    object_type="expertproblem",
    columns=[
        Column("town", PROBLEM_HEADERS["town"], ("town code", "town", "乡镇(街道)代码", "区划代码"), parse=n.parse_code,
               required=True, help=gettext_lazy("9-digit division code of the town"), example="330109113"),
        Column("date", PROBLEM_HEADERS["date"], ("activity date", "date", "活动", "日期"), parse=n.parse_date,
               required=True, help=gettext_lazy("The date of the expert activity that found the problem"),
               example="2020-06-18"),
        Column("activity_type", PROBLEM_HEADERS["activity_type"], ("activity type", "type", "类型"),
               parse=parse_activity_type,
               help=gettext_lazy("The activity's type; needed when the town had several activities that day"),
               example="现场指导"),
        Column("expert_names", PROBLEM_HEADERS["expert_names"], ("expert names", "experts", "专家"), parse=parse_names,
               help=gettext_lazy("The activity's experts, separated by 、; needed when type and date are not enough"),
               example="王建国、李明、陈晓燕"),
        Column("description", PROBLEM_HEADERS["description"], ("description", "problem", "问题", "问题内容"),
               parse=parse_text, required=True, example="污水管网雨污混接"),
        Column("owner", PROBLEM_HEADERS["owner"], ("owner", "responsible", "责任单位", "责任人(单位)"), parse=parse_text,
               example="镇建设办"),
        Column("due_date", PROBLEM_HEADERS["due_date"], ("due date", "deadline", "整改时限", "完成期限"),
               parse=parse_optional_date, example="2020-09-30"),
        Column("status", PROBLEM_HEADERS["status"], ("status", "整改状态", "问题状态"), parse=parse_status,
               choices=tuple(PROBLEM_STATUS_CHINESE.values()),
               help=gettext_lazy("待解决, 解决中, 已解决 or 不予处理; empty is 待解决"), example="解决中"),
        Column("reason", PROBLEM_HEADERS["reason"], ("reason", "dismissal reason", "理由"), parse=parse_text,
               help=gettext_lazy("Required when 状态 is 不予处理"), example=""),
    ],
)


# --- the data-quality register learns problems: overdue ones are warnings -------------------------------

def _overdue(p, today) -> bool:
    return p.status in OPEN_STATUSES and p.due_date is not None and p.due_date < today


RULES = [
    quality.Rule("problem_overdue", "expertproblem", PROBLEM_HEADERS["due_date"], "due_date",
                 gettext_lazy("Overdue: due on %(value)s and not solved."),
                 test=_overdue, q=lambda today: Q(status__in=OPEN_STATUSES, due_date__lt=today)),
]


def _problem_model():
    return ExpertProblem


quality.register("expertproblem", quality.Subject(
    _problem_model, "town_id", ("town",), lambda p: f"{p.town.name} {p.description}"[:200], "expert-problem-edit",
    gettext_lazy("Problem found by experts")), RULES)
