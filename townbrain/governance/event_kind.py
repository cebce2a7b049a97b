"""The exchange kind `events` (历史事件): import of historic events from a 12345 or 数字城管 system's export.

Exchange-side code kept with the app it writes to: only `townbrain.exchange.kinds` imports this module
(the registration line `from townbrain.governance.event_kind import EVENTS`); nothing else in the
governance app does, so the app itself still stands on core and access alone. Rows are checked and
written together by `services.EventBatch` — whose one-event case is `services.import_event`, so a row
meets the same checks as every other door, and each event gets its audit row — and undone through
`services.delete_imported_events` (all of them at once).

Natural key: the **town and the original case number (原编号)**. A row whose case the town already has
is left unchanged (a historic record is not edited by a second file), so the same file imported twice
changes nothing the second time. The times (上报, 受理, 派遣, 结案) and the review (回访评价) make the
event's status and timeline; the deadline is the file's 办结时限 or the category's, counted from 派遣.
"""

import re
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import bulk, geo
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import allows
from townbrain.exchange import normalize as n
from townbrain.exchange.kind import BatchKind, Column, RowError

from . import services
from .models import Event, EventCategory, Source, Verdict

SOURCE_WORDS = {"网格员": Source.GRID, "群众": Source.CITIZEN, "群众来电": Source.HOTLINE, "12345": Source.HOTLINE,
                "热线": Source.HOTLINE, "视频": Source.VIDEO, "视频监控": Source.VIDEO, "传感器": Source.SENSOR,
                "open311": Source.OPEN311}
VERDICT_WORDS = {"满意": Verdict.SATISFIED, "基本满意": Verdict.BASICALLY, "不满意": Verdict.DISSATISFIED}
CRS_WORDS = {"wgs84": geo.WGS84, "wgs-84": geo.WGS84, "gcj02": "gcj02", "gcj-02": "gcj02", "火星坐标": "gcj02",
             "bd09": "bd09", "bd-09": "bd09", "百度坐标": "bd09"}
_DATETIME = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T\s]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?$")
_CHINESE = str.maketrans({"年": "-", "月": "-", "日": " ", "号": " ", "时": ":", "点": ":", "分": ":", "秒": " "})
EXCEL_EPOCH = datetime(1899, 12, 30)


def parse_datetime(value):
    """A local date and time: an xlsx date cell, 2020-09-30 14:05(:00), 2020/9/30 14:05, 2020年9月30日 14时05分,
    an Excel serial number; a date alone is midnight. None for an empty cell."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float) and not isinstance(value, bool) and 20000 <= value <= 80000:
        moment = EXCEL_EPOCH + timedelta(days=float(value))
        moment = moment.replace(microsecond=0)
    else:
        text = n.clean_text(value)
        if not text:
            return None
        m = _DATETIME.match(" ".join(text.translate(_CHINESE).split()).rstrip(":").replace(": ", ":"))
        if not m:
            raise n.BadValue(_("“%(value)s” is not a date and time; write it as 2020-09-30 14:05.") % {"value": value})
        try:
            moment = datetime(*(int(g) if g else 0 for g in m.groups()))
        except ValueError:
            raise n.BadValue(_("“%(value)s” is not a date and time; write it as 2020-09-30 14:05.") % {
                "value": value}) from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _words(value) -> str:
    return " ".join(n.clean_text(value).split())


def _choice(words: dict, message):
    def parse(value):
        text = _words(value)
        if not text:
            return None
        found = words.get(text) or words.get(text.lower())
        if found is None and text.lower() in {str(v) for v in words.values()}:
            found = text.lower()
        if found is None:
            raise n.BadValue(message % {"value": value})
        return str(found)
    return parse


def _coordinate(value):
    return n.parse_decimal(value, allow_negative=True)


class EventsKind(BatchKind):
    def prepare(self, actor, records):
        codes = sorted({r.get("town") for r in records if r.get("town")})
        self.towns = {u.code: u for u in bulk.where_in(OrgUnit.objects.all(), "code", codes)}
        self.existing = {(e.town_id, e.external_id): e for e in bulk.where_in(
            Event.objects.exclude(external_id=""), "town_id", codes)}
        leaves = list(EventCategory.objects.filter(parent__isnull=False).select_related("parent"))
        self.by_code = {c.code: c for c in leaves}
        self.by_name = {}
        for c in leaves:
            self.by_name.setdefault(c.name, []).append(c)
            self.by_name.setdefault(f"{c.parent.name}/{c.name}", []).append(c)

    def _category(self, text):
        found = self.by_code.get(text) or self.by_name.get(text.replace("／", "/").replace(" ", ""), [])
        if isinstance(found, EventCategory):
            return found
        if len(found) == 1:
            return found[0]
        if found:
            raise RowError({"category": _("More than one sub-category is called %(name)s; give its code.") % {
                "name": text}})
        raise RowError({"category": _("There is no sub-category (小类) %(name)s; see /api/event-categories/.") % {
            "name": text}})

    def build(self, actor, v: dict) -> dict:
        town = self.towns.get(v.get("town"))
        if town is None:
            raise RowError({"town": _("There is no org unit with code %(code)s.") % {"code": v.get("town")}})
        if town.level != Level.TOWN:
            raise RowError({"town": _("An event belongs to a town (9-digit code); %(code)s is a %(level)s.") % {
                "code": town.code, "level": town.get_level_display()}})
        if not allows(actor, "add", town.code):
            raise RowError({"town": _("%(name)s (%(code)s) is outside your area.") % {
                "name": town.name, "code": town.code}})
        fields = {"town": town, "category": self._category(v["category"]), "description": v["description"],
                  "external_id": v["external_id"], "reported_at": v["reported_at"]}
        for key in ("accepted_at", "rejected_reason", "dispatched_at", "to", "deadline", "closed_at", "verdict",
                    "lat", "lng", "crs", "reporter_phone", "reporter_name", "address", "source"):
            if v.get(key) not in (None, ""):
                fields[key] = v[key]
        if "crs" not in fields and getattr(self, "crs", None):
            fields["crs"] = self.crs  # the import's --crs, for a file that has no 坐标系 column
        key = (town.code, v["external_id"])
        return {"existing": self.existing.get(key), "item": (None, fields), "key": key}

    def batch_for(self, actor):
        return services.EventBatch(actor)

    def check(self, actor, targets):
        """A case the town already has is left as it is (a historic record is not edited by a second file);
        the new ones are checked together by the service's batch."""
        for target in targets:
            if target["existing"] is not None:
                target["result"] = (target["existing"], None, "unchanged")
        super().check(actor, [t for t in targets if t["existing"] is None])

    def undo(self, actor, change):
        self.undo_many(actor, [change])

    def undo_many(self, actor, changes):
        """Delete the events the import created, all at once (the service refuses if one was worked on since)."""
        ids = [int(c.object_id) for c in changes if c.action == "created"]
        services.delete_imported_events(actor, list(bulk.where_in(Event.objects.all(), "pk", ids)))


