"""Benchmark: assessment runs of 1,000 towns × 75 criteria (target < 2 s) and 40,000 towns (< 30 s). PostgreSQL.

Generates into a separate database (default `townbrain_bench_assess`, created and migrated here,
reused when it already holds the dataset) the national division list; 40,000 of its townships
enrolled in 美丽城镇 and 1,000 of those in 小城市培育试点; 70 data elements with a year's values
for every town, loaded with COPY — 65 stored for the year, 5 only as quarters (so the engine
aggregates them), about 3 % of the values missing — 3.4 million values; and a 75-criterion
scheme per programme: every scoring method (bands, linear, pass/fail, deduction, capped bonus),
binding items, 3 formulas over two elements each, and 2 system sources (project start rate,
missing monthly reports; the ledger is empty here, so they cost their queries only).

It measures `services.start_run` with the system actor — what an office waits for: compile the
scheme, read every value in bulk, the system sources, score, grade, rank, and write the results
(with their breakdowns) and the audit row in one transaction — and, separately, the engine alone
(`engine.run`, nothing written). The runs are deleted afterwards.
"""

import random
import statistics
import time

from django.utils.translation import gettext as _

TOWNS = 40_000
SMALL = 1_000
ELEMENTS = 70
QUARTERLY = 5  # of the elements, stored only by quarter
MISSING = 0.03
YEAR = 2020
SMALL_TARGET = 2.0
LARGE_TARGET = 30.0
SEED = 2020
CHUNK = 200_000


class BenchError(RuntimeError):
    pass


# --- the database ----------------------------------------------------------------------------------

