"""Investment's `townbrain doctor` check (registered in InvestmentConfig.ready(), see core/doctor.py).

`deal_figures`: what the services keep on a deal from its history (services.py): its funds in place are the
sum of its receipts, and its stage history holds every stage up to its stage, each once, and none beyond it.
"""

from collections import defaultdict
from decimal import Decimal

from django.db.models import OuterRef, Subquery, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.doctor import Check, Options, Outcome, register

from .models import STAGE_ORDER, Deal, DealStage, FundsReceipt, stage_index

CENT = Decimal("0.01")  # the money fields' scale


def check_deals(options: Options) -> Outcome:
    out = Outcome()
    received = (FundsReceipt.objects.filter(deal=OuterRef("pk")).order_by().values("deal")
                .annotate(s=Sum("amount")).values("s"))
    reached: dict[int, set[str]] = defaultdict(set)
    for deal_id, stage in DealStage.objects.order_by().values_list("deal_id", "stage").iterator(chunk_size=10000):
        reached[deal_id].add(stage)
    rows = (Deal.objects.order_by("pk").annotate(received=Subquery(received))
            .values_list("pk", "town_id", "name", "funds_in_place", "received", "stage"))
    for pk, town, name, funds, total, stage in rows.iterator(chunk_size=5000):
        out.checked += 1
        label = _("deal #%(id)s %(name)s (%(town)s)") % {"id": pk, "name": name, "town": town}
        total = _cents(total or 0)  # SQLite sums the receipts as floats
        if _cents(funds) != total:
            out.problem(_("%(deal)s: %(funds)s in place, its receipts add up to %(total)s") % {
                "deal": label, "funds": funds, "total": total})
        want = {s.value for s in STAGE_ORDER[:stage_index(stage) + 1]}
        if reached.get(pk, set()) != want:
            out.problem(_("%(deal)s: at stage %(stage)s, its history reaches %(reached)s") % {
                "deal": label, "stage": stage,
                "reached": ", ".join(s.value for s in STAGE_ORDER if s.value in reached.get(pk, ())) or "—"})
    return out


def _cents(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def register_checks() -> None:
    register(Check("deal_figures", gettext_lazy("Deals' funds and stages = their receipts and stage history"),
                   check_deals, order=80))
