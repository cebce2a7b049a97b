"""美丽城镇集群 town clusters (DOMAIN §3): a lead town and its wing towns, possibly across counties.

- `Cluster`: a name, a theme, the programme it belongs to (optional), the lead town, and the member
  towns through `ClusterMember` (role 龙头 lead / 两翼 wing; the lead is a member too).
- `JointIndicator`: the cluster's assessment of one of the five joint indicators (交通互通, 资源互用,
  文化互融, 产业互补, 经济互动) for one year: a status and what was done, as free text.

Scope: a cluster is seen by whoever may see ANY of its member towns (`Cluster.objects.restrict`);
its pages and API show only the member towns the user may see. Changing it needs the right on every
member town (services.py).
"""

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from townbrain.core.models import OrgUnit, TimeStampedModel
from townbrain.core.querysets import RestrictedManager, RestrictedQuerySet
from townbrain.core.scope import scope_q


class MemberRole(models.TextChoices):
    LEAD = "lead", _("Lead town (龙头)")
    WING = "wing", _("Wing town (两翼)")


class Indicator(models.TextChoices):
    TRANSPORT = "transport", _("Transport links (交通互通)")
    RESOURCES = "resources", _("Shared resources (资源互用)")
    CULTURE = "culture", _("Cultural integration (文化互融)")
    INDUSTRY = "industry", _("Complementary industries (产业互补)")
    ECONOMY = "economy", _("Economic interaction (经济互动)")


class Assessment(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    ACHIEVED = "achieved", _("Achieved")


class ClusterQuerySet(RestrictedQuerySet):
    def restrict(self, user, action: str = "view"):
        """The clusters with at least one member town inside the user's area for `action`."""
        q = scope_q(user, action, "town__code")
        if q is None:
            return self
        return self.filter(pk__in=ClusterMember.objects.filter(q).values("cluster_id"))

    def touching(self, code: str):
        """The clusters with a member town in the subtree of `code`."""
        return self.filter(pk__in=ClusterMember.objects.filter(town__code__startswith=code).values("cluster_id"))


class Cluster(TimeStampedModel):
    # The lookup to the member towns' codes; restrict() reads it through a subquery (no duplicates).
    scope_field = "memberships__town__code"

    name = models.CharField(_("name"), max_length=100, unique=True)
    theme = models.CharField(_("theme"), max_length=200, blank=True)
    programme = models.ForeignKey("programmes.Programme", verbose_name=_("programme"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="clusters")
    lead = models.ForeignKey(OrgUnit, verbose_name=_("lead town"), on_delete=models.PROTECT,
                             related_name="led_clusters")
    members = models.ManyToManyField(OrgUnit, through="ClusterMember", related_name="clusters",
                                     verbose_name=_("member towns"))
    note = models.TextField(_("note"), blank=True)

    objects = ClusterQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("cluster")
        verbose_name_plural = _("clusters")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("cluster-detail", args=[self.pk])


class ClusterMember(models.Model):
    scope_field = "town__code"

    cluster = models.ForeignKey(Cluster, verbose_name=_("cluster"), on_delete=models.CASCADE,
                                related_name="memberships")
    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.PROTECT,
                             related_name="cluster_memberships")
    role = models.CharField(_("role"), max_length=8, choices=MemberRole.choices, default=MemberRole.WING)

    objects = RestrictedManager()

    class Meta:
        ordering = ["cluster_id", "role", "town_id"]  # "lead" < "wing": the lead first
        verbose_name = _("cluster member")
        verbose_name_plural = _("cluster members")
        constraints = [models.UniqueConstraint(fields=["cluster", "town"], name="clusters_member_once")]
        indexes = [models.Index(fields=["town"], name="clusters_member_town_prefix", opclasses=["text_pattern_ops"])]

    def __str__(self):
        return f"{self.cluster} · {self.town_id}"


class JointIndicator(TimeStampedModel):
    scope_field = "cluster__memberships__town__code"

    cluster = models.ForeignKey(Cluster, verbose_name=_("cluster"), on_delete=models.CASCADE,
                                related_name="indicators")
    indicator = models.CharField(_("joint indicator"), max_length=12, choices=Indicator.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    status = models.CharField(_("assessment"), max_length=12, choices=Assessment.choices,
                              default=Assessment.NOT_STARTED)
    text = models.TextField(_("what was done"), blank=True)

    class Meta:
        ordering = ["cluster_id", "-year", "indicator"]
        verbose_name = _("joint indicator")
        verbose_name_plural = _("joint indicators")
        constraints = [models.UniqueConstraint(fields=["cluster", "indicator", "year"],
                                               name="clusters_indicator_once")]

    def __str__(self):
        return f"{self.cluster} · {self.get_indicator_display()} · {self.year}"