def use_database(name: str, echo=print) -> None:
    """Point Django's default connection at database `name` on the same server (created when missing)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        raise BenchError(_("The assessment benchmark runs on PostgreSQL only: set TOWNBRAIN_DATABASE_URL "
                           "(e.g. postgres://postgres@127.0.0.1:5432/townbrain)."))
    if connection.settings_dict["NAME"] == name:
        raise BenchError(_("The benchmark database must not be the working database (%(name)s).") % {"name": name})
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            echo(f"creating database {name}")
            cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(name)}")
    connection.close()
    connection.settings_dict["NAME"] = name


def element_codes() -> list[str]:
    return [f"bench_e{i:02d}" for i in range(1, ELEMENTS + 1)]


def scheme_spec(programme: str, code: str) -> dict:
    """75 criteria in 5 groups: 70 over one element each, 3 formulas, 2 system sources."""
    codes = element_codes()
    criteria = []
    for i, element in enumerate(codes):
        kind = i % 10
        c = {"code": f"c{i + 1:02d}", "name": f"指标 {i + 1}", "formula": f"#{{{element}}}"}
        if kind in (0, 1, 2):
            c.update(method="bands", points=2, bands=[{"min": 90, "points": 2}, {"min": 70, "max": 90, "points": 1}])
        elif kind in (3, 4, 5):
            c.update(method="linear", points=2, zero_at=40, full_at=100)
        elif kind == 6:
            binding = i % 20 == 6
            c.update(method="pass_fail", points=1, op=">=", threshold=30 if binding else 50, binding=binding)
        elif kind == 7:
            c.update(method="deduction", points=1, per=0.02)
        elif kind == 8:
            c.update(method="bonus", points=1, per=0.01)
        else:
            c.update(method="bands", points=1, bands=[{"max": 30, "points": 1}])
        criteria.append(c)
    criteria += [
        {"code": "f1", "name": "比率 1", "formula": "#{bench_e01} / #{bench_e02} * 100", "method": "linear",
         "points": 2, "zero_at": 50, "full_at": 150},
        {"code": "f2", "name": "条件", "formula": "if(#{bench_e03} > 50, #{bench_e04}, 0)", "method": "linear",
         "points": 2, "zero_at": 0, "full_at": 100},
        {"code": "f3", "name": "较大值", "formula": "greatest(#{bench_e05}, #{bench_e06})", "method": "bands",
         "points": 2, "bands": [{"min": 80, "points": 2}]},
        {"code": "s1", "name": "开工率", "system": "projects.start_rate", "method": "bands", "points": 2,
         "bands": [{"min": 95, "points": 2}, {"min": 80, "max": 95, "points": 1}]},
        {"code": "s2", "name": "月报", "system": "reporting.missing", "method": "deduction", "per": 1, "points": 2},
    ]
    groups = [{"code": f"g{g + 1}", "name": f"分组 {g + 1}", "criteria": criteria[g * 15:(g + 1) * 15]}
              for g in range(5)]
    return {"code": code, "name": f"基准考核 {programme}", "programme": programme, "status": "official",
            # Thresholds that spread the synthetic towns (uniform random values) over the four grades.
            "grades": [{"name": "优秀", "min": 44}, {"name": "良好", "min": 39}, {"name": "达标", "min": 34},
                       {"name": "警告"}],
            "rank_scopes": ["programme", "batch", "city"], "bonus_cap": 5, "groups": groups,
            "elements": [{"code": e, "name": e, "aggregation": "average"} for e in codes]}


def _counts() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM indicators_datavalue), (SELECT count(*) FROM programmes_enrolment),"
                       " (SELECT count(*) FROM assessments_scheme WHERE code LIKE 'bench-%%')")
        values, enrolments, schemes = cursor.fetchone()
    return {"values": values, "enrolments": enrolments, "schemes": schemes}


def prepare(echo=print) -> dict:
    """Migrate, and generate the dataset unless it is already there. Returns load timings (s)."""
    from django.core.management import call_command
    from django.db import connection

    from townbrain.assessments import services
    from townbrain.core.divisions import load_divisions
    from townbrain.core.models import OrgUnit
    from townbrain.core.scope import SYSTEM

    call_command("migrate", interactive=False, verbosity=0)
    counts = _counts()
    expected = TOWNS * (ELEMENTS - QUARTERLY) * (1 - MISSING) * 0.98
    if counts["values"] >= expected and counts["enrolments"] == TOWNS + SMALL and counts["schemes"] == 2:
        echo(f"reusing the loaded dataset: {counts['values']:,} values, {counts['enrolments']:,} enrolments")
        for spec in (scheme_spec("meili", "bench-meili"), scheme_spec("xiaochengshi", "bench-xiaochengshi")):
            services.import_scheme(SYSTEM, spec)  # the same scheme changes nothing; an edited one, a version
        return {"reused": True}
    timings = {"reused": False}
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE assessments_result, assessments_run, indicators_datavalue, programmes_enrolment, "
                       "core_auditentry CASCADE")
    if OrgUnit.objects.filter(level="town").count() < TOWNS:
        start = time.perf_counter()
        load_divisions(SYSTEM)
        timings["divisions"] = time.perf_counter() - start
    start = time.perf_counter()
    for spec in (scheme_spec("meili", "bench-meili"), scheme_spec("xiaochengshi", "bench-xiaochengshi")):
        services.import_scheme(SYSTEM, spec)
    generate(echo)
    timings["generate"] = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return timings


def generate(echo=print) -> None:
    """COPY the enrolments and the values (deterministic: seeded)."""
    from django.db import connection
    from django.utils import timezone

    from townbrain.core.models import OrgUnit
    from townbrain.indicators.models import DataElement
    from townbrain.programmes.models import Programme

    rng = random.Random(SEED)
    meili, small = Programme.objects.get(code="meili"), Programme.objects.get(code="xiaochengshi")
    batches = {p.pk: list(p.batches.values_list("pk", flat=True)) for p in (meili, small)}
    towns = sorted(rng.sample(sorted(OrgUnit.objects.filter(level="town").values_list("code", flat=True)), TOWNS))
    chosen = sorted(rng.sample(towns, SMALL))
    elements = dict(DataElement.objects.filter(code__in=element_codes()).values_list("code", "pk"))
    quarterly = set(element_codes()[-QUARTERLY:])
    now = timezone.now().isoformat()
    raw = connection.connection  # psycopg3
    with raw.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # no per-row foreign-key triggers while loading
        with cur.copy("COPY programmes_enrolment (town_id, programme_id, batch_id, role_id, year_joined, flag_reason, "
                      "created, updated) FROM STDIN") as copy:
            for programme, codes in ((meili, towns), (small, chosen)):
                for code in codes:
                    copy.write_row((code, programme.pk, rng.choice(batches[programme.pk]), None, 2019, "", now,
                                    now))
        echo(f"enrolments: {TOWNS + SMALL:,}")
        rows, total = [], 0

        def flush():
            nonlocal total
            with cur.copy("COPY indicators_datavalue (element_id, org_unit_id, period, number, text, comment, "
                          "created, updated) FROM STDIN") as copy:
                copy.write("".join(rows))
            total += len(rows)
            rows.clear()

        for code in towns:
            for element, pk in elements.items():
                if rng.random() < MISSING:
                    continue
                if element in quarterly:
                    for q in range(1, 5):
                        rows.append(f"{pk}\t{code}\t{YEAR}Q{q}\t{rng.uniform(20, 100):.2f}\t\t\t{now}\t{now}\n")
                else:
                    rows.append(f"{pk}\t{code}\t{YEAR}\t{rng.uniform(20, 100):.2f}\t\t\t{now}\t{now}\n")
            if len(rows) >= CHUNK:
                flush()
        flush()
        cur.execute("SET session_replication_role = DEFAULT")
    echo(f"values: {total:,}")


# --- the measurements ------------------------------------------------------------------------------

def _time_runs(scheme, repeat: int, echo) -> tuple[list[float], list[float], dict]:
    from townbrain.assessments import engine, services
    from townbrain.assessments import spec as specs
    from townbrain.core.scope import SYSTEM

    spec = specs.from_scheme(scheme, with_elements=False)
    runs, engine_times, last = [], [], None
    for _i in range(repeat):
        start = time.perf_counter()
        run = services.start_run(SYSTEM, scheme, YEAR)
        runs.append(time.perf_counter() - start)
        last = run.summary
        services.delete_run(SYSTEM, run)
        start = time.perf_counter()
        engine.run(spec, YEAR, area=run.area)
        engine_times.append(time.perf_counter() - start)
        echo(f"  {scheme.code}: run {runs[-1]:.2f} s, engine alone {engine_times[-1]:.2f} s")
    return runs, engine_times, last


def run(database: str = "townbrain_bench_assess", repeat: int = 3, echo=print) -> dict:
    from django.conf import settings
    from django.db import connection

    from townbrain.assessments.models import Scheme

    settings.DEBUG = False
    use_database(database, echo)
    timings = prepare(echo)
    counts = _counts()
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        pg_version = cursor.fetchone()[0].split(" on ")[0]
    small = Scheme.objects.get(code="bench-xiaochengshi")
    large = Scheme.objects.get(code="bench-meili")
    echo("1,000 towns")
    small_runs, small_engine, small_summary = _time_runs(small, repeat, echo)
    echo("40,000 towns")
    large_runs, large_engine, large_summary = _time_runs(large, max(1, repeat - 1), echo)
    small_median, large_median = statistics.median(small_runs), statistics.median(large_runs)
    verdict = "meets" if small_median < SMALL_TARGET and large_median < LARGE_TARGET else "MISSES"

    def fmt(values):
        return ", ".join(f"{v:.2f}" for v in values)

    def steps(summary):
        return ", ".join(f"{k} {v:.2f}" for k, v in summary.get("timings", {}).items())

    rows = [
        ("dataset", f"{counts['values']:,} values of {ELEMENTS} elements; {TOWNS:,} + {SMALL:,} enrolments"
                    + ("" if timings.get("reused") else f" (generated in {timings.get('generate', 0):.0f} s)")),
        ("scheme", "75 criteria (bands, linear, pass/fail, deduction, bonus; binding items; 3 formulas; "
                   "2 system sources), 4 grades, ranks by programme, batch and city"),
        ("1,000 towns: run, kept (s)", fmt(small_runs)),
        ("1,000 towns: engine alone (s)", fmt(small_engine)),
        ("1,000 towns: steps of the last run (s)", steps(small_summary)),
        ("1,000 towns: grades", " / ".join(f"{n} {g}" for g, n in small_summary["grades"].items())),
        ("40,000 towns: run, kept (s)", fmt(large_runs)),
        ("40,000 towns: engine alone (s)", fmt(large_engine)),
        ("40,000 towns: steps of the last run (s)", steps(large_summary)),
        ("40,000 towns: grades", " / ".join(f"{n} {g}" for g, n in large_summary["grades"].items())),
        ("targets (s)", f"< {SMALL_TARGET:.0f} and < {LARGE_TARGET:.0f}"),
        ("database", pg_version),
    ]
    return {
        "description": "`services.start_run` (compile, bulk reads, system sources, score, grade, rank, write "
        "results with breakdowns and the audit row) on a synthetic national dataset in a separate PostgreSQL "
        "database; wall time in the process, median of the repeats. \"Engine alone\" writes nothing.",
        "rows": rows,
        "summary": f"1,000 towns × 75 criteria in {small_median:.2f} s, 40,000 towns in {large_median:.2f} s — "
                   f"{verdict} the {SMALL_TARGET:.0f} s / {LARGE_TARGET:.0f} s targets",
    }


def main():  # pragma: no cover - `python -m townbrain.bench.assess` until `townbrain bench assess` is wired
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "townbrain.settings")
    django.setup()
    from townbrain.bench.report import write_section
    from townbrain.core.context import origin

    with origin("cli", "cli:bench assess"):
        figures = run()
    write_section("docs/performance.md", "assessment runs (PostgreSQL)", figures)
    print(figures["summary"])


if __name__ == "__main__":  # pragma: no cover
    main()
