"""The kinds of data that can be exchanged, with the column standard of DOMAIN §8: projects,
progress reports and indicator values here, expert activities in expert_kind.py, their problems in
problem_kind.py; what a kind is
made of in kind.py. KINDS is the registry the pipeline, the standard and the pages read.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import bulk, geo
from townbrain.core.models import OrgUnit
from townbrain.governance.event_kind import EVENTS
from townbrain.programmes.models import Category, Programme
from townbrain.projects import rollups
from townbrain.projects import services as project_services
from townbrain.projects.models import ProgressReport, Project, Status

from . import normalize as n
from .deal_kind import DEALS
from .expert_kind import EXPERT_ACTIVITIES
from .kind import BatchKind, Column, Kind, RowError, restore
from .problem_kind import EXPERT_PROBLEMS
from .publicity_kind import ARTICLE_QUOTAS, ARTICLES, HONOURS
from .workplan_kind import WORK_PLAN_ITEMS

__all__ = ["KINDS", "PLANNED_KINDS", "Column", "Kind", "RowError", "EXPERT_ACTIVITIES", "EXPERT_PROBLEMS", "PROJECTS", "PROGRESS",
           "INDICATOR_VALUES", "STATUS_CHINESE"]


# The standard writes statuses in Chinese whatever the user's language (exports use this table too).
STATUS_CHINESE = {"planned": "谋划", "preparing": "前期", "started": "开工", "completed": "完工",
                  "suspended": "暂停", "cancelled": "取消"}
# How offices word the six statuses in their own sheets (the statuses themselves are the lifecycle of
# DOMAIN §4 and drive the figures, so they stay fixed; the words for them need not).
STATUS_SYNONYMS = {
    "在建": "started", "已开工": "started", "施工中": "started", "在建中": "started",
    "竣工": "completed", "已完工": "completed", "已竣工": "completed", "已完成": "completed",
    "前期准备": "preparing", "前期工作": "preparing", "谋划中": "planned", "储备": "planned",
    "停工": "suspended", "暂缓": "suspended", "缓建": "suspended", "已取消": "cancelled", "终止": "cancelled",
}


def _status(value) -> str | None:
    text = n.clean_text(value)
    if not text:
        return None
    for choice in Status:
        if text.lower() in {choice.value, str(choice.label).lower()}:
            return choice.value
    by_word = {word: code for code, word in STATUS_CHINESE.items()} | STATUS_SYNONYMS
    if text in by_word:
        return by_word[text]
    raise n.BadValue(_("“%(value)s” is not a status; use 谋划, 前期, 开工, 完工, 暂停 or 取消.") % {"value": value})


def _percent(value):
    number = n.parse_decimal(value)
    if number is not None and number > 100:
        raise n.BadValue(_("%(value)s%% is above 100%%.") % {"value": number})
    return number


def _coordinate(value):
    return n.parse_decimal(value, allow_negative=True)


def _system(value) -> str | None:
    text = n.clean_text(value)
    if not text:
        return None
    try:
        return geo.system_of(text)
    except geo.UnknownSystem:
        raise n.BadValue(_("“%(value)s” is not a coordinate system; use WGS84, GCJ02 (Amap, Tencent) or BD09 "
                           "(Baidu).") % {"value": value}) from None


STATUS_CHOICES = tuple(STATUS_CHINESE.values())


class ProjectsKind(BatchKind):
    # The coordinate system of 经度/纬度 when the file has no 坐标系 column (`townbrain import --crs`).
    crs = geo.WGS84

    def prepare(self, actor, records):
        self.programmes = {p.code: p for p in Programme.objects.all()} | {p.name: p for p in Programme.objects.all()}
        codes = {r.get("town") for r in records if r.get("town")}
        self.towns = {u.code: u for u in bulk.where_in(OrgUnit.objects.only("code", "name", "level"), "code", codes)}
        self.categories = {}
        for c in Category.objects.all():
            self.categories[(c.programme_id, c.code)] = c
            self.categories[(c.programme_id, c.name)] = c
        keys = {(r.get("programme"), r.get("code")) for r in records}
        progs = {self.programmes[p].pk for p, _c in keys if p in self.programmes}
        # Which project a row names (ProjectBatch locks and reads the projects themselves).
        self.existing = {(p.programme_id, p.code): p for p in bulk.where_in(
            Project.objects.filter(programme_id__in=progs).only("pk", "programme_id", "code"), "code",
            {c for _p, c in keys})}

    def build(self, actor, v: dict) -> dict:
        errors = {}
        programme = self.programmes.get(v.get("programme"))
        if programme is None:
            errors["programme"] = _("Unknown programme “%(value)s”; use meili, xiaochengshi, tese, shifan or tongchou.") \
                % {"value": v.get("programme")}
        town = self.towns.get(v.get("town"))
        if town is None:
            errors["town"] = _("There is no org unit with code %(code)s.") % {"code": v.get("town")}
        category = None
        if programme is not None and v.get("category"):
            category = self.categories.get((programme.pk, v["category"]))
            if category is None:
                errors["category"] = _("Programme %(programme)s has no category “%(value)s”.") % {
                    "programme": programme.name, "value": v["category"]}
        self._to_wgs84(v, errors)
        if errors:
            raise RowError(errors)
        # Columns present in the file are applied (a blank cell clears a date or a coordinate);
        # absent columns leave the stored value alone.
        fields = {k: v[k] for k in ("code", "name", "owner_unit", "total_investment", "annual_plan", "planned_start",
                                    "actual_start", "planned_completion", "actual_completion", "status", "longitude",
                                    "latitude")
                  if k in v and not (v[k] is None and k in ("total_investment", "annual_plan", "status"))}
        fields.update(town=town, programme=programme)
        if "category" in v:
            fields["category"] = category
        # A code the programme has is that project, changed by the row; another is a new project.
        return {"item": (self.existing.get((programme.pk, v["code"])), fields), "key": (programme.pk, v["code"])}

    def _to_wgs84(self, v: dict, errors: dict) -> None:
        """经度/纬度 as given in the row's 坐标系 (or the import's), stored as WGS-84 (DOMAIN §8)."""
        system = v.get("crs") or self.crs
        if system == geo.WGS84:
            return
        lat, lng = v.get("latitude"), v.get("longitude")
        if lat is None and lng is None:
            return
        if lat is None or lng is None:
            errors["latitude" if lat is None else "longitude"] = _(
                "A point in %(system)s needs both 经度 and 纬度 to be converted to WGS-84.") % {
                "system": geo.SYSTEMS[system]}
            return
        v["latitude"], v["longitude"] = geo.to_wgs84(lat, lng, system)

    def batch_for(self, actor):
        # Checks in file order, writes together; the codes the file's new projects take were read by prepare().
        return project_services.ProjectBatch(actor, taken=set(self.existing))

    def writing(self):
        return rollups.bulk_writes()

    def undo_many(self, actor, changes):
        """Updated projects get their values back and created ones are deleted, each group together."""
        updated = {int(c.object_id): c for c in changes if c.action != "created"}
        projects = {p.pk: p for p in bulk.where_in(Project.objects.all(), "pk", updated)}
        bulk.every(project_services.ProjectBatch(actor, confirm_annual_over_total=True),
                   [(projects[pk], restore(Project, change.before)) for pk, change in updated.items() if pk in projects])
        created = {int(c.object_id) for c in changes if c.action == "created"}
        project_services.delete_projects(actor, list(bulk.where_in(Project.objects.all(), "pk", created)))


class ProgressKind(BatchKind):
    def writing(self):
        return rollups.bulk_writes()

    def prepare(self, actor, records):
        # Only which visible project a code names: ReportBatch locks and reads the projects themselves.
        visible = Project.objects.restrict(actor, "view").values_list("pk", "code", "programme_id", named=True)
        codes = {r.get("project") for r in records if r.get("project")}
        self.projects: dict[str, list] = {}
        for p in bulk.where_in(visible, "code", codes):
            self.projects.setdefault(p.code, []).append(p)
        self.programmes = {p.code: p for p in Programme.objects.all()} | {p.name: p for p in Programme.objects.all()}

    def build(self, actor, v: dict) -> dict:
        candidates = self.projects.get(v.get("project"), [])
        if v.get("programme"):
            programme = self.programmes.get(v["programme"])
            candidates = [p for p in candidates if programme and p.programme_id == programme.pk]
        if not candidates:
            raise RowError({"project": _("No project “%(code)s” in your area.") % {"code": v.get("project")}})
        if len(candidates) > 1:
            raise RowError({"project": _("Project code %(code)s exists in several programmes; add the column 所属计划.")
                            % {"code": v.get("project")}})
        figures = {k: v[k] for k in ("month_investment", "cumulative_investment", "progress_percent", "status",
                                     "problems") if v.get(k) not in (None, "")}
        return {"item": (candidates[0], v["period"], figures), "key": (candidates[0].pk, v["period"])}

    def batch_for(self, actor):
        return project_services.ReportBatch(actor)  # checks in file order, writes together

    def is_creation(self, entry) -> bool:
        # One action names a report saved new or replaced; a stored report holds every figure (none is
        # NULL), so a replacement always replaces a value and only a new report changes nothing but NULLs.
        return all(old is None for old, _new in entry.changes.values())

    def undo_many(self, actor, changes):
        """Created reports are removed, updated ones get their figures back: newest first, written together."""
        # Which project and period each report is: the batch reads the reports themselves with their projects.
        reports = {pk: (project_id, period) for pk, project_id, period in bulk.where_in(
            ProgressReport.objects.values_list("pk", "project_id", "period"), "pk", [int(c.object_id) for c in changes])}
        batch = project_services.ReportBatch(actor)
        batch.load({project_id for project_id, _period in reports.values()})
        # The reporting cycle's locks of every period touched in one query, not one per town and period
        # (asked one at a time, 100,000 reports in 40,000 towns took 40,000 queries: five times the rest).
        batch.locks.prefetch({(p.town_id, p.programme_id, period) for project_id, period in reports.values()
                              if (p := batch.projects.get(project_id)) is not None})
        for change in changes:
            report = reports.get(int(change.object_id))
            if report is None:
                continue
            if change.action == "created":
                batch.remove(*report)
            else:
                batch.report(*report, restore(ProgressReport, change.before))
        batch.write()


PROJECTS = ProjectsKind(
    name="projects",
    label=gettext_lazy("Projects"),
    object_type="project",
    columns=[
        Column("code", "项目编号", ("project code", "code", "编号"), required=True,
               help=gettext_lazy("Unique within the programme"), example="HZ2020-0001"),
        Column("name", "项目名称", ("project name", "name", "名称"), required=True, example="瓜沥镇污水管网改造"),
        Column("town", "乡镇代码", ("town code", "town", "乡镇(街道)代码", "区划代码"), parse=n.parse_code,
               required=True, help=gettext_lazy("9-digit division code of the town"), example="330109113"),
        Column("programme", "所属计划", ("programme", "计划"), required=True,
               help=gettext_lazy("meili, xiaochengshi, tese, shifan or tongchou (or the Chinese name)"),
               choices=("meili", "xiaochengshi", "tese", "shifan", "tongchou"), example="meili"),
        Column("category", "类别", ("category", "项目类别"), help=gettext_lazy("Category code or name"),
               example="功能便民环境美"),
        Column("owner_unit", "建设单位", ("owner unit", "owner", "业主单位"), example="瓜沥镇人民政府"),
        Column("total_investment", "总投资(万元)", ("total investment", "总投资"), parse=n.parse_decimal,
               help=gettext_lazy("10k yuan"), example=1200),
        Column("annual_plan", "年度计划投资(万元)", ("annual plan", "年度计划投资"), parse=n.parse_decimal,
               help=gettext_lazy("10k yuan"), example=600),
        Column("planned_start", "计划开工日期", ("planned start",), parse=n.parse_date, example="2020-03-01"),
        Column("actual_start", "实际开工日期", ("actual start",), parse=n.parse_date, example="2020-03-15"),
        Column("planned_completion", "计划完工日期", ("planned completion",), parse=n.parse_date, example="2021-06-30"),
        Column("actual_completion", "实际完工日期", ("actual completion", "竣工日期"), parse=n.parse_date,
               help=gettext_lazy("Needed for status 完工"), example=""),
        Column("status", "状态", ("status", "项目状态"), parse=_status, choices=STATUS_CHOICES, example="开工"),
        Column("longitude", "经度", ("longitude", "lng"), parse=_coordinate, example=120.455),
        Column("latitude", "纬度", ("latitude", "lat"), parse=_coordinate, example=30.1833),
        Column("crs", "坐标系", ("coordinate system", "crs", "坐标系统"), parse=_system,
               help=gettext_lazy("Of 经度/纬度: WGS84 (default, GPS), GCJ02 (Amap, Tencent) or BD09 (Baidu); "
                                 "stored as WGS-84"), choices=("WGS84", "GCJ02", "BD09"), example="WGS84"),
    ],
)

PROGRESS = ProgressKind(
    name="progress",
    label=gettext_lazy("Progress reports"),
    object_type="progressreport",
    columns=[
        Column("project", "项目编号", ("project code", "project", "code"), required=True, example="HZ2020-0001"),
        Column("programme", "所属计划", ("programme",), help=gettext_lazy("Only needed when the code is in several programmes"),
               choices=("meili", "xiaochengshi", "tese", "shifan", "tongchou")),
        Column("period", "填报期", ("period", "月份", "填报月份"), parse=n.parse_month, required=True,
               help=gettext_lazy("Month as YYYYMM"), example="202009"),
        Column("month_investment", "本月完成投资(万元)", ("month investment", "本月完成投资"), parse=n.parse_decimal,
               example=20),
        Column("cumulative_investment", "累计完成投资(万元)", ("cumulative investment", "累计完成投资"),
               parse=n.parse_decimal, example=300),
        Column("progress_percent", "形象进度(%)", ("progress", "physical progress", "形象进度"), parse=_percent,
               example=55),
        Column("status", "状态", ("status",), parse=_status, choices=STATUS_CHOICES, example="开工"),
        Column("problems", "存在问题", ("problems", "问题"), example=""),
    ],
)

class IndicatorValuesKind(BatchKind):
    def prepare(self, actor, records):
        from townbrain.indicators.models import DataElement

        self.elements = {e.code: e for e in DataElement.objects.all()} | {e.name: e for e in DataElement.objects.all()}
        codes = {r.get("org_unit") for r in records if r.get("org_unit")}
        self.units = {u.code: u for u in bulk.where_in(OrgUnit.objects.all(), "code", codes)}

    def build(self, actor, v: dict) -> dict:
        errors = {}
        element = self.elements.get(v.get("element"))
        if element is None:
            errors["element"] = _("Unknown data element “%(value)s”.") % {"value": v.get("element")}
        unit = self.units.get(v.get("org_unit"))
        if unit is None:
            errors["org_unit"] = _("There is no org unit with code %(code)s.") % {"code": v.get("org_unit")}
        if errors:
            raise RowError(errors)
        return {"item": (element, unit, v["period"], v["value"], v.get("comment") or ""),
                "key": (element.pk, unit.code, v["period"])}

    def batch_for(self, actor):
        from townbrain.indicators.services import ValueBatch

        return ValueBatch(actor)  # the stored values read once, written together

    def is_creation(self, entry) -> bool:
        # One action names a value stored new or replaced; a stored value holds a number or a text (and a
        # comment, "" when none), so a replacement always replaces something that is not NULL.
        return all(old is None for old, _new in entry.changes.values())

    def undo_many(self, actor, changes):
        """Created values are removed, updated ones get their value back; written together."""
        from townbrain.indicators.models import DataValue
        from townbrain.indicators.services import ValueBatch

        values = {v.pk: v for v in bulk.where_in(DataValue.objects.select_related("element", "org_unit"), "pk",
                                                 [int(c.object_id) for c in changes])}
        batch, restored = ValueBatch(actor), []
        for change in changes:
            value = values.get(int(change.object_id))
            if value is None:
                continue
            if change.action == "created":
                batch.remove(value)
            else:
                # The history keeps the fields the import changed: the others are as stored now.
                was = {"number": value.number, "text": value.text, "comment": value.comment} | change.before
                raw = was["text"] or was["number"]
                restored.append((value.element, value.org_unit, value.period, raw, was["comment"] or ""))
        for result in batch.check(restored):
            if isinstance(result, Exception):
                raise result
        batch.write()


INDICATOR_VALUES = IndicatorValuesKind(
    name="indicator_values",
    label=gettext_lazy("Indicator values"),
    object_type="datavalue",
    columns=[
        Column("element", "指标编码", ("element", "indicator code", "数据元编码", "指标"), required=True,
               help=gettext_lazy("Data element code (or name)"), example="sewage_rate"),
        Column("org_unit", "乡镇代码", ("org unit", "town code", "区划代码", "单位代码"), parse=n.parse_code, required=True,
               example="330109113"),
        Column("period", "期间", ("period", "填报期"), parse=n.parse_period, required=True,
               help=gettext_lazy("2024, 2024S1, 2024Q3 or 202409"), example="2020"),
        Column("value", "数值", ("value", "值"), parse=lambda v: v if isinstance(v, int | float) else n.clean_text(v),
               required=True, example=92.5),
        Column("comment", "备注", ("comment", "note", "说明")),
    ],
)

KINDS = {k.name: k for k in (PROJECTS, PROGRESS, INDICATOR_VALUES, EXPERT_ACTIVITIES, EXPERT_PROBLEMS, DEALS,
                                          EVENTS, ARTICLES, ARTICLE_QUOTAS, HONOURS, WORK_PLAN_ITEMS)}
# Kinds the data standard names whose model is not built yet (none at present; get_kind says so).
PLANNED_KINDS = ()
