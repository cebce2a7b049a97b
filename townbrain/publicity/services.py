"""The one write path for articles (宣传稿件), quotas (定期约稿) and honours (表彰), and their figures.

Each record belongs to one org unit (`SCOPE`): the service checks the actor's right there (and there
again after a change that moves it), validates, saves and writes the audit row in one transaction.
"""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Substr, TruncMonth, TruncYear
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import audit, bulk, codes, periods
from townbrain.core.audit_labels import register_actions
from townbrain.core.models import Level, OrgUnit
from townbrain.core.records import RecordBatch
from townbrain.core.scope import ALL, require, scope_prefixes

from .models import LEVEL_RANK, Article, Honour, HonourKind, OutletLevel, Quota

register_actions({
    "article.create": gettext_lazy("Recorded article"),
    "article.update": gettext_lazy("Edited article"),
    "article.delete": gettext_lazy("Deleted article"),
    "quota.create": gettext_lazy("Set article quota"),
    "quota.update": gettext_lazy("Edited article quota"),
    "quota.delete": gettext_lazy("Deleted article quota"),
    "honour.create": gettext_lazy("Recorded honour"),
    "honour.update": gettext_lazy("Edited honour"),
    "honour.delete": gettext_lazy("Deleted honour"),
})

FIELDS = {
    Article: ("town", "level", "outlet", "published_on", "title", "link"),
    Quota: ("town", "period", "articles", "min_level", "note"),
    Honour: ("unit", "kind", "recipient", "title", "issuer", "awarded_on", "occasion", "reason"),
}
SCOPE = {Article: "town_id", Quota: "town_id", Honour: "unit_id"}
TEXT = {Article: ("outlet", "title"), Quota: ("note",), Honour: ("recipient", "title", "issuer", "occasion")}
# The fields two records may not share (the natural key an import would match on), and the field told.
KEYS = {Article: (("town", "published_on", "outlet", "title"), "title"), Quota: (("town", "period"), "period"),
        Honour: (("unit", "awarded_on", "kind", "recipient", "title"), "recipient")}


def _town_only(obj, field: str, errors: dict) -> None:
    unit = getattr(obj, field)
    if unit is not None and unit.level != Level.TOWN:
        errors[field] = _("This record belongs to a town (9-digit code); %(code)s is a %(level)s.") % {
            "code": unit.code, "level": unit.get_level_display()}


def validate(obj) -> None:
    errors = {}
    if isinstance(obj, Article | Quota) and obj.town_id:
        _town_only(obj, "town", errors)
    if isinstance(obj, Quota) and obj.period:
        try:
            obj.period = periods.canonical(obj.period)
        except periods.InvalidPeriod as exc:
            errors["period"] = str(exc)
    if isinstance(obj, Quota) and "period" not in errors and obj.period:
        obj.starts_on, obj.ends_on = period_dates(obj.period)
        obj.min_rank = LEVEL_RANK.get(obj.min_level, 0)
    # A quota of 0 articles is kept (it asks for nothing and is always met; no rate depends on it): offices
    # list every town in their sheets, so it is a data-quality warning (quota_zero), not a refusal.
    for name in TEXT[type(obj)]:
        setattr(obj, name, " ".join((getattr(obj, name) or "").split()))
    if errors:
        raise ValidationError(errors)


def _action(model, verb: str) -> str:
    return f"{model._meta.model_name}.{verb}"


def create(actor, model, **fields):
    """A new article, quota or honour (`model`), from its fields: the one-record case of PublicityBatch."""
    return bulk.one(PublicityBatch(actor, model), (None, fields))


def update(actor, obj, **fields):
    """Change an article, quota or honour: the one-record case of PublicityBatch."""
    return bulk.one(PublicityBatch(actor, type(obj)), (obj, fields))


class PublicityBatch(RecordBatch):
    """Articles, quotas or honours (`model`) recorded and changed for one actor in one transaction: the
    batch shape of core/records.py (bulk.one() is the one-record case — create(), update() —, the
    publicity imports the many). The changed records are locked and read once, the natural keys
    (KEYS) of the units the items name read once per unit."""

    def __init__(self, actor, model):
        super().__init__(actor)
        self.model = model
        self.accepts = self.fields = FIELDS[model]
        self.key_fields = tuple(model._meta.get_field(f).attname for f in KEYS[model][0])
        self.key_group = SCOPE[model]  # the stored keys are read once per unit

    def scope(self, obj) -> str:
        return getattr(obj, SCOPE[self.model])

    def clean(self, obj, before) -> None:
        validate(obj)
        super().clean(obj, before)

    def clash(self, obj) -> ValidationError:
        return ValidationError({KEYS[self.model][1]: _("The same %(what)s is already on record.") % {
            "what": self.model._meta.verbose_name}})


