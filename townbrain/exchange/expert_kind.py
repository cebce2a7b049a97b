"""The exchange kind `expert_activities` (DOMAIN §8): the column standard of expert activities.

Registered in `townbrain.exchange.kinds.KINDS`. The exchange floor sits above the experts app:
it writes through `experts.services`, as the other kinds write through their apps' services.

Natural key: a row is the activity of the same **town, date, activity type (the word written when
it matched no type) and expert names** (names normalised: separated by 、, trimmed, each once). The
活动类型 is matched by the vocabulary's name or synonyms; a word that matches none is imported as
其他 with the word kept and a warning (exchange/quality.py), so no office retypes its sheet. A row whose key exists updates that
activity's person-times and problems (or leaves it unchanged); any other row creates one. The
same file imported twice therefore changes nothing the second time.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import bulk
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import allows
from townbrain.experts import services
from townbrain.experts.models import ACTIVITY_HEADERS, ActivityType, ExpertActivity

from . import normalize as n
from .kind import BatchKind, Column, RowError


def parse_activity_type(value) -> str | None:
    """The word as written: it is matched against the vocabulary (活动类型, kept as data) when the row is
    built, so a word that matches no type is not an error — it is filed under 其他 with a warning."""
    return " ".join(n.clean_text(value).split()) or None


WHOLE_COUNTS = gettext_lazy("%(value)s is not a whole number; person-times and problems are counted in whole "
                            "numbers.")


def parse_count(value) -> int:
    """A whole, non-negative number; an empty cell is 0."""
    return n.parse_whole(value, units=n.UNITS, message=WHOLE_COUNTS) or 0


def parse_names(value) -> str:
    return services.normalize_names(n.clean_text(value))


FIGURES = ("chief_designer_count", "resident_planner_count", "adviser_count", "problems_found", "problems_solved")


class ExpertActivitiesKind(BatchKind):
    def prepare(self, actor, records):
        codes = sorted({r.get("town") for r in records if r.get("town")})
        dates = [r["date"] for r in records if r.get("date")]
        self.existing = {}
        self.vocabulary = services.TypeVocabulary()
        self.towns = {u.code: u for u in bulk.where_in(OrgUnit.objects.all(), "code", codes)}
        if dates:
            within = ExpertActivity.objects.filter(date__gte=min(dates), date__lte=max(dates))
            for a in bulk.where_in(within, "town_id", codes):
                self.existing[(a.town_id, a.date, a.activity_type_id, a.type_word, a.expert_names)] = a

    def build(self, actor, v: dict) -> dict:
        town = self.towns.get(v.get("town"))
        if town is None:
            raise RowError({"town": _("There is no org unit with code %(code)s.") % {"code": v.get("town")}})
        if town.level != Level.TOWN:
            raise RowError({"town": _("An expert activity belongs to a town (9-digit code); %(code)s is a "
                                      "%(level)s.") % {"code": town.code, "level": town.get_level_display()}})
        if not allows(actor, "add", town.code):
            raise RowError({"town": _("%(name)s (%(code)s) is outside your area.") % {
                "name": town.name, "code": town.code}})
        names = v.get("expert_names") or ""
        activity_type, word = self.vocabulary.match(v["activity_type"])
        if activity_type is None:
            raise RowError({"activity_type": _("The activity-type vocabulary is empty; a province office must "
                                               "add the types first.")})
        key = (town.code, v["date"], activity_type.code, word, names)
        fields = {"date": v["date"], "town": town, "activity_type": activity_type, "type_word": word,
                  "expert_names": names}
        # Figures in the file are applied (an empty cell is 0); columns absent from the file keep their value.
        fields.update({k: v[k] for k in FIGURES if k in v})
        return {"item": (self.existing.get(key), fields), "key": key}

    def batch_for(self, actor):
        return services.ActivityBatch(actor)  # checks in file order, writes together

    def undo(self, actor, change):
        obj = ExpertActivity.objects.filter(pk=change.object_id).first()
        if obj is None:
            return
        if change.action == "created":
            services.delete_activity(actor, obj)
        else:
            values = {k: v for k, v in change.before.items() if k in FIGURES}
            services.update_activity(actor, obj, **values)


def type_choices() -> tuple[str, ...]:
    """The active types' names, offered in the template's drop-down (other words are accepted too)."""
    return tuple(ActivityType.objects.filter(active=True).values_list("name", flat=True))


EXPERT_ACTIVITIES = ExpertActivitiesKind(
    name="expert_activities",
    label=gettext_lazy("Expert activities"),
    object_type="expertactivity",
    columns=[
        Column("date", ACTIVITY_HEADERS["date"], ("activity date", "date", "日期"), parse=n.parse_date, required=True,
               example="2020-06-18"),
        Column("town", ACTIVITY_HEADERS["town"], ("town code", "town", "乡镇(街道)代码", "区划代码"), parse=n.parse_code,
               required=True, help=gettext_lazy("9-digit division code of the town"), example="330109113"),
        Column("activity_type", ACTIVITY_HEADERS["activity_type"], ("activity type", "type", "类型"), parse=parse_activity_type,
               required=True, help=gettext_lazy("A type of the vocabulary or one of its synonyms (e.g. 现场指导, 技术咨询, "
                                                "专题培训); another word is kept under 其他 with a warning"),
               choices=type_choices, open_choices=True, example="现场指导"),
        Column("chief_designer_count", ACTIVITY_HEADERS["chief_designer_count"], ("chief designer", "chief designers", "首席设计师"),
               parse=parse_count, help=gettext_lazy("Person-times (人次)"), example=1),
        Column("resident_planner_count", ACTIVITY_HEADERS["resident_planner_count"], ("resident planner", "resident planners", "驻镇规划师"),
               parse=parse_count, help=gettext_lazy("Person-times (人次)"), example=2),
        Column("adviser_count", ACTIVITY_HEADERS["adviser_count"], ("development adviser", "development advisers", "adviser", "发展师"),
               parse=parse_count, help=gettext_lazy("Person-times (人次)"), example=1),
        Column("problems_found", ACTIVITY_HEADERS["problems_found"], ("problems found", "发现问题"), parse=parse_count, example=5),
        Column("problems_solved", ACTIVITY_HEADERS["problems_solved"], ("problems solved", "解决问题"), parse=parse_count,
               help=gettext_lazy("Not more than the problems found"), example=3),
        Column("expert_names", ACTIVITY_HEADERS["expert_names"], ("expert names", "experts", "专家"), parse=parse_names,
               help=gettext_lazy("Separated by 、"), example="王建国、李明、陈晓燕"),
    ],
)
