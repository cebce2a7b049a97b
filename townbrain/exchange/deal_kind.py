"""The exchange kind `deals` (招商, docs/data-standard.md): the column standard of investment deals.

Registered in `townbrain.exchange.kinds.KINDS`; writes through `investment.services` (its DealBatch checks
the rows together and writes them together), as the other kinds write through their apps' services.

Natural key: a row is the deal of the same **town, signing date and project name**. A row whose key
exists updates that deal (or leaves it unchanged); any other row creates one, so the same file
imported twice changes nothing the second time. 到位资金(万元) is the total in place: a change is kept
as a dated receipt of the difference (到位日期, default the import's day), so the history of funds
grows with each sheet. 阶段 sets the stage; a stage reached is dated 阶段日期 (default the import's day).
关联项目编号 names a project of the row's town by its code.

Warnings (the data-quality register, exchange/quality.py) of a deal are registered from here, so the
register knows deals without the rules of other kinds changing: funds above the signed amount,
a started deal without its ledger project, a signing date in the future.
"""

from decimal import Decimal

from django.db.models import F, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import bulk
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import allows
from townbrain.investment import services
from townbrain.investment.models import DEAL_HEADERS, STAGE_CHINESE, Deal, Stage
from townbrain.projects.models import Project

from . import normalize as n
from . import quality
from .kind import BatchKind, Column, RowError

ZERO = Decimal("0")
STAGE_SYNONYMS = {"已签约": "signed", "到位": "funded", "资金到位": "funded", "已开工": "started", "在建": "started",
                  "已投产": "producing", "投产运营": "producing", "达产": "producing"}


def parse_stage(value) -> str | None:
    text = n.clean_text(value).replace(" ", "")
    if not text:
        return None
    for choice in Stage:
        if text.lower() in {choice.value, str(choice.label).lower()}:
            return choice.value
    by_word = {word: code for code, word in STAGE_CHINESE.items()} | STAGE_SYNONYMS
    if text in by_word:
        return by_word[text]
    raise n.BadValue(_("“%(value)s” is not a stage; use 签约, 资金到位, 开工 or 投产.") % {"value": value})


def parse_words(value) -> str:
    return " ".join(n.clean_text(value).split())


class DealsKind(BatchKind):
    """Rows matched to the stored deals on their natural key, checked and written together by the
    service's DealBatch (its one-deal case is the UI's and the API's create and edit)."""

    def prepare(self, actor, records):
        codes = sorted({r.get("town") for r in records if r.get("town")})
        self.towns = {u.code: u for u in bulk.where_in(OrgUnit.objects.all(), "code", codes)}
        # Which deal a row names: the batch reads (and locks) the deals it changes itself.
        self.existing = {(d.town_id, d.signed_on, d.name): d for d in bulk.where_in(
            Deal.objects.order_by().only("pk", "town_id", "signed_on", "name"), "town_id", codes)}
        wanted = {r.get("project") for r in records if r.get("project")}
        self.projects = {}
        if wanted:
            for p in bulk.where_in(Project.objects.filter(code__in=wanted), "town_id", codes):
                self.projects.setdefault((p.town_id, p.code), []).append(p)

    def build(self, actor, v: dict) -> dict:
        town = self.towns.get(v.get("town"))
        if town is None:
            raise RowError({"town": _("There is no org unit with code %(code)s.") % {"code": v.get("town")}})
        if town.level != Level.TOWN:
            raise RowError({"town": _("A deal belongs to a town (9-digit code); %(code)s is a %(level)s.") % {
                "code": town.code, "level": town.get_level_display()}})
        if not allows(actor, "add", town.code):
            raise RowError({"town": _("%(name)s (%(code)s) is outside your area.") % {
                "name": town.name, "code": town.code}})
        fields = {"town": town, "name": v["name"], "signed_on": v["signed_on"]}
        for key in ("investor", "industry", "event"):
            if key in v:
                fields[key] = v[key] or ""
        if "signed_amount" in v:
            fields["signed_amount"] = v["signed_amount"] or ZERO
        if v.get("stage"):
            fields["stage"] = v["stage"]
        code = v.get("project")
        if code:
            found = self.projects.get((town.code, code), [])
            if not found:
                raise RowError({"project": _("%(town)s has no project with code %(code)s.") % {
                    "town": town.name, "code": code}})
            if len(found) > 1:
                raise RowError({"project": _("%(town)s has projects with code %(code)s in more than one "
                                             "programme; link the deal on its page.") % {
                    "town": town.name, "code": code}})
            fields["project"] = found[0]
        elif "project" in v:
            fields["project"] = None
        if "funds_in_place" in v:
            fields["funds_in_place"] = v["funds_in_place"] or ZERO
        for key in ("funds_on", "stage_on"):
            if v.get(key):
                fields[key] = v[key]
        key = (town.code, v["signed_on"], v["name"])
        return {"item": (self.existing.get(key), fields), "key": key}

    def batch_for(self, actor):
        return services.DealBatch(actor)

    def undo(self, actor, change):
        self.undo_many(actor, [change])

    def undo_many(self, actor, changes):
        """The deals the import created deleted, those it changed put back (their funds by a correcting
        receipt) through one DealBatch; a deal deleted since is left alone."""
        stored = {str(d.pk): d for d in bulk.where_in(Deal.objects.select_related("town"), "pk",
                                                       [int(c.object_id) for c in changes])}
        services.delete_deals(actor, [stored[c.object_id] for c in changes
                                      if c.action == "created" and c.object_id in stored])
        bulk.every(services.DealBatch(actor), [(stored[c.object_id], self._before(c.before)) for c in changes
                                               if c.action != "created" and c.object_id in stored])

    @staticmethod
    def _before(before: dict) -> dict:
        """The service's arguments that put back the values a change replaced (a linked project deleted
        since is put back as none)."""
        values = {}
        for name, raw in before.items():
            if name == "funds_in_place":
                values[name] = Deal._meta.get_field(name).to_python(raw)
            elif name in services.DEAL_FIELDS:
                field = Deal._meta.get_field(name)
                if field.is_relation:
                    values[name] = field.related_model.objects.filter(pk=raw).first() if raw is not None else None
                else:
                    values[name] = field.to_python(raw)
        return values


