"""Benchmark: live roll-ups on a national dataset (issue 4, item 9). PostgreSQL only.

Generates into a separate database (default `townbrain_bench`, created and migrated here and
reused when it already holds the dataset) a synthetic national ledger: the national division
list, 40,000 of its 41,352 townships enrolled in 美丽城镇, 1,000,000 projects (25 per town) and
12,000,000 monthly reports (January–December 2020), loaded with COPY, then `rollups.rebuild()`.

Then it measures, with the system actor:
- a roll-up read (`rollups.compute`, the function behind GET /api/rollups/) for a province, a
  city, a county and a town, the month rotating through 2020; the province also through the API
  (DRF test client, so URL routing, permission, serialisation and JSON are included);
- saving one monthly report through `services.report_progress` (validation, audit rows, the
  project's latest figures and the roll-up upkeep, committed);
- after each save, a bare single-row INSERT + COMMIT on the same server: the save's floor, so the
  save is also reported as a multiple of it (machines differ by up to 2.5× in both);
- the same roll-ups by the plain GROUP BY over the ledger (`rollups.compute_from_ledger`).
Targets (issue 17 item 7): every read p95 < 10 ms, the API's included; a save p95 < 15 ms (aim: < 5×
the bare INSERT + COMMIT).
"""

import json
import os
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.utils.translation import gettext as _

TOWNS = 40_000
PROJECTS_PER_TOWN = 25
MONTHS = [f"2020{m:02d}" for m in range(1, 13)]
READ_TARGET_MS = 10.0  # issue 17 item 7: every read level, the API included
SAVE_TARGET_MS = 15.0
SAVE_RATIO_AIM = 5.0  # a save's p95 as a multiple of a bare INSERT + COMMIT's on the same server
SEED = 2020
CHUNK = 50_000


class BenchError(RuntimeError):
    pass


def p95(values) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]


def _ms(values) -> str:
    return f"{min(values):.1f} / {statistics.median(values):.1f} / {p95(values):.1f} / {max(values):.1f}"


# --- the database ----------------------------------------------------------------------------------

