"""The one write path for deals (招商): create, change, delete, funds received, stages reached.

Every function takes the actor first, checks the right on the deal's town, and writes the change and
its audit row in one transaction. `Deal.funds_in_place` and `Deal.stage` are kept here, from the
receipts and the stage history, so no other code writes them.

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

from townbrain.core import audit, codes
from townbrain.core.audit_labels import register_actions
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import ALL, require, scope_prefixes
from townbrain.core.services import refuse_unknown

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


def _check_natural_key(deal: Deal) -> None:
    clash = Deal.objects.filter(town_id=deal.town_id, signed_on=deal.signed_on, name=deal.name).exclude(pk=deal.pk)
    if clash.exists():
        raise ValidationError({"name": _("%(town)s already has a deal “%(name)s” signed on %(date)s.") % {
            "town": deal.town.name, "name": deal.name, "date": deal.signed_on}})


def _set_stages(deal: Deal, on: date) -> None:
    """The history follows the deal's stage: every stage up to it has a date (reached `on` when not yet
    recorded; 签约 on the signing date), the stages beyond it (a correction) are removed."""
    reached = {s.stage: s for s in deal.stages.all()}
    upto = stage_index(deal.stage)
    for i, stage in enumerate(STAGE_ORDER):
        if i <= upto and stage.value not in reached:
            DealStage.objects.create(deal=deal, stage=stage.value,
                                     date=deal.signed_on if stage == Stage.SIGNED else max(on, deal.signed_on))
        elif i <= upto and stage == Stage.SIGNED and reached[stage.value].date != deal.signed_on:
            DealStage.objects.filter(pk=reached[stage.value].pk).update(date=deal.signed_on)
        elif i > upto and stage.value in reached:
            reached[stage.value].delete()


def _receive(deal: Deal, amount: Decimal, on: date, note: str = "") -> FundsReceipt | None:
    if not amount:
        return None
    return FundsReceipt.objects.create(deal=deal, date=max(on, deal.signed_on), amount=amount, note=note)


def _refresh_funds(deal: Deal) -> None:
    deal.funds_in_place = deal.receipts.aggregate(s=Sum("amount"))["s"] or ZERO


def create_deal(actor, *, funds_in_place=None, funds_on: date | None = None, stage_on: date | None = None,
                **fields) -> Deal:
    """A new deal. `funds_in_place` (万元) is recorded as one receipt dated `funds_on`; the stages up to
    `stage` are recorded as reached on `stage_on` (both default to today, never before the signing date)."""
    refuse_unknown(fields, DEAL_FIELDS)
    deal = Deal(**fields)
    require(actor, "add", deal.town_id or "")
    _clean(deal)
    deal.funds_in_place = funds_in_place or ZERO
    today = timezone.localdate()
    deal.full_clean(validate_unique=False, validate_constraints=False)
    validate_deal(deal)
    with transaction.atomic():
        _check_natural_key(deal)
        deal.save()
        _receive(deal, deal.funds_in_place, funds_on or today, _("Recorded with the deal"))
        _set_stages(deal, stage_on or today)
        audit.record(actor, "deal.create", deal, {}, audit.snapshot(deal, SNAPSHOT_FIELDS), org_code=deal.town_id)
    return deal


def update_deal(actor, deal: Deal, *, funds_in_place=None, funds_on: date | None = None,
                stage_on: date | None = None, **fields) -> Deal:
    """Change a deal. A new `funds_in_place` total is recorded as a receipt of the difference dated
    `funds_on` (so the history of funds stays); a new stage is dated `stage_on` (default today)."""
    refuse_unknown(fields, DEAL_FIELDS)
    require(actor, "change", deal.town_id)
    today = timezone.localdate()
    with transaction.atomic():
        deal = Deal.objects.select_for_update(of=("self",)).select_related("town", "project").get(pk=deal.pk)
        before = audit.snapshot(deal, SNAPSHOT_FIELDS)
        for name, value in fields.items():
            setattr(deal, name, value)
        _clean(deal)
        # Moving a deal to another town needs the right there too.
        require(actor, "change", deal.town_id)
        delta = (funds_in_place - deal.funds_in_place) if funds_in_place is not None else ZERO
        deal.funds_in_place += delta
        deal.full_clean(validate_unique=False, validate_constraints=False)
        validate_deal(deal)
        _check_natural_key(deal)
        after = audit.snapshot(deal, SNAPSHOT_FIELDS)
        if after != before:
            deal.save()
            _receive(deal, delta, funds_on or today, _("Correction") if delta < 0 else "")
            _set_stages(deal, stage_on or today)
            audit.record(actor, "deal.update", deal, before, after, org_code=deal.town_id)
    return deal


def delete_deal(actor, deal: Deal) -> None:
    require(actor, "delete", deal.town_id)
    with transaction.atomic():
        audit.record(actor, "deal.delete", deal, audit.snapshot(deal, SNAPSHOT_FIELDS), {}, org_code=deal.town_id)
        deal.delete()


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