def _money(value):
    return n.parse_decimal(value)


DEALS = DealsKind(
    name="deals",
    label=gettext_lazy("Investment deals (招商)"),
    object_type="deal",
    columns=[
        Column("signed_on", DEAL_HEADERS["signed_on"], ("signing date", "signed on", "date", "签约时间"),
               parse=n.parse_date, required=True, example="2020-04-16"),
        Column("town", DEAL_HEADERS["town"], ("town code", "town", "乡镇(街道)代码", "区划代码"), parse=n.parse_code,
               required=True, help=gettext_lazy("9-digit division code of the town"), example="520111100"),
        Column("name", DEAL_HEADERS["name"], ("project name", "name", "project", "签约项目"), parse=parse_words,
               required=True, example="青岩古镇文旅综合体"),
        Column("investor", DEAL_HEADERS["investor"], ("investor", "投资企业", "投资主体"), parse=parse_words,
               example="贵州文旅投资有限公司"),
        Column("industry", DEAL_HEADERS["industry"], ("industry", "sector", "产业类别", "行业"), parse=parse_words,
               example="文化旅游"),
        Column("signed_amount", DEAL_HEADERS["signed_amount"], ("signed amount", "amount", "签约金额", "签约资金(万元)"),
               parse=_money, help=gettext_lazy("万元"), example=50000),
        Column("funds_in_place", DEAL_HEADERS["funds_in_place"], ("funds in place", "到位资金", "资金到位(万元)"),
               parse=_money, help=gettext_lazy("Total in place so far, 万元; a change is kept as a dated receipt"),
               example=12000),
        Column("stage", DEAL_HEADERS["stage"], ("stage", "进展阶段", "项目进展"), parse=parse_stage,
               help=gettext_lazy("签约, 资金到位, 开工 or 投产"), choices=tuple(STAGE_CHINESE.values()),
               example="资金到位"),
        Column("project", DEAL_HEADERS["project"], ("project code", "linked project", "ledger project", "项目编号"),
               parse=parse_words, help=gettext_lazy("Code of the town's ledger project the deal became"),
               example=""),
        Column("event", DEAL_HEADERS["event"], ("signing event", "event", "签约仪式"), parse=parse_words,
               example="2020年贵州省小城镇产业大招商签约仪式"),
        Column("stage_on", DEAL_HEADERS["stage_on"], ("stage date", "开工日期", "投产日期"), parse=n.parse_date,
               help=gettext_lazy("When the stage was reached; default the day of the import")),
        Column("funds_on", DEAL_HEADERS["funds_on"], ("funds date", "资金到位日期"), parse=n.parse_date,
               help=gettext_lazy("Date of the funds in place; default the day of the import")),
    ],
)


# --- exports in the standard (what `townbrain export --kind deals` is to write) ----------------------------

def export_queryset(actor):
    """The deals `actor` may see, as `townbrain.exchange.exports.SOURCES` expects of a kind's base."""
    return Deal.objects.restrict(actor, "view")


def export_rows(qs):
    """Rows in the order of DEALS.columns: the stage in Chinese, the project by code, the two date columns
    empty (they date a change, and the export changes nothing), so the file imports back unchanged."""
    for d in qs.select_related("project").order_by("town_id", "signed_on", "name").iterator(2000):
        yield [d.signed_on, d.town_id, d.name, d.investor, d.industry, d.signed_amount, d.funds_in_place,
               STAGE_CHINESE[d.stage], d.project.code if d.project_id else "", d.event, "", ""]


# --- the data-quality register learns deals ---------------------------------------------------------------

_STARTED = (Stage.STARTED, Stage.PRODUCING)
RULES = [
    quality.Rule("deal_funds_over_signed", "deal", DEAL_HEADERS["funds_in_place"], "funds_in_place",
                 gettext_lazy("Funds in place (%(value)s 万元) exceed the signed amount; is a figure in 元 or "
                              "mistyped?"),
                 test=lambda d, today: d.funds_in_place > d.signed_amount,
                 q=lambda today: Q(funds_in_place__gt=F("signed_amount"))),
    quality.Rule("deal_started_unlinked", "deal", DEAL_HEADERS["project"], "project",
                 gettext_lazy("Started or producing, but not linked to the ledger project it became (关联项目编号)."),
                 test=lambda d, today: d.stage in _STARTED and d.project_id is None,
                 q=lambda today: Q(stage__in=_STARTED, project__isnull=True), value=lambda d: ""),
    quality.Rule("deal_signed_future", "deal", DEAL_HEADERS["signed_on"], "signed_on",
                 gettext_lazy("The signing date %(value)s lies in the future."),
                 test=lambda d, today: d.signed_on > today, q=lambda today: Q(signed_on__gt=today)),
]


def _deal_model():
    return Deal


quality.register("deal", quality.Subject(_deal_model, "town_id", ("town",),
                                         lambda d: f"{d.signed_on:%Y-%m-%d} {d.name}", "deal-detail",
                                         gettext_lazy("Deal")), RULES)
