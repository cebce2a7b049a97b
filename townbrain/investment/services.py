"""The one write path for deals (招商): create, change, delete, funds received, stages reached.

Every function takes the actor first, checks the right on the deal's town, and writes the change and
its audit row in one transaction. Deals are created and changed by DealBatch (the one batch shape,
core/records.py): create_deal() and update_deal() are its one-deal case, the `deals` import its many.
`Deal.funds_in_place` and `Deal.stage` are kept here, from the receipts and the stage history, so no
other code writes them.

Figures (`summarise`, `breakdown`) are live: GROUP BY over the deals the caller may see, so a roll-up
by org unit, industry or month is always what the ledger holds now.
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Substr, TruncMonth, TruncYear
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import audit, bulk, codes
from townbrain.core.audit_labels import register_actions
from townbrain.core.models import Level, OrgUnit
from townbrain.core.records import RecordBatch
from townbrain.core.scope import ALL, require, scope_prefixes

from .models import STAGE_ORDER, Deal, DealStage, FundsReceipt, Stage, stage_index

register_actions({
    "deal.create": gettext_lazy("Recorded deal"),
    "deal.update": gettext_lazy("Edited deal"),
    "deal.delete": gettext_lazy("Deleted deal"),
    "deal.funds": gettext_lazy("Recorded funds in place"),
    "deal.funds_delete": gettext_lazy("Removed funds receipt"),
})

DEAL_FIELDS = ("town", "name", "investor", "industry", "signed_amount", "signed_on", "event", "stage", "project",
               "note")
# What an audit row shows of a deal: its fields and the figures the services keep.
SNAPSHOT_FIELDS = (*DEAL_FIELDS, "funds_in_place")
# What a create or change takes besides the deal's fields: the funds in place (a total), the dates of
# a receipt and of a stage reached.
WHEN = ("funds_in_place", "funds_on", "stage_on")
ZERO = Decimal("0")


def find_project(town, code: str):
    """The ledger project of `town` with `code` (codes are unique within a programme, so a code used by two
    programmes of the town is ambiguous and refused)."""
    from townbrain.projects.models import Project

    code = (code or "").strip()
    if not code:
        return None
    found = list(Project.objects.filter(town=town, code=code)[:2])
    if not found:
        raise ValidationError({"project": _("%(town)s has no project with code %(code)s.") % {
            "town": town.name, "code": code}})
    if len(found) > 1:
        raise ValidationError({"project": _("%(town)s has projects with code %(code)s in more than one programme; "
                                            "link the deal on its page.") % {"town": town.name, "code": code}})
    return found[0]


def validate_deal(deal: Deal) -> None:
    """Rules of one deal; every message names the field and why."""
    errors = {}
    if deal.town_id and deal.town.level != Level.TOWN:
        errors["town"] = _("A deal belongs to a town (9-digit code); %(code)s is a %(level)s.") % {
            "code": deal.town_id, "level": deal.town.get_level_display()}
    if not (deal.name or "").strip():
        errors["name"] = _("A deal needs a project name.")
    if deal.signed_amount is not None and deal.signed_amount < 0:
        errors["signed_amount"] = _("The signed amount cannot be negative.")
    if deal.funds_in_place is not None and deal.funds_in_place < 0:
        errors["funds_in_place"] = _("The funds in place cannot be negative.")
    if deal.stage == Stage.FUNDED and not deal.funds_in_place:
        errors["funds_in_place"] = _("The stage 资金到位 needs funds in place (到位资金) above 0.")
    if deal.project_id and deal.town_id and deal.project.town_id != deal.town_id:
        errors["project"] = _("The linked project %(code)s belongs to another town.") % {"code": deal.project.code}
    if errors:
        raise ValidationError(errors)


def _clean(deal: Deal) -> None:
    for name in ("name", "investor", "industry", "event"):
        setattr(deal, name, " ".join((getattr(deal, name) or "").split()))


def _follow_stage(reached: dict, deal: Deal, on: date) -> None:
    """The history follows the deal's stage: every stage up to it has a date (reached `on` when not yet
    recorded; 签约 on the signing date), the stages beyond it (a correction) are removed. `reached`:
    {stage: (date, the stored row's id or None)}, changed in place."""
    upto = stage_index(deal.stage)
    for i, stage in enumerate(STAGE_ORDER):
        held = reached.get(stage.value)
        if i <= upto and held is None:
            reached[stage.value] = (deal.signed_on if stage == Stage.SIGNED else max(on, deal.signed_on), None)
        elif i <= upto and stage == Stage.SIGNED and held[0] != deal.signed_on:
            reached[stage.value] = (deal.signed_on, held[1])
        elif i > upto and held is not None:
            del reached[stage.value]


def _write_stages(histories) -> None:
    """Write the stage histories of saved deals: each (deal, {stage: (date, id)} as stored, as it is now).
    A stored row another took the place of, or that is gone, is deleted before the new rows go in (a
    stage is recorded once per deal)."""
    gone, moved, new = [], [], []
    for deal, stored, reached in histories:
        for stage, (day, pk) in stored.items():
            held = reached.get(stage)
            if held is None or held[1] != pk:
                gone.append(pk)
            elif held[0] != day:
                moved.append(bulk.instance(DealStage, {"id": pk, "deal": deal, "stage": stage, "date": held[0]}))
        new += [bulk.instance(DealStage, {"deal": deal, "stage": stage, "date": day})
                for stage, (day, pk) in reached.items() if pk is None]
    for piece in bulk.pieces(gone, bulk.IN_CHUNK):
        DealStage.objects.filter(pk__in=piece).delete()
    bulk.update(DealStage, moved, ["date"])
    bulk.insert(DealStage, new)


def _set_stages(deal: Deal, on: date) -> None:
    """The stage history of one saved deal made to follow its stage (a receipt added or removed)."""
    stored = {s.stage: (s.date, s.pk) for s in deal.stages.all()}
    reached = dict(stored)
    _follow_stage(reached, deal, on)
    _write_stages([(deal, stored, reached)])


def _refresh_funds(deal: Deal) -> None:
    deal.funds_in_place = deal.receipts.aggregate(s=Sum("amount"))["s"] or ZERO


def create_deal(actor, *, funds_in_place=None, funds_on: date | None = None, stage_on: date | None = None,
                **fields) -> Deal:
    """A new deal: the one-deal case of DealBatch. `funds_in_place` (万元) is recorded as one receipt dated
    `funds_on`; the stages up to `stage` are recorded as reached on `stage_on` (both default to today,
    never before the signing date)."""
    return bulk.one(DealBatch(actor), (None, {**fields, **_when(funds_in_place, funds_on, stage_on)}))


def update_deal(actor, deal: Deal, *, funds_in_place=None, funds_on: date | None = None,
                stage_on: date | None = None, **fields) -> Deal:
    """Change a deal: the one-deal case of DealBatch. A new `funds_in_place` total is recorded as a receipt
    of the difference dated `funds_on` (so the history of funds stays); a new stage is dated `stage_on`
    (default today)."""
    return bulk.one(DealBatch(actor), (deal, {**fields, **_when(funds_in_place, funds_on, stage_on)}))


def _when(funds_in_place, funds_on, stage_on) -> dict:
    """The arguments besides the deal's fields that an item of DealBatch gives, when given."""
    given = {"funds_in_place": funds_in_place, "funds_on": funds_on, "stage_on": stage_on}
    return {name: value for name, value in given.items() if value is not None}


class DealBatch(RecordBatch):
    """Deals recorded and changed for one actor in one transaction (core/records.py: bulk.one() is the
    one-deal case, the `deals` import the many). An item gives the deal's fields and, besides them, the
    funds in place (a total: a change is kept as a receipt of the difference), `funds_on` and `stage_on`
    (the dates of the receipt and of a stage reached; default today). write() writes the deals, then their
    receipts and stage histories, then an audit row each.

    The changed deals are locked and read once with their towns, projects and stage histories; the
    natural keys (town, signing date, name) are read once for all the towns the items name."""

    model = Deal
    accepts = (*DEAL_FIELDS, *WHEN)
    fields = written = SNAPSHOT_FIELDS
    audit_name = "deal"

    def __init__(self, actor):
        super().__init__(actor)
        self.today = timezone.localdate()
        self.receipts: list[tuple] = []  # (deal, date, amount, note) to write, in order
        self.histories: dict[int, tuple[dict, dict]] = {}  # stored deal's id -> (stages as stored, as held)
        self.new_histories: list[tuple[Deal, dict]] = []  # a new deal's stages, with it
        self.towns_read: set[str] = set()

    def scope(self, deal):
        return deal.town_id

    def locked(self):
        # The town and project are read by a query of their own each: a join would lock their rows too.
        return Deal.objects.prefetch_related("town", "project")

    def read_changed(self, ids) -> None:
        for pk in ids:
            self.histories.setdefault(pk, ({}, {}))
        for s in bulk.where_in(DealStage.objects.order_by(), "deal_id", ids):
            stored, reached = self.histories[s.deal_id]
            stored[s.stage] = reached[s.stage] = (s.date, s.pk)

    def prepare(self, items) -> None:
        towns = set()
        for item in items:
            deal, fields = item[0], item[1]
            town = fields.get("town", self.now[deal.pk].town_id if deal is not None and deal.pk in self.now else None)
            towns.add(getattr(town, "pk", town))
        self._read_keys(towns - {None})

    def _read_keys(self, towns) -> None:
        """Hold the natural keys of the stored deals of `towns` (those not read yet): one query for all."""
        towns = set(towns) - self.towns_read
        if not towns:
            return
        stored = Deal.objects.order_by().values_list("pk", "town_id", "signed_on", "name")
        for pk, *key in bulk.where_in(stored, "town_id", towns):
            self.keys.add_stored(tuple(key), pk)
        self.towns_read |= towns

    def build(self, fields: dict) -> Deal:
        deal = Deal(**{name: value for name, value in fields.items() if name in DEAL_FIELDS})
        deal.funds_in_place = fields.get("funds_in_place") or ZERO
        return deal

    def assign(self, deal: Deal, fields: dict) -> None:
        for name, value in fields.items():
            if name in DEAL_FIELDS or name == "funds_in_place":
                setattr(deal, name, value)

    def clean(self, deal: Deal, before) -> None:
        _clean(deal)
        super().clean(deal, before)
        validate_deal(deal)

    def key(self, deal: Deal) -> tuple:
        return deal.town_id, deal.signed_on, deal.name

    def read_keys(self, deal: Deal) -> None:
        self._read_keys({deal.town_id})

    def clash(self, deal: Deal) -> ValidationError:
        return ValidationError({"name": _("%(town)s already has a deal “%(name)s” signed on %(date)s.") % {
            "town": deal.town.name, "name": deal.name, "date": deal.signed_on}})

    # A deal accepted: its receipt and the stages it reached, held until write().

    def accepted(self, deal: Deal, held: Deal | None, fields: dict) -> None:
        if held is None:
            self._receive(deal, deal.funds_in_place, fields.get("funds_on"), _("Recorded with the deal"))
            reached = {}
            _follow_stage(reached, deal, fields.get("stage_on") or self.today)
            self.new_histories.append((deal, reached))
            return
        delta = deal.funds_in_place - held.funds_in_place
        self._receive(deal, delta, fields.get("funds_on"), _("Correction") if delta < 0 else "")
        _follow_stage(self.histories[deal.pk][1], deal, fields.get("stage_on") or self.today)

    def _receive(self, deal: Deal, amount, on: date | None, note: str) -> None:
        if amount:
            self.receipts.append((deal, max(on or self.today, deal.signed_on), amount, note))

    def write_related(self, new: list, changed: list) -> None:
        receipts, self.receipts = self.receipts, []
        bulk.insert(FundsReceipt, [bulk.instance(FundsReceipt, {"deal": deal, "date": on, "amount": amount,
                                                                 "note": note})
                                   for deal, on, amount, note in receipts])
        histories, self.new_histories = [(deal, {}, reached) for deal, reached in self.new_histories], []
        for pk, (stored, reached) in self.histories.items():
            if stored != reached:
                histories.append((self.now[pk], stored, reached))
                self.histories[pk] = (dict(reached), reached)
        _write_stages(histories)


def delete_deal(actor, deal: Deal) -> None:
    delete_deals(actor, [deal])


def delete_deals(actor, deals) -> None:
    """Delete deals (with their receipts and stage histories), an audit row each, in one transaction."""
    for deal in deals:
        require(actor, "delete", deal.town_id)
    with transaction.atomic():
        audit.record_all(actor, (("deal.delete", d, audit.snapshot(d, SNAPSHOT_FIELDS), {}, d.town_id) for d in deals))
        for piece in bulk.pieces(sorted({d.pk for d in deals}), bulk.IN_CHUNK):
            Deal.objects.filter(pk__in=piece).delete()


def add_receipt(actor, deal: Deal, *, date: date, amount, note: str = "") -> FundsReceipt:
    """Funds received on `date` (万元); the deal's funds in place grow by it, and a deal still at 签约
    moves to 资金到位."""
    require(actor, "change", deal.town_id)
    amount = Decimal(amount)
    if not amount:
        raise ValidationError({"amount": _("The amount received cannot be 0.")})
    if date < deal.signed_on:
        raise ValidationError({"date": _("Funds cannot arrive before the deal was signed (%(date)s).") % {
            "date": deal.signed_on}})
    with transaction.atomic():
        deal = Deal.objects.select_for_update(of=("self",)).select_related("town").get(pk=deal.pk)
        before = audit.snapshot(deal, SNAPSHOT_FIELDS)
        if deal.funds_in_place + amount < 0:
            raise ValidationError({"amount": _("The funds in place cannot fall below 0.")})
        receipt = FundsReceipt.objects.create(deal=deal, date=date, amount=amount, note=" ".join(note.split()))
        _refresh_funds(deal)
        if deal.stage == Stage.SIGNED and deal.funds_in_place > 0:
            deal.stage = Stage.FUNDED
        deal.save()
        _set_stages(deal, date)
        audit.record(actor, "deal.funds", deal, before, audit.snapshot(deal, SNAPSHOT_FIELDS), org_code=deal.town_id)
    return receipt


def delete_receipt(actor, receipt: FundsReceipt) -> None:
    deal = receipt.deal
    require(actor, "change", deal.town_id)
    with transaction.atomic():
        deal = Deal.objects.select_for_update(of=("self",)).select_related("town").get(pk=deal.pk)
        before = audit.snapshot(deal, SNAPSHOT_FIELDS)
        receipt.delete()
        _refresh_funds(deal)
        if deal.funds_in_place < 0:
            raise ValidationError({"amount": _("The funds in place cannot fall below 0.")})
        if deal.stage == Stage.FUNDED and not deal.funds_in_place:
            deal.stage = Stage.SIGNED
        deal.save()
        _set_stages(deal, timezone.localdate())
        audit.record(actor, "deal.funds_delete", deal, before, audit.snapshot(deal, SNAPSHOT_FIELDS),
                     org_code=deal.town_id)


# --- figures -----------------------------------------------------------------------------------------

AHEAD = ~Q(stage=Stage.SIGNED) | Q(funds_in_place__gt=0)  # 履约: the deal went ahead (funds, start or output)
STARTED = Q(stage__in=[Stage.STARTED, Stage.PRODUCING])


def _aggregates():
    # Aliases differ from the field names: an aggregate may not shadow a field another aggregate reads.
    return {"deals": Count("id"), "signed_sum": Sum("signed_amount"), "funds_sum": Sum("funds_in_place"),
            "ahead": Count("id", filter=AHEAD), "started": Count("id", filter=STARTED),
            "producing": Count("id", filter=Q(stage=Stage.PRODUCING))}


def _figures(row: dict) -> dict:
    deals = row["deals"] or 0
    signed, funds = row["signed_sum"] or ZERO, row["funds_sum"] or ZERO
    return {
        "deals": deals,
        "signed_amount": float(signed),
        "funds_in_place": float(funds),
        "funds_rate": round(float(funds * 100 / signed), 1) if signed else None,
        "fulfilment_rate": round(row["ahead"] * 100 / deals, 1) if deals else None,
        "started": row["started"] or 0,
        "producing": row["producing"] or 0,
    }


def summarise(queryset) -> dict:
    """Deals, signed amount and funds in place (万元), 资金到位率 (%), 履约率 (% of the deals that went
    ahead: funds in place, started or producing), started and producing deals, of `queryset`."""
    return _figures(queryset.order_by().aggregate(**_aggregates()))


BREAKDOWNS = ("industry", "unit", "town", "year", "month", "stage")


def own_area(user) -> str | None:
    """The one area `user` sees (a roll-up without `org` lists the units below it), None for several or all."""
    prefixes = scope_prefixes(user, "view")
    return next(iter(prefixes)) if prefixes is not ALL and len(prefixes) == 1 else None


def child_length(org: str | None) -> int:
    """Code length of the org units one level below `org` (provinces without one); never below towns, so a
    town's roll-up is the town itself."""
    town = codes.LEVEL_LENGTHS["town"]
    return min(next((n for n in codes.LEVEL_LENGTHS.values() if n > len(org or "")), town), town)


def unit_names(keys) -> dict[str, str]:
    return dict(OrgUnit.objects.filter(code__in=list(keys)).values_list("code", "name"))


def breakdown(queryset, by: str, org: str | None = None) -> list[dict]:
    """The same figures per industry, per org unit one level below `org` (`unit`: the cities of a province,
    the counties of a city, the towns of a county), per town, per year or month of signing, or per stage:
    the live roll-up. Industries, units and towns largest first; years and months in order."""
    if by not in BREAKDOWNS:
        raise ValueError(by)
    qs = queryset.order_by()
    if by in ("year", "month"):
        trunc, fmt, label = (TruncYear, "%Y", "%Y") if by == "year" else (TruncMonth, "%Y%m", "%Y-%m")
        rows = qs.annotate(key=trunc("signed_on")).values("key").annotate(**_aggregates()).order_by("key")
        return [{"key": r["key"].strftime(fmt) if r["key"] else "", "label": r["key"].strftime(label)
                 if r["key"] else "", **_figures(r)} for r in rows]
    if by == "unit":
        rows = list(qs.annotate(key=Substr("town_id", 1, child_length(org))).values("key")
                    .annotate(**_aggregates()).order_by("-signed_sum", "key"))
        names = unit_names(r["key"] for r in rows)
        return [{"key": r["key"], "label": names.get(r["key"], r["key"]), **_figures(r)} for r in rows]
    if by == "town":
        rows = qs.values("town_id", "town__name").annotate(**_aggregates()).order_by("-signed_sum", "town_id")
        return [{"key": r["town_id"], "label": r["town__name"], **_figures(r)} for r in rows]
    if by == "stage":
        rows = {r["stage"]: r for r in qs.values("stage").annotate(**_aggregates())}
        return [{"key": s.value, "label": str(s.label), **_figures(rows[s.value])} for s in STAGE_ORDER
                if s.value in rows]
    rows = qs.values("industry").annotate(**_aggregates()).order_by("-signed_sum", "industry")
    return [{"key": r["industry"], "label": r["industry"] or _("(no industry)"), **_figures(r)} for r in rows]


def funds_over_time(queryset) -> list[dict]:
    """资金到位 over time: the funds received per month for the deals of `queryset` (a receipt counts in the
    month it arrived, whenever the deal was signed), with the running total in place."""
    rows = (FundsReceipt.objects.filter(deal__in=queryset.order_by().values("pk")).order_by()
            .annotate(month=TruncMonth("date")).values("month").annotate(received=Sum("amount")).order_by("month"))
    out, total = [], ZERO
    for r in rows:
        total += r["received"]
        out.append({"period": r["month"].strftime("%Y%m"), "received": float(r["received"]),
                    "in_place": float(total)})
    return out