EVENTS = EventsKind(
    name="events",
    label=gettext_lazy("Historic events (历史事件)"),
    object_type="event",
    columns=[
        Column("external_id", "原编号", ("case number", "case no", "external id", "案件编号", "工单编号", "事件编号"),
               parse=_words, required=True, help=gettext_lazy("The case number in the system the events come from"),
               example="XS2019-000123"),
        Column("town", "乡镇(街道)代码", ("town code", "town", "区划代码"), parse=n.parse_code, required=True,
               help=gettext_lazy("9-digit division code of the town"), example="330109113"),
        Column("category", "事件小类", ("category", "sub-category", "小类", "事件类别"), parse=_words, required=True,
               help=gettext_lazy("A sub-category's code or name (大类/小类 when names repeat)"), example="zf-city-stall"),
        Column("description", "事件描述", ("description", "问题描述", "诉求内容"), parse=n.clean_text, required=True,
               example="菜场门口占道经营"),
        Column("reported_at", "上报时间", ("reported at", "reported", "受理登记时间", "来电时间"), parse=parse_datetime,
               required=True, example="2019-06-03 09:15"),
        Column("accepted_at", "受理时间", ("accepted at", "accepted"), parse=parse_datetime, example="2019-06-03 10:00"),
        Column("rejected_reason", "不予受理原因", ("rejected reason", "not accepted"), parse=n.clean_text,
               help=gettext_lazy("Given: the case was not accepted (不予受理)")),
        Column("dispatched_at", "派遣时间", ("dispatched at", "dispatched"), parse=parse_datetime,
               example="2019-06-03 11:00"),
        Column("to", "处置部门", ("handled by", "department", "承办单位"), parse=_words,
               help=gettext_lazy("A department's name, an office's division code or a user name; empty: the town"),
               example="综合执法中队"),
        Column("deadline", "办结时限", ("deadline", "时限"), parse=parse_datetime,
               help=gettext_lazy("Empty: the category's deadline counted from 派遣 on the official calendar")),
        Column("closed_at", "结案时间", ("closed at", "closed", "办结时间"), parse=parse_datetime,
               example="2019-06-05 16:30"),
        Column("verdict", "回访评价", ("review", "verdict", "满意度"), parse=_choice(
            VERDICT_WORDS, gettext_lazy("“%(value)s” is not a review; use 满意, 基本满意 or 不满意.")),
            choices=tuple(VERDICT_WORDS), example="满意"),
        Column("source", "来源", ("source", "事件来源"), parse=_choice(
            SOURCE_WORDS, gettext_lazy("“%(value)s” is not a source; use 网格员, 群众, 12345, 视频 or 传感器.")),
            choices=("网格员", "群众", "12345", "视频", "传感器"), help=gettext_lazy("Empty: 12345"), example="12345"),
        Column("address", "地址", ("address", "事发地址"), parse=_words, example="瓜沥镇东街"),
        Column("lat", "纬度", ("latitude", "lat"), parse=_coordinate, example="30.2011"),
        Column("lng", "经度", ("longitude", "lng", "long"), parse=_coordinate, example="120.4632"),
        Column("crs", "坐标系", ("crs", "coordinate system"), parse=_choice(
            CRS_WORDS, gettext_lazy("“%(value)s” is not a coordinate system; use wgs84, gcj02 or bd09.")),
            choices=("wgs84", "gcj02", "bd09"), help=gettext_lazy("Empty: wgs84")),
        Column("reporter_name", "上报人", ("reporter", "reporter name", "来电人"), parse=_words),
        Column("reporter_phone", "联系电话", ("phone", "reporter phone", "来电号码"), parse=_words),
    ],
)