def delete(actor, obj) -> None:
    model = type(obj)
    require(actor, "delete", getattr(obj, SCOPE[model]))
    with transaction.atomic():
        audit.record(actor, _action(model, "delete"), obj, audit.snapshot(obj, FIELDS[model]), {},
                     org_code=getattr(obj, SCOPE[model]))
        obj.delete()


# --- figures -----------------------------------------------------------------------------------------

def period_dates(period: str) -> tuple[date, date]:
    months = periods.months_of(period)
    return periods.month_start(months[0]), periods.month_end(months[-1])


def article_summary(queryset) -> dict:
    """Articles of `queryset` in all and by outlet level (中央 / 省 / 市 / 县)."""
    agg = queryset.order_by().aggregate(articles=Count("id"), **{
        level.value: Count("id", filter=Q(level=level.value)) for level in OutletLevel})
    return {"articles": agg["articles"], "by_level": {level.value: agg[level.value] for level in OutletLevel}}


RANK = Case(*(When(level=level, then=Value(rank)) for level, rank in LEVEL_RANK.items()), default=Value(0),
            output_field=IntegerField())


def with_counted(quotas):
    """Quotas annotated with `counted`: the town's articles published in the quota's period in an outlet of
    its lowest level or above (one subquery, so pages sort and page by it and exports carry it)."""
    if "counted" in quotas.query.annotations:
        return quotas
    articles = (Article.objects.filter(town_id=OuterRef("town_id"), published_on__gte=OuterRef("starts_on"),
                                       published_on__lte=OuterRef("ends_on"))
                .annotate(rank=RANK).filter(rank__gte=OuterRef("min_rank"))
                .order_by().values("town_id").annotate(n=Count("id")).values("n"))
    return quotas.annotate(counted=Coalesce(Subquery(articles, output_field=IntegerField()), 0))


def quota_summary(quotas) -> dict:
    """Quotas, articles owed, articles delivered towards them (at most the quota each), 约稿完成率 (%) and
    quotas met in full."""
    rows = list(with_counted(quotas.order_by()).values_list("articles", "counted"))
    owed = sum(a for a, _c in rows)
    delivered = sum(min(a, c) for a, c in rows)
    return {"quotas": len(rows), "owed": owed, "delivered": delivered,
            "fulfilment_rate": round(delivered * 100 / owed, 1) if owed else None,
            "met": sum(1 for a, c in rows if c >= a)}


def honour_summary(queryset) -> dict:
    agg = queryset.order_by().aggregate(honours=Count("id"), units=Count("id", filter=Q(kind=HonourKind.UNIT)),
                                        people=Count("id", filter=Q(kind=HonourKind.PERSON)))
    return {"honours": agg["honours"], "units": agg["units"], "people": agg["people"]}


def quotas_in_year(queryset, year: int):
    """The quotas whose period lies in `year` (2020, 2020S1, 2020Q3, 202009 …)."""
    return queryset.filter(period__startswith=str(year))


# --- counts per org unit and period (the live roll-ups behind the API's breakdowns) -----------------------

ARTICLE_BREAKDOWNS = ("unit", "town", "year", "month", "level")
HONOUR_BREAKDOWNS = ("unit", "year", "month", "kind")
QUOTA_BREAKDOWNS = ("unit", "town", "period")


def own_area(user) -> str | None:
    """The one area `user` sees (a roll-up without `org` lists the units below it), None for several or all."""
    prefixes = scope_prefixes(user, "view")
    return next(iter(prefixes)) if prefixes is not ALL and len(prefixes) == 1 else None


def child_length(org: str | None) -> int:
    """Code length of the org units one level below `org` (provinces without one); never below towns."""
    town = codes.LEVEL_LENGTHS["town"]
    return min(next((n for n in codes.LEVEL_LENGTHS.values() if n > len(org or "")), town), town)