def use_database(name: str, echo=print) -> None:
    """Point Django's default connection at database `name` on the same server (created when missing)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        raise BenchError(_("The roll-up benchmark runs on PostgreSQL only: set TOWNBRAIN_DATABASE_URL "
                           "(e.g. postgres://postgres@127.0.0.1:5432/townbrain)."))
    if connection.settings_dict["NAME"] == name:
        raise BenchError(_("The benchmark database must not be the working database (%(name)s).") % {"name": name})
    with connection._nodb_cursor() as cursor:  # the server's maintenance database: ours may not exist yet
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            echo(f"creating database {name}")
            cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(name)}")
    connection.close()
    connection.settings_dict["NAME"] = name


def _counts() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM projects_project), (SELECT count(*) FROM projects_progressreport),"
                       " (SELECT count(*) FROM projects_rollupcell), (SELECT count(*) FROM programmes_enrolment)")
        projects, reports, cells, enrolments = cursor.fetchone()
    return {"projects": projects, "reports": reports, "cells": cells, "enrolments": enrolments}


def prepare(echo=print) -> dict:
    """Migrate, and generate the dataset unless it is already there. Returns load timings (s)."""
    from django.core.management import call_command
    from django.db import connection

    from townbrain.core.divisions import load_divisions
    from townbrain.core.models import OrgUnit
    from townbrain.core.scope import SYSTEM
    from townbrain.projects import rollups

    call_command("migrate", interactive=False, verbosity=0)
    counts = _counts()
    n_projects = TOWNS * PROJECTS_PER_TOWN
    if (counts["projects"] == n_projects and counts["reports"] >= n_projects * 12 and counts["cells"]
            and counts["enrolments"] == TOWNS):
        echo(f"reusing the loaded dataset: {counts['projects']:,} projects, {counts['reports']:,} reports")
        return {"reused": True}
    timings = {"reused": False}
    with connection.cursor() as cursor:
        # CASCADE: later apps point at projects (deals, work items …); the bench database holds none of theirs.
        cursor.execute("TRUNCATE projects_rollupcell, projects_monthlyplan, projects_progressreport, "
                       "projects_project, programmes_enrolment, core_auditentry CASCADE")
    if OrgUnit.objects.filter(level="town").count() < TOWNS:
        start = time.perf_counter()
        load_divisions(SYSTEM)
        timings["divisions"] = time.perf_counter() - start
    start = time.perf_counter()
    generate(echo)
    timings["generate"] = time.perf_counter() - start
    echo(f"generated in {timings['generate']:.0f} s; rebuilding the roll-up table")
    start = time.perf_counter()
    rollups.rebuild(progress=lambda done: echo(f"  laggard steps: {done:,} projects"))
    timings["rebuild"] = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        # Kept with the dataset, so a later run that reuses it still reports how long loading took.
        timings["when"] = datetime.now(UTC).date().isoformat()  # UTC, like the section's date
        timings["load_average"] = round(os.getloadavg()[0], 1)
        cursor.execute(f"COMMENT ON DATABASE {connection.ops.quote_name(connection.settings_dict['NAME'])} "
                       f"IS {_quote(json.dumps(timings))}")
    return timings


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _load_timings() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()")
        comment = cursor.fetchone()[0]
    try:
        return json.loads(comment or "{}")
    except ValueError:
        return {}


def generate(echo=print) -> None:
    """COPY the enrolments, projects and reports (deterministic: seeded)."""
    from django.db import connection
    from django.utils import timezone

    from townbrain.core.models import OrgUnit
    from townbrain.programmes.models import Programme

    rng = random.Random(SEED)
    meili = Programme.objects.get(code="meili")
    categories = list(meili.categories.values_list("pk", flat=True))
    yangban, dabiao = (meili.roles.get(code=c).pk for c in ("yangban", "dabiao"))
    batches = list(meili.batches.values_list("pk", flat=True))
    towns = sorted(rng.sample(sorted(OrgUnit.objects.filter(level="town").values_list("code", flat=True)), TOWNS))
    now = timezone.now().isoformat()
    raw = connection.connection  # psycopg3
    with raw.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # no per-row foreign-key triggers while loading
        with cur.copy("COPY programmes_enrolment (town_id, programme_id, batch_id, role_id, year_joined, "
                      "flag_reason, created, updated) FROM STDIN") as copy:
            for code in towns:
                copy.write_row((code, meili.pk, rng.choice(batches), yangban if rng.random() < 0.1 else dabiao,
                                2020, "", now, now))
        echo(f"enrolments: {len(towns):,}")
        project_cols = ("id, code, name, town_id, programme_id, category_id, owner_unit, total_investment, "
                        "annual_plan, planned_start, actual_start, planned_completion, actual_completion, status, "
                        "cumulative_investment, progress_percent, last_period, version, created, updated")
        report_cols = ("project_id, period, month_investment, cumulative_investment, progress_percent, status, "
                       "problems, correction_reason, created, updated")
        pid = 0
        projects, reports = [], []

        def flush():
            with cur.copy(f"COPY projects_project ({project_cols}) FROM STDIN") as copy:
                copy.write("".join(projects))
            with cur.copy(f"COPY projects_progressreport ({report_cols}) FROM STDIN") as copy:
                copy.write("".join(reports))
            projects.clear()
            reports.clear()

        for town in towns:
            for _i in range(PROJECTS_PER_TOWN):
                pid += 1
                p, rs = _project(rng, pid, town, meili.pk, rng.choice(categories), now)
                projects.append(p)
                reports.extend(rs)
            if len(projects) >= CHUNK:
                flush()
                if pid % 200_000 == 0:
                    echo(f"projects: {pid:,}, reports: {pid * 12:,}")
        flush()
        cur.execute("SET session_replication_role = DEFAULT")
        cur.execute("SELECT setval(pg_get_serial_sequence('projects_project', 'id'), %s)", [pid])
    echo(f"projects: {pid:,}, reports: {pid * 12:,}")


def _project(rng, pid, town, programme_id, category_id, now) -> tuple[str, list[str]]:
    """One project row and its twelve report rows (2020), in COPY text format."""
    null = "\\N"
    planned = date(2019, 10, 1) + timedelta(days=rng.randrange(0, 450))  # mostly 2020, some carried over
    completion = planned + timedelta(days=rng.randrange(150, 720))
    total = rng.randrange(300, 20000)
    plan = total * rng.randrange(30, 71) // 100
    roll = rng.random()
    actual = finished = None
    if roll < 0.02:
        status = "cancelled"
    elif roll < 0.09:
        status = "preparing"
    elif roll < 0.11:
        status = "planned"
    else:
        actual = min(planned + timedelta(days=rng.randrange(-20, 75)), date(2020, 12, 31))
        status = "started"
        if roll < 0.12:
            status = "suspended"
        elif roll > 0.96:
            status = "completed"
            finished = min(actual + timedelta(days=rng.randrange(60, 300)), date(2020, 12, 31))

    def index(day):
        return day.year * 12 + day.month - 1

    pace = rng.uniform(0.55, 1.35)  # ahead of or behind the linear plan
    span = index(completion) - index(planned) + 1
    reports, cumulative, progress = [], 0, 0.0
    for m, period in enumerate(MONTHS):
        month = 2020 * 12 + m
        if actual is not None and index(actual) <= month:
            done = finished is not None and index(finished) <= month
            target = 100.0 if done else min(100.0, (month - index(planned) + 1) * 100.0 / span * pace)
            progress = max(progress, round(target, 1))
            month_investment = max(cumulative, plan * progress // 100) - cumulative
            cumulative += month_investment
            state = "completed" if done else ("started" if status == "completed" else status)
        else:
            month_investment, state = 0, status if status in ("planned", "cancelled") else "preparing"
        reports.append(f"{pid}\t{period}\t{month_investment:.0f}\t{cumulative:.0f}\t{progress}\t{state}\t\t\t"
                       f"{now}\t{now}\n")
    project = (f"{pid}\tB{pid:07d}\t{town}项目{pid % 100:02d}\t{town}\t{programme_id}\t{category_id}\t\t"
               f"{total}\t{plan}\t{planned}\t{actual or null}\t{completion}\t{finished or null}\t{status}\t"
               f"{cumulative:.0f}\t{progress}\t202012\t1\t{now}\t{now}\n")
    return project, reports


# --- the measurements ------------------------------------------------------------------------------

def run(database: str = "townbrain_bench", reads: int = 100, saves: int = 300, ledger_reads: int = 10,
        echo=print) -> dict:
    from django.conf import settings
    from django.db import connection

    from townbrain.core.models import OrgUnit
    from townbrain.core.scope import SYSTEM
    from townbrain.programmes.models import Programme
    from townbrain.projects import rollups
    from townbrain.projects.models import Project

    settings.DEBUG = False  # no query log: measure what production runs
    use_database(database, echo)
    timings = prepare(echo)
    counts = _counts()
    meili = Programme.objects.get(code="meili")
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        pg_version = cursor.fetchone()[0].split(" on ")[0]
    province = _pick("", 2, "33")
    city = _pick(province, 4, "3301")
    county = _pick(city, 6, "330109")
    town = _pick(county, 9, "330109113")
    orgs = [("province", province), ("city", city), ("county", county), ("town", town),
            ("largest province", _pick("", 2, None))]
    units = {o.code: o for o in OrgUnit.objects.filter(code__in=[c for _l, c in orgs])}
    sizes = {code: Project.objects.filter(town__code__startswith=code).count() for _l, code in orgs}

    load_before = os.getloadavg()[0]
    echo("reads (roll-up table)")
    read_times = {}
    for label, code in orgs:
        read_times[label] = _reads(units[code], meili, reads)
        echo(f"  {label} {code}: p95 {p95(read_times[label]):.1f} ms")
    yangban = meili.roles.get(code="yangban")
    category = meili.categories.order_by("order").first()
    filtered = [(f"province {province}, role {yangban.code}", units[province], {"role": yangban}),
                (f"province {province}, category {category.code} + role {yangban.code}", units[province],
                 {"category": category, "role": yangban}),
                (f"county {county}, category {category.code} + role {yangban.code} (from its towns)",
                 units[county], {"category": category, "role": yangban})]
    filtered_times = {label: _reads(org, meili, reads, **dims) for label, org, dims in filtered}
    api_times = _api_reads(units[province], meili, reads)

    echo("saves (report_progress)")
    save_times, upkeep_times, bare_times = _saves(meili, saves)
    echo(f"  p95 {p95(save_times):.1f} ms; a bare INSERT + COMMIT p95 {p95(bare_times):.1f} ms")

    echo("reads (GROUP BY over the ledger)")
    ledger_times, lag_times, agree = {}, {}, True
    for label, code in orgs:
        org, times = units[code], []
        for i in range(ledger_reads):
            period = MONTHS[(i * 5 + 8) % 12]
            start = time.perf_counter()
            expected = rollups.compute_from_ledger(SYSTEM, org, period, meili)
            times.append((time.perf_counter() - start) * 1000)
            if rollups.compute(SYSTEM, org, period, meili) != expected:
                agree = False
                echo(f"  MISMATCH {code} {period}")
        ledger_times[label] = times
        lag_times[label] = _laggards_alone(org, meili)
        echo(f"  {label} {code}: p95 {p95(times):.0f} ms")

    rows = [
        ("dataset", f"{counts['projects']:,} projects in {TOWNS:,} towns, {counts['reports']:,} monthly reports, "
                    f"{counts['cells']:,} roll-up cells; {pg_version}"),
    ]
    loaded = timings if not timings["reused"] else _load_timings()
    if "generate" in loaded:
        rows.append((f"load (s), {'this run' if not timings['reused'] else 'when the dataset was made'} "
                     f"({loaded.get('when', '?')}, load average {loaded.get('load_average', '?')})",
                     f"divisions {loaded.get('divisions', 0):.0f}, generate + COPY {loaded['generate']:.0f}, "
                     f"rollups.rebuild() {loaded['rebuild']:.0f}"))
    for label, code in orgs:
        rows.append((f"read {label} {code} {units[code].name} ({sizes[code]:,} projects), ms min / p50 / p95 / max",
                     _ms(read_times[label])))
    for label, _org, _dims in filtered:
        rows.append((f"read {label}, ms min / p50 / p95 / max", _ms(filtered_times[label])))
    rows.append((f"read province {province} through GET /api/rollups/ (DRF test client), ms min / p50 / p95 / max",
                 _ms(api_times)))
    rows.append((f"save one report incl. roll-up upkeep ({len(save_times)} saves), ms min / p50 / p95 / max",
                 _ms(save_times)))
    rows.append(("… of which the roll-up upkeep (the town's lock and enrolment, compute, one upsert), "
                 "ms min / p50 / p95 / max", _ms(upkeep_times)))
    save_ratio = p95(save_times) / p95(bare_times)
    rows.append((f"a bare single-row INSERT + COMMIT on the same server, one after each save, ms min / p50 / p95 / "
                 f"max (the save's p95 is ×{save_ratio:.1f} this, aim < ×{SAVE_RATIO_AIM:.0f})", _ms(bare_times)))
    for label, code in orgs:
        ratio = statistics.median(ledger_times[label]) / statistics.median(read_times[label])
        rows.append((f"GROUP BY over the ledger, {label} {code}, ms p50 / p95 (×{ratio:,.0f} the table's p50)",
                     f"{statistics.median(ledger_times[label]):,.1f} / {p95(ledger_times[label]):,.1f}"))
    rows.append(("of which laggards by the schedule rule at read time, ms (province / city / county / town / "
                 "largest)", " / ".join(f"{lag_times[label]:,.0f}" for label, _c in orgs)))
    rows.append(("table and GROUP BY agree on every figure compared", "yes" if agree else "NO"))
    rows.append(("machine load average (1 min) before / after measuring",
                 f"{load_before:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"))
    worst_read = max(p95(t) for t in [*read_times.values(), *filtered_times.values(), api_times])
    save_p95 = p95(save_times)
    ok = worst_read < READ_TARGET_MS and save_p95 < SAVE_TARGET_MS and agree
    summary = (f"read p95 at most {worst_read:.1f} ms, API and filtered reads included (target < "
               f"{READ_TARGET_MS:.0f}), save p95 {save_p95:.1f} ms (target < {SAVE_TARGET_MS:.0f}; ×{save_ratio:.1f} "
               f"a bare INSERT + COMMIT, aim < ×{SAVE_RATIO_AIM:.0f}), GROUP BY at the province ×"
               f"{statistics.median(ledger_times['province']) / statistics.median(read_times['province']):,.0f} "
               f"slower — {'meets' if ok else 'MISSES'} the targets")
    return {
        "description": (
            "`townbrain bench rollups`: a synthetic national dataset in its own PostgreSQL database "
            f"({TOWNS:,} of the 41,352 real townships, {PROJECTS_PER_TOWN} 美丽城镇 projects each, a report "
            "for every month of 2020), loaded with COPY and then `rollups.rebuild()`. Reads call "
            f"`rollups.compute()` with the system actor, {reads} per org unit, the month rotating through 2020 "
            "(the province also through the API). Saves call `services.report_progress()` for a random "
            "started project's January 2021 report (validation, audit rows, project figures and roll-up "
            f"upkeep, committed). The GROUP BY is `rollups.compute_from_ledger()`, {ledger_reads} per org unit."
        ),
        "rows": rows,
        "summary": summary,
    }


def _pick(prefix: str, length: int, preferred: str | None) -> str:
    """`preferred` when it holds projects, else the unit under `prefix` with the most projects."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT substr(town_id, 1, %s) AS c, count(*) FROM projects_project WHERE town_id LIKE %s "
                       "GROUP BY c ORDER BY count(*) DESC, c", [length, prefix + "%"])
        found = dict(cursor.fetchall())
    if preferred in found:
        return preferred
    return max(found, key=lambda code: (found[code], code))


