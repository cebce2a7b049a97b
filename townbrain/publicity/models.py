"""Publicity and honours (DOMAIN §10).

- `Article` (宣传稿件): an article about a town in an outlet of a level (中央 / 省 / 市 / 县级媒体) on a
  date, with its title and link. Natural key: town, date, outlet, title.
- `Quota` (定期约稿): how many articles a town owes in a period (a DHIS2 period id: 2020, 2020S1,
  2020Q3, 202009), optionally counting only outlets of a level or above (e.g. 市级 and up).
  Its fulfilment is counted from the articles, never typed.
- `Honour` (表彰): 先进单位 (a unit) or 先进个人 (a person) honoured by a named body on a date, with the
  reason and the meeting; it belongs to the org unit honoured, or the person's unit (any level).
"""

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from townbrain.core.models import OrgUnit, TimeStampedModel
from townbrain.core.querysets import RestrictedManager


class OutletLevel(models.TextChoices):
    CENTRAL = "central", _("Central (中央)")
    PROVINCIAL = "provincial", _("Provincial (省级)")
    CITY = "city", _("City (市级)")
    COUNTY = "county", _("County (县级)")


# Highest first: a quota "at least city level" counts central, provincial and city outlets.
LEVEL_RANK = {"central": 4, "provincial": 3, "city": 2, "county": 1}
LEVEL_CHINESE = {"central": "中央", "provincial": "省", "city": "市", "county": "县"}


class HonourKind(models.TextChoices):
    UNIT = "unit", _("Advanced unit (先进单位)")
    PERSON = "person", _("Advanced individual (先进个人)")


class Article(TimeStampedModel):
    scope_field = "town__code"

    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.PROTECT, related_name="articles")
    level = models.CharField(_("outlet level"), max_length=12, choices=OutletLevel.choices)
    outlet = models.CharField(_("outlet"), max_length=100, help_text=_("e.g. 人民日报, 浙江日报, 杭州日报"))
    published_on = models.DateField(_("date published"))
    title = models.CharField(_("title"), max_length=300)
    link = models.URLField(_("link"), max_length=500, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-published_on", "town_id", "pk"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        constraints = [models.UniqueConstraint(fields=["town", "published_on", "outlet", "title"],
                                               name="publicity_article_natural_key")]
        indexes = [
            models.Index(fields=["town"], name="publicity_article_town_prefix", opclasses=["text_pattern_ops"]),
            models.Index(fields=["published_on"], name="publicity_article_date"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("article-detail", args=[self.pk])


class Quota(TimeStampedModel):
    scope_field = "town__code"

    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.PROTECT, related_name="article_quotas")
    period = models.CharField(_("period"), max_length=8, help_text=_("2020, 2020S1, 2020Q3 or 202009"))
    articles = models.PositiveIntegerField(_("articles owed"))
    min_level = models.CharField(_("lowest outlet level counted"), max_length=12, choices=OutletLevel.choices,
                                 blank=True, help_text=_("Empty: articles in outlets of every level count"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    # Kept by the service from `period` and `min_level`, so the articles that count are one subquery.
    starts_on = models.DateField(_("period starts"), editable=False)
    ends_on = models.DateField(_("period ends"), editable=False)
    min_rank = models.PositiveSmallIntegerField(editable=False, default=0)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-period", "town_id", "pk"]
        verbose_name = _("article quota")
        verbose_name_plural = _("article quotas")
        constraints = [models.UniqueConstraint(fields=["town", "period"], name="publicity_quota_once")]
        indexes = [models.Index(fields=["town"], name="publicity_quota_town_prefix", opclasses=["text_pattern_ops"])]

    def __str__(self):
        return f"{self.town.name} {self.period}" if self.town_id else self.period

    def get_absolute_url(self):
        return reverse("quota-detail", args=[self.pk])


class Honour(TimeStampedModel):
    scope_field = "unit__code"

    unit = models.ForeignKey(OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="honours",
                             help_text=_("The unit honoured, or the unit the person works for"))
    kind = models.CharField(_("kind of honour"), max_length=8, choices=HonourKind.choices)
    recipient = models.CharField(_("recipient"), max_length=200, help_text=_("The unit's or the person's name"))
    title = models.CharField(_("honour"), max_length=200, help_text=_("e.g. 美丽城镇建设工作先进集体"))
    issuer = models.CharField(_("issuing body"), max_length=200)
    awarded_on = models.DateField(_("date awarded"))
    occasion = models.CharField(_("meeting or document"), max_length=200, blank=True)
    reason = models.TextField(_("reason"), blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-awarded_on", "unit_id", "pk"]
        verbose_name = _("honour")
        verbose_name_plural = _("honours")
        constraints = [models.UniqueConstraint(fields=["unit", "awarded_on", "kind", "recipient", "title"],
                                               name="publicity_honour_natural_key")]
        indexes = [models.Index(fields=["unit"], name="publicity_honour_unit_prefix", opclasses=["text_pattern_ops"])]

    def __str__(self):
        return f"{self.recipient} · {self.title}"

    def get_absolute_url(self):
        return reverse("honour-detail", args=[self.pk])