def _keyed(queryset, by: str, unit_field: str, date_field: str, org: str | None, choices=None):
    """`queryset` annotated with `key` (the group) for `by`, and a function labelling a key."""
    qs = queryset.order_by()
    if by == "unit":
        return qs.annotate(key=Substr(unit_field, 1, child_length(org))), "units"
    if by == "town":
        return qs.annotate(key=Substr(unit_field, 1, codes.LEVEL_LENGTHS["town"])), "units"
    if by in ("year", "month"):
        return qs.annotate(key=(TruncYear if by == "year" else TruncMonth)(date_field)), by
    return qs.annotate(key=F(by)), dict(choices)


def _label_rows(rows: list[dict], how) -> list[dict]:
    if how == "units":
        names = dict(OrgUnit.objects.filter(code__in=[r["key"] for r in rows]).values_list("code", "name"))
        return [{**r, "label": names.get(r["key"], r["key"])} for r in rows]
    if how in ("year", "month"):
        fmt, label = ("%Y", "%Y") if how == "year" else ("%Y%m", "%Y-%m")
        return [{**r, "key": r["key"].strftime(fmt), "label": r["key"].strftime(label)} for r in rows]
    return [{**r, "label": str(how.get(r["key"], r["key"]))} for r in rows]


def article_breakdown(queryset, by: str, org: str | None = None) -> list[dict]:
    """Articles per org unit one level below `org` (`unit`), per town, per year or month published, or per
    outlet level: {key, label, articles, by_level}. Units and towns most articles first; periods in order."""
    if by not in ARTICLE_BREAKDOWNS:
        raise ValueError(by)
    qs, how = _keyed(queryset, by, "town_id", "published_on", org, OutletLevel.choices)
    rows = list(qs.values("key").annotate(articles=Count("id"), **{
        level.value: Count("id", filter=Q(level=level.value)) for level in OutletLevel}).order_by(
        "key" if by in ("year", "month") else "-articles", "key"))
    if by == "level":
        rows.sort(key=lambda r: -LEVEL_RANK[r["key"]])
    rows = [{"key": r["key"], "articles": r["articles"], "by_level": {lv.value: r[lv.value] for lv in OutletLevel}}
            for r in rows]
    return _label_rows(rows, how)


def honour_breakdown(queryset, by: str, org: str | None = None) -> list[dict]:
    """Honours per org unit one level below `org` (`unit`; an honour of a higher unit counts at that unit),
    per year or month awarded, or per kind: {key, label, honours, units (先进单位), people (先进个人)}."""
    if by not in HONOUR_BREAKDOWNS:
        raise ValueError(by)
    qs, how = _keyed(queryset, by, "unit_id", "awarded_on", org, HonourKind.choices)
    rows = list(qs.values("key").annotate(
        honours=Count("id"), units=Count("id", filter=Q(kind=HonourKind.UNIT)),
        people=Count("id", filter=Q(kind=HonourKind.PERSON))).order_by(
        "key" if by in ("year", "month") else "-honours", "key"))
    return _label_rows([{"key": r["key"], "honours": r["honours"], "units": r["units"], "people": r["people"]}
                        for r in rows], how)


def quota_breakdown(quotas, by: str, org: str | None = None) -> list[dict]:
    """定期约稿 per org unit one level below `org` (`unit`), per town or per period: the quota summary's
    figures (quotas, owed, delivered, fulfilment_rate, met) for each."""
    if by not in QUOTA_BREAKDOWNS:
        raise ValueError(by)
    length = child_length(org) if by == "unit" else codes.LEVEL_LENGTHS["town"]
    groups: dict[str, list] = {}
    for town, period, owed, counted in with_counted(quotas.order_by()).values_list(
            "town_id", "period", "articles", "counted"):
        groups.setdefault(period if by == "period" else town[:length], []).append((owed, counted))
    rows = []
    for key, pairs in groups.items():
        owed = sum(a for a, _c in pairs)
        delivered = sum(min(a, c) for a, c in pairs)
        rows.append({"key": key, "quotas": len(pairs), "owed": owed, "delivered": delivered,
                     "fulfilment_rate": round(delivered * 100 / owed, 1) if owed else None,
                     "met": sum(1 for a, c in pairs if c >= a)})
    if by == "period":
        rows.sort(key=lambda r: r["key"])
        return [{**r, "label": r["key"]} for r in rows]
    rows.sort(key=lambda r: (-(r["fulfilment_rate"] or 0), r["key"]))
    return _label_rows(rows, "units")
