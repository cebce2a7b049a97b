"""Exports in the exchange standard: what `townbrain export` writes, `townbrain import` reads back unchanged."""

from django.utils.translation import gettext as _

from townbrain.core import exports
from townbrain.projects.models import ProgressReport, Project

from . import deal_kind, publicity_kind, workplan_kind
from .deal_kind import DEALS
from .kinds import EXPERT_ACTIVITIES, EXPERT_PROBLEMS, INDICATOR_VALUES, PROGRESS, PROJECTS, STATUS_CHINESE


def _project_rows(qs):
    for p in qs.select_related("town", "programme", "category").order_by("programme_id", "code").iterator(2000):
        yield [p.code, p.name, p.town_id, p.programme.code, p.category.name if p.category_id else "", p.owner_unit,
               p.total_investment, p.annual_plan, p.planned_start, p.actual_start, p.planned_completion,
               p.actual_completion,
               STATUS_CHINESE[p.status], p.longitude, p.latitude, "WGS84" if p.latitude is not None else ""]


def _progress_rows(qs):
    for r in qs.select_related("project__programme").order_by("project__programme_id", "project__code",
                                                               "period").iterator(2000):
        yield [r.project.code, r.project.programme.code, r.period, r.month_investment, r.cumulative_investment,
               r.progress_percent, STATUS_CHINESE[r.status], r.problems]


def _value_rows(qs):
    for v in qs.select_related("element").order_by("element__code", "org_unit_id", "period").iterator(2000):
        value = v.text if v.element.value_type == "text" else (v.number.normalize() if v.number is not None else "")
        yield [v.element.code, v.org_unit_id, v.period, value, v.comment]


def _activity_rows(qs):
    # The type as the office wrote it when it matched none (其他 + word), so the file imports back unchanged.
    for a in qs.select_related("activity_type").order_by("town_id", "date", "id").iterator(2000):
        yield [a.date, a.town_id, a.type_as_written, a.chief_designer_count,
               a.resident_planner_count, a.adviser_count, a.problems_found, a.problems_solved, a.expert_names]


def _activities(actor):
    from townbrain.experts.models import ExpertActivity

    return ExpertActivity.objects.restrict(actor, "view")


def _problems(actor):
    from townbrain.experts.models import ExpertProblem

    return ExpertProblem.objects.restrict(actor, "view")


def _problem_rows(qs):
    from .problem_kind import export_row

    for p in qs.select_related("activity__activity_type").order_by("town_id", "activity__date", "id").iterator(2000):
        yield export_row(p)


def _values(actor):
    from townbrain.indicators.models import DataValue

    return DataValue.objects.restrict(actor, "view")


SOURCES = {
    "projects": (PROJECTS, lambda actor: Project.objects.restrict(actor, "view"), "town__code", _project_rows),
    "progress": (PROGRESS, lambda actor: ProgressReport.objects.restrict(actor, "view"), "project__town__code",
                 _progress_rows),
    "indicator_values": (INDICATOR_VALUES, _values, "org_unit__code", _value_rows),
    "expert_activities": (EXPERT_ACTIVITIES, _activities, "town__code", _activity_rows),
    "expert_problems": (EXPERT_PROBLEMS, _problems, "town__code", _problem_rows),
    "deals": (DEALS, deal_kind.export_queryset, "town__code", deal_kind.export_rows),
    "articles": (publicity_kind.ARTICLES, publicity_kind.articles, "town__code", publicity_kind.article_rows),
    "article_quotas": (publicity_kind.ARTICLE_QUOTAS, publicity_kind.quotas, "town__code", publicity_kind.quota_rows),
    "honours": (publicity_kind.HONOURS, publicity_kind.honours, "unit__code", publicity_kind.honour_rows),
    "work_plan_items": (workplan_kind.WORK_PLAN_ITEMS, workplan_kind.export_queryset, "plan__org_unit__code",
                        workplan_kind.export_rows),
}
MONEY_FORMAT = '#,##0.00 "万元"'


def export(actor, kind_name: str, fmt: str, org: str | None = None, programme: str | None = None) -> bytes:
    if kind_name not in SOURCES:
        raise ValueError(_("Exporting %(kind)s is not available.") % {"kind": kind_name})
    if fmt not in exports.FORMATS:
        raise ValueError(_("Unknown format “%(fmt)s”; use xlsx, csv or json.") % {"fmt": fmt})
    kind, base, code_field, rows = SOURCES[kind_name]
    qs = base(actor)
    if org:
        qs = qs.filter(**{f"{code_field}__startswith": org})
    if programme and kind_name in ("projects", "progress"):
        field = "programme__code" if kind_name == "projects" else "project__programme__code"
        qs = qs.filter(**{field: programme})
    headers = [c.header for c in kind.columns]
    data = rows(qs)
    if fmt == "csv":
        return exports.to_csv(headers, data)
    if fmt == "json":
        return exports.to_json(headers, data)
    money = {i: MONEY_FORMAT for i, c in enumerate(kind.columns) if "万元" in c.header}
    return exports.to_xlsx(headers, data, sheet_name=str(kind.label), num_formats=money)