def _reads(org, programme, reads: int, warm_up: int = 5, **dims) -> list[float]:
    from townbrain.core.scope import SYSTEM
    from townbrain.projects import rollups

    times = []
    for i in range(reads + warm_up):
        start = time.perf_counter()
        rollups.compute(SYSTEM, org, MONTHS[i % 12], programme, **dims)
        times.append((time.perf_counter() - start) * 1000)
    return times[warm_up:]


def _api_reads(org, programme, reads: int) -> list[float]:
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    user, _created = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_superuser": True, "is_staff": True})
    client = APIClient(HTTP_HOST="127.0.0.1")
    client.force_authenticate(user)
    times = []
    for i in range(reads + 5):
        start = time.perf_counter()
        response = client.get("/api/rollups/", {"org": org.code, "period": MONTHS[i % 12],
                                                "programme": programme.code})
        if i >= 5:
            times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise BenchError(f"GET /api/rollups/ answered {response.status_code}: {response.content[:200]!r}")
    return times


def _saves(programme, saves: int, warm_up: int = 5) -> tuple[list[float], list[float], list[float]]:
    """Time `saves` January 2021 reports of random started projects, the roll-up upkeep inside each, and
    after each a bare single-row INSERT + COMMIT on the same server — the floor under a save, measured
    under the same conditions, so machines (and their disks) that differ compare as a ratio."""
    from django.db import connection, transaction

    from townbrain.core.scope import SYSTEM
    from townbrain.projects import rollups, services
    from townbrain.projects.models import Project

    upkeep = [0.0]

    def timed(fn):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                upkeep[0] += time.perf_counter() - start
        return wrapper

    # A report's save (projects/reporting.py) reaches the roll-ups only through these, called on the
    # package (so patching them here times them): the town's lock and enrolment, the contributions, the move.
    names = ("enrolment_dims", "enrolments_of", "contributions", "apply")
    originals = {name: getattr(rollups, name) for name in names}
    rng = random.Random()
    top = Project.objects.order_by("-pk").values_list("pk", flat=True).first()
    times, upkeep_times, bare_times = [], [], []
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_bare_insert (id bigserial PRIMARY KEY, v integer NOT NULL)")
    try:
        for name in names:
            setattr(rollups, name, timed(originals[name]))
        while len(times) < saves + warm_up:
            project = Project.objects.filter(pk=rng.randrange(1, top + 1), programme=programme,
                                             status="started").first()
            if project is None:
                continue
            figures = {"month_investment": Decimal(rng.randrange(1, 50)),
                       "cumulative_investment": project.cumulative_investment + rng.randrange(1, 50),
                       "progress_percent": min(Decimal(100), project.progress_percent + rng.randrange(0, 6)),
                       "status": "started"}
            upkeep[0] = 0.0
            start = time.perf_counter()
            services.report_progress(SYSTEM, project, "202101", **figures)
            times.append((time.perf_counter() - start) * 1000)
            upkeep_times.append(upkeep[0] * 1000)
            start = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("INSERT INTO bench_bare_insert (v) VALUES (%s)", [len(times)])
            bare_times.append((time.perf_counter() - start) * 1000)
    finally:
        for name in names:
            setattr(rollups, name, originals[name])
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_bare_insert")
    return times[warm_up:], upkeep_times[warm_up:], bare_times[warm_up:]


def _laggards_alone(org, programme) -> float:
    """Time the read-time laggard count of compute_from_ledger (the schedule rule over the candidates)."""
    from townbrain.core import periods
    from townbrain.core.scope import SYSTEM
    from townbrain.projects import rollups

    start = time.perf_counter()
    qs = rollups.scoped_projects(SYSTEM, org, programme)
    rollups._laggards(qs, "202009", periods.month_end("202009"), rollups._child_length(org))
    return (time.perf_counter() - start) * 1000
