"""Benchmark: the cockpit and the briefings on the national dataset of `townbrain bench rollups` (issue 12).

Reuses (or makes) that dataset — 40,000 towns, 1,000,000 projects, 12,000,000 monthly reports —
in its own PostgreSQL database. Then, as a province office admin (scoped like a real user, so
`restrict` and the partial-scope logic run):
- the cockpit page `GET /cockpit/<code>/?programme=meili&period=…` through Django's test client
  (URL routing, every registered panel, the template and its chart data), for a province, a
  city, a county and a town, the month rotating through 2020; and the live-refresh answer
  `GET /cockpit/<code>/panels/` when nothing changed (204);
- a province's briefing rendered as PDF (and xlsx, docx): figures.build() + reports.briefing.render().
Targets: cockpit server time p95 < 150 ms at province level; a province's PDF < 5 s.
"""

import os
import statistics
import time

from townbrain.bench.rollups import MONTHS, _counts, _ms, _pick, p95, prepare, use_database

COCKPIT_TARGET_MS = 150.0
PDF_TARGET_S = 5.0


def _bench_user(province: str):
    from django.contrib.auth import get_user_model

    from townbrain.access.services import grant_membership
    from townbrain.core.models import OrgUnit
    from townbrain.core.roles import Role
    from townbrain.core.scope import SYSTEM

    user, created = get_user_model().objects.get_or_create(username=f"bench-office-{province}")
    if created or not user.memberships.exists():
        grant_membership(SYSTEM, user, OrgUnit.objects.get(code=province), Role.OFFICE_ADMIN)
    return get_user_model().objects.get(pk=user.pk)


def _pages(client, url: str, reads: int, warm_up: int = 3) -> list[float]:
    times = []
    for i in range(reads + warm_up):
        start = time.perf_counter()
        response = client.get(url, {"programme": "meili", "period": MONTHS[(i * 5 + 8) % 12]})
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        if i >= warm_up:
            times.append(elapsed)
    return times


def run(database: str = "townbrain_bench", reads: int = 30, briefings: int = 3, echo=print) -> dict:
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from townbrain.cockpit import figures
    from townbrain.core.models import OrgUnit
    from townbrain.programmes.models import Programme

    settings.DEBUG = False
    use_database(database, echo)
    prepare(echo)
    counts = _counts()
    province = _pick("", 2, "33")
    city = _pick(province, 4, "3301")
    county = _pick(city, 6, "330109")
    town = _pick(county, 9, "330109113")
    orgs = [("province", province), ("city", city), ("county", county), ("town", town)]
    user = _bench_user(province)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)

    load_before = os.getloadavg()[0]
    page_times, refresh_times = {}, {}
    for label, code in orgs:
        page_times[label] = _pages(client, reverse("cockpit", args=[code]), reads)
        echo(f"cockpit {label} {code}: p95 {p95(page_times[label]):.1f} ms")
    unit = OrgUnit.objects.get(code=province)
    meili = Programme.objects.get(code="meili")
    shown = figures.build(user, unit, meili, "202009").fingerprint()
    # The live refresh for an unchanged month: the same work as the page minus the layout, answered 204.
    times = []
    for _i in range(reads):
        start = time.perf_counter()
        response = client.get(reverse("cockpit-panels", args=[province]),
                              {"programme": "meili", "period": "202009", "since": shown})
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 204:
            raise RuntimeError(f"the live refresh answered {response.status_code}, not 204")
    refresh_times["province"] = times

    from townbrain.reports.briefing import render

    brief = {}
    render(figures.build(user, unit, meili, "202009"), "pdf")  # load WeasyPrint and the fonts once, untimed
    for fmt in ("pdf", "xlsx", "docx"):
        runs = []
        for _i in range(briefings if fmt == "pdf" else 1):
            start = time.perf_counter()
            data = render(figures.build(user, unit, meili, "202009"), fmt)
            runs.append(time.perf_counter() - start)
        brief[fmt] = (runs, len(data))
        echo(f"briefing {fmt}: {statistics.median(runs):.2f} s, {len(data):,} bytes")

    names = {o.code: o.name for o in OrgUnit.objects.filter(code__in=[c for _l, c in orgs])}
    rows = [("dataset", f"{counts['projects']:,} projects, {counts['reports']:,} monthly reports, "
                        f"{counts['cells']:,} roll-up cells")]
    for label, code in orgs:
        rows.append((f"cockpit page {label} {code} {names[code]}, ms min / p50 / p95 / max", _ms(page_times[label])))
    rows.append((f"live refresh, nothing changed (204), province {province}, ms min / p50 / p95 / max",
                 _ms(refresh_times["province"])))
    for fmt, (runs, size) in brief.items():
        rows.append((f"{fmt.upper()} briefing of province {province} (build + render), s median / max; size",
                     f"{statistics.median(runs):.2f} / {max(runs):.2f}; {size / 1024:,.0f} KiB"))
    rows.append(("machine load average (1 min) before / after measuring",
                 f"{load_before:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"))
    province_p95 = p95(page_times["province"])
    pdf = max(brief["pdf"][0])
    ok = province_p95 < COCKPIT_TARGET_MS and pdf < PDF_TARGET_S
    summary = (f"cockpit p95 at the province {province_p95:.1f} ms (target < {COCKPIT_TARGET_MS:.0f}), "
               f"province PDF briefing {pdf:.2f} s at worst (target < {PDF_TARGET_S:.0f}) — "
               f"{'meets' if ok else 'MISSES'} the targets")
    return {
        "description": (
            "`townbrain bench cockpit`: the national dataset of `townbrain bench rollups`. Pages through "
            f"Django's test client as a province office admin (scoped, not the system actor), {reads} reads "
            "per unit with the month rotating through 2020, after 3 warm-up reads: server time including "
            "every registered panel, the template and its chart data. Briefings: `figures.build()` + "
            "`reports.briefing.render()` for the province, September 2020."
        ),
        "rows": rows,
        "summary": summary,
    }
