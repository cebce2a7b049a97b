"""Criteria fed by the system's own records (DOMAIN §9): figures computed for many towns at once.

Each source is computed for a programme, a year and a set of towns in a handful of queries (not
one per town), so an assessment of 40,000 towns reads them in bulk:

- projects.*  from the live roll-up table (projects/rollups/), the town's cells, month December
              of the year — the same figures `rollups.compute` shows for the town:
              start_rate (started ÷ planned to start in the year × 100), investment_rate
              (investment done ÷ annual plan × 100), planned (planned to start in the year),
              started, laggards (滞后项目 at the end of the year)
- reporting.* from the reporting cycle (reporting/timeliness.py year_figures): a town owes a
              month from its first started project on (or once it submitted it); a month counts
              once its deadline (reporting/deadlines.py: rules, overrides, working days) has passed.
              missing (months not submitted), late (months first submitted after the deadline),
              on_time_rate (months submitted on time ÷ months owed × 100)
- experts.*   from the expert activities (一库三师, experts/models.py) dated in the year, whatever
              the programme, in one grouped query: activities (count), person_times (人次 of
              the three kinds together), problems_solved. A town without activities has 0.
- deals.*     from the 招商 deals (investment/models.py) signed in the year, whatever the programme,
              in one grouped query, each deal as it stands now: count (deals signed), signed_amount
              and funds_in_place (万元), funds_rate (资金到位率: in place ÷ signed × 100), fulfilment_rate
              (履约率: deals with funds in place, started or producing ÷ deals × 100), started (开工 or
              投产), producing (投产). A town without deals has 0 and no rates.
- publicity.* from articles (宣传稿件) published and honours (表彰) awarded in the year and the 定期约稿
              quotas whose period lies in it (publicity/models.py): articles, articles_high (中央 and
              省级 outlets), quota_rate (articles delivered towards the quotas, at most each quota,
              ÷ articles owed × 100; no rate without quotas), honours (先进单位 and 先进个人 placed at
              the town; an honour of a county office is not a town's).
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Source:
    key: str
    label: str
    unit: str
    family: str


SOURCES = {s.key: s for s in (
    Source("projects.start_rate", _("Project start rate (开工率)"), "%", "projects"),
    Source("projects.investment_rate", _("Investment completion rate (投资完成率)"), "%", "projects"),
    Source("projects.planned", _("Projects planned to start in the year"), "", "projects"),
    Source("projects.started", _("Projects started in the year"), "", "projects"),
    Source("projects.laggards", _("Lagging projects at the end of the year (滞后项目)"), "", "projects"),
    Source("reporting.missing", _("Monthly reports missing (months)"), "", "reporting"),
    Source("reporting.late", _("Monthly reports after the deadline (months)"), "", "reporting"),
    Source("reporting.on_time_rate", _("Monthly reports on time (%)"), "%", "reporting"),
    Source("experts.activities", _("Expert activities (一库三师)"), "", "experts"),
    Source("experts.person_times", _("Expert person-times (一库三师, 人次)"), "人次", "experts"),
    Source("experts.problems_solved", _("Problems solved by experts (一库三师)"), "", "experts"),
    Source("deals.count", _("Deals signed in the year (招商, 个)"), "个", "deals"),
    Source("deals.signed_amount", _("Amount signed in the year (招商, 万元)"), "万元", "deals"),
    Source("deals.funds_in_place", _("Funds in place of the year's deals (万元)"), "万元", "deals"),
    Source("deals.funds_rate", _("Funds in place rate (资金到位率)"), "%", "deals"),
    Source("deals.fulfilment_rate", _("Deals that went ahead (履约率)"), "%", "deals"),
    Source("deals.started", _("Deals started (开工)"), "个", "deals"),
    Source("deals.producing", _("Deals producing (投产)"), "个", "deals"),
    Source("publicity.articles", _("Publicity articles (宣传稿件, 篇)"), "篇", "publicity"),
    Source("publicity.articles_high", _("Articles in central and provincial outlets (篇)"), "篇", "publicity"),
    Source("publicity.quota_rate", _("Article quota fulfilment (约稿完成率)"), "%", "publicity"),
    Source("publicity.honours", _("Honours (表彰: 先进单位 and 先进个人)"), "项", "publicity"),
)}

CHUNK = 2000


def compute(keys, programme, year: int, towns, today: date | None = None) -> dict[str, dict[str, float]]:
    """{source key: {town code: value}} for the given sources; a town without a figure is left out."""
    families = {SOURCES[k].family for k in keys}
    out: dict[str, dict[str, float]] = {k: {} for k in keys}
    towns = list(towns)
    if "projects" in families:
        figures = _projects(programme, year, towns)
        for key in keys:
            if SOURCES[key].family == "projects":
                name = key.split(".", 1)[1]
                out[key] = {t: f[name] for t, f in figures.items() if f.get(name) is not None}
    if "reporting" in families:
        figures = _reporting(programme, year, towns, today or timezone.localdate())
        for key in keys:
            if SOURCES[key].family == "reporting":
                name = key.split(".", 1)[1]
                out[key] = {t: f[name] for t, f in figures.items() if f.get(name) is not None}
    if "experts" in families:
        figures = _experts(year, towns)
        for key in keys:
            if SOURCES[key].family == "experts":
                name = key.split(".", 1)[1]
                out[key] = {t: f[name] for t, f in figures.items()}
    for family, figures_of in (("deals", _deals), ("publicity", _publicity)):
        if family in families:
            figures = figures_of(year, towns)
            for key in keys:
                if SOURCES[key].family == family:
                    name = key.split(".", 1)[1]
                    out[key] = {t: f[name] for t, f in figures.items() if f.get(name) is not None}
    return out


def _in_year(rows, field: str, year: int, towns: list[str], town_field: str = "town_id"):
    rows = rows.filter(**{f"{field}__gte": date(year, 1, 1), f"{field}__lte": date(year, 12, 31)})
    return rows.filter(**{f"{town_field}__in": towns}) if len(towns) <= CHUNK else rows


def _deals(year: int, towns: list[str]) -> dict[str, dict]:
    from django.db.models import Q

    from townbrain.investment.models import Deal
    from townbrain.investment.services import AHEAD, STARTED

    wanted = set(towns)
    rows = (_in_year(Deal.objects.all(), "signed_on", year, towns).order_by().values("town_id")
            .annotate(n=Count("id"), signed=Sum("signed_amount"), funds=Sum("funds_in_place"),
                      ahead=Count("id", filter=AHEAD), started=Count("id", filter=STARTED),
                      producing=Count("id", filter=Q(stage="producing")))
            .values_list("town_id", "n", "signed", "funds", "ahead", "started", "producing"))
    figures = {town: {"count": 0, "signed_amount": 0, "funds_in_place": 0, "started": 0, "producing": 0}
               for town in towns}
    for town, n, signed, funds, ahead, started, producing in rows:
        if town in wanted:
            figures[town] = {"count": n, "signed_amount": float(signed or 0), "funds_in_place": float(funds or 0),
                             "funds_rate": float(funds * 100 / signed) if signed else None,
                             "fulfilment_rate": ahead * 100 / n, "started": started, "producing": producing}
    return figures


def _publicity(year: int, towns: list[str]) -> dict[str, dict]:
    from collections import defaultdict

    from django.db.models import Q

    from townbrain.publicity.models import Article, Honour, Quota
    from townbrain.publicity.services import quotas_in_year, with_counted

    wanted = set(towns)
    figures = {town: {"articles": 0, "articles_high": 0, "honours": 0} for town in towns}
    articles = (_in_year(Article.objects.all(), "published_on", year, towns).order_by().values("town_id")
                .annotate(n=Count("id"), high=Count("id", filter=Q(level__in=("central", "provincial"))))
                .values_list("town_id", "n", "high"))
    for town, n, high in articles:
        if town in wanted:
            figures[town].update(articles=n, articles_high=high)
    honours = (_in_year(Honour.objects.all(), "awarded_on", year, towns, "unit_id").order_by().values("unit_id")
               .annotate(n=Count("id")).values_list("unit_id", "n"))
    for town, n in honours:
        if town in wanted:
            figures[town]["honours"] = n
    quotas = quotas_in_year(Quota.objects.all(), year)
    if len(towns) <= CHUNK:
        quotas = quotas.filter(town_id__in=towns)
    owed, delivered = defaultdict(int), defaultdict(int)
    for town, articles_owed, counted in with_counted(quotas.order_by()).values_list("town_id", "articles", "counted"):
        owed[town] += articles_owed
        delivered[town] += min(articles_owed, counted)
    for town, n in owed.items():
        if town in wanted and n:
            figures[town]["quota_rate"] = delivered[town] * 100 / n
    return figures


def _experts(year: int, towns: list[str]) -> dict[str, dict]:
    from townbrain.experts.models import ExpertActivity

    wanted = set(towns)
    rows = ExpertActivity.objects.filter(date__gte=date(year, 1, 1), date__lte=date(year, 12, 31))
    if len(towns) <= CHUNK:
        rows = rows.filter(town_id__in=towns)
    rows = (rows.order_by().values("town_id")
            .annotate(n=Count("id"), chief=Sum("chief_designer_count"), planner=Sum("resident_planner_count"),
                      adviser=Sum("adviser_count"), solved=Sum("problems_solved"))
            .values_list("town_id", "n", "chief", "planner", "adviser", "solved"))
    figures = {town: {"activities": 0, "person_times": 0, "problems_solved": 0} for town in towns}
    for town, n, chief, planner, adviser, solved in rows:
        if town in wanted:
            figures[town] = {"activities": n, "person_times": (chief or 0) + (planner or 0) + (adviser or 0),
                             "problems_solved": solved or 0}
    return figures


def _projects(programme, year: int, towns: list[str]) -> dict[str, dict]:
    from townbrain.projects import rollups

    period = f"{year}12"
    figures = {}
    for start in range(0, len(towns), CHUNK):
        sums = rollups.read_sums(programme, towns[start:start + CHUNK], period)
        for town, (planned, started, plan, done, lag) in sums.items():
            figures[town] = {
                "planned": planned,
                "started": started,
                "start_rate": started * 100 / planned if planned else None,
                "investment_rate": done * 100 / plan if plan else None,
                "laggards": lag,
            }
    # Towns without any cell have no projects: nothing planned, nothing lagging, no rates.
    for town in towns:
        figures.setdefault(town, {"planned": 0, "started": 0, "laggards": 0})
    return figures


def _reporting(programme, year: int, towns: list[str], today: date) -> dict[str, dict]:
    # The reporting cycle's own timeliness: first submission against the deadline (working days).
    from townbrain.reporting.timeliness import year_figures

    return year_figures(programme, year, towns, today)
