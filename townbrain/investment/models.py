"""招商 investment attraction (DOMAIN §10): deals signed with investors, and how far each went.

- `Deal` (签约项目): a deal of a town with an investor in an industry, signed on a date (often at a
  signing ceremony, `event`, e.g. a provincial 产业大招商 meeting that bundles many deals) for an
  amount in 万元. It moves through the stages 签约 → 资金到位 → 开工 → 投产; once started it may be
  linked to the ledger project it became (`project`, a project of the same town).
  Natural key (what an import matches a row on): town, signing date, name.
- `DealStage`: when a deal reached each stage (its history; the deal's `stage` is the latest).
- `FundsReceipt` (资金到位): the funds that arrived, dated, so the amount in place grows over time;
  `Deal.funds_in_place` is their sum, kept by the services. A negative receipt is a correction.
"""

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from townbrain.core.models import OrgUnit, TimeStampedModel
from townbrain.core.querysets import RestrictedManager


class Stage(models.TextChoices):
    SIGNED = "signed", _("Signed (签约)")
    FUNDED = "funded", _("Funds in place (资金到位)")
    STARTED = "started", _("Started (开工)")
    PRODUCING = "producing", _("Producing (投产)")


STAGE_ORDER = [Stage.SIGNED, Stage.FUNDED, Stage.STARTED, Stage.PRODUCING]
# The standard writes stages in Chinese whatever the user's language (imports read them, exports write them).
STAGE_CHINESE = {"signed": "签约", "funded": "资金到位", "started": "开工", "producing": "投产"}

# The data standard's column headers (DOMAIN §8 and docs/data-standard.md, kind `deals`).
DEAL_HEADERS = {
    "signed_on": "签约日期", "town": "乡镇代码", "name": "项目名称", "investor": "投资方", "industry": "产业",
    "signed_amount": "签约金额(万元)", "funds_in_place": "到位资金(万元)", "stage": "阶段", "project": "关联项目编号",
    "event": "签约活动", "stage_on": "阶段日期", "funds_on": "到位日期",
}


def stage_index(stage: str) -> int:
    return [s.value for s in STAGE_ORDER].index(stage)


class Deal(TimeStampedModel):
    scope_field = "town__code"

    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.PROTECT, related_name="deals")
    name = models.CharField(_("project name"), max_length=200)
    investor = models.CharField(_("investor"), max_length=200, blank=True)
    industry = models.CharField(_("industry"), max_length=60, blank=True)
    signed_amount = models.DecimalField(_("signed amount (万元)"), max_digits=14, decimal_places=2, default=0)
    signed_on = models.DateField(_("signing date"))
    event = models.CharField(_("signing event"), max_length=200, blank=True,
                             help_text=_("e.g. the provincial 小城镇产业大招商 signing ceremony"))
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices, default=Stage.SIGNED)
    funds_in_place = models.DecimalField(_("funds in place (万元)"), max_digits=14, decimal_places=2, default=0,
                                         help_text=_("The sum of the funds received; kept by the receipts"))
    # The ledger project the deal became once started; a reference only, so deleting the project unlinks.
    project = models.ForeignKey("projects.Project", verbose_name=_("ledger project"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="deals")
    note = models.TextField(_("note"), blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-signed_on", "town_id", "pk"]
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        constraints = [
            models.UniqueConstraint(fields=["town", "signed_on", "name"], name="investment_deal_natural_key"),
        ]
        indexes = [
            models.Index(fields=["town"], name="investment_deal_town_prefix", opclasses=["text_pattern_ops"]),
            models.Index(fields=["signed_on"], name="investment_deal_signed_on"),
        ]

    def __str__(self):
        return f"{self.name} ({self.town.name})" if self.town_id else self.name

    def get_absolute_url(self):
        return reverse("deal-detail", args=[self.pk])

    @property
    def funds_rate(self):
        """资金到位率: funds in place ÷ signed amount × 100 (None without a signed amount)."""
        return self.funds_in_place * 100 / self.signed_amount if self.signed_amount else None


class DealStage(models.Model):
    scope_field = "deal__town__code"

    deal = models.ForeignKey(Deal, verbose_name=_("deal"), on_delete=models.CASCADE, related_name="stages")
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices)
    date = models.DateField(_("date reached"))

    objects = RestrictedManager()

    class Meta:
        ordering = ["deal_id", "date", "pk"]
        verbose_name = _("deal stage")
        verbose_name_plural = _("deal stages")
        constraints = [models.UniqueConstraint(fields=["deal", "stage"], name="investment_stage_once")]

    def __str__(self):
        return f"{self.get_stage_display()} {self.date}"


class FundsReceipt(TimeStampedModel):
    scope_field = "deal__town__code"

    deal = models.ForeignKey(Deal, verbose_name=_("deal"), on_delete=models.CASCADE, related_name="receipts")
    date = models.DateField(_("date received"))
    amount = models.DecimalField(_("amount (万元)"), max_digits=14, decimal_places=2,
                                 help_text=_("Negative to correct an earlier receipt"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["deal_id", "date", "pk"]
        verbose_name = _("funds receipt")
        verbose_name_plural = _("funds receipts")
        indexes = [models.Index(fields=["date"], name="investment_receipt_date")]

    def __str__(self):
        return f"{self.date} {self.amount} 万元"
