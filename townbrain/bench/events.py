"""Benchmark (issue 14, item 8): 1,000,000 events nationally; a county handler's queue and its statistics.

    townbrain bench events          (PostgreSQL: TOWNBRAIN_DATABASE_URL=postgres://…)

In its own PostgreSQL database (default `tb_governance_bench`, created and migrated here, reused while
it holds the dataset of this generator's version): the national division list (towns, no villages), then
N events (default 1,000,000) of 2020 and their timelines, generated inside the server (set-based SQL,
seeded, so every run draws the same data):

- nine in ten spread over every town of the country, one in ten in 萧山区 (a busy county's 12345
  volume: ~100,000 a year), over the small categories (小类) with their deadlines;
- 3 % reported and waiting, 2 % accepted (not dispatched), 1 % not accepted, 9 % being handled past the
  deadline (dispatched, handled, reported back, verified), 85 % closed (on time or late, as the draw
  falls) of which two in three reviewed (回访: 88 % 满意, 8 % 基本满意, 4 % 不满意 → 重办, closed and
  reviewed again);
- every step of every event in `governance_step` (上报 … 结案, 回访), ~7 per event as in life, the
  events' 回访 counters set as the services keep them (checked against the steps before measuring), and
  the statistics' cells built from the events (`cells.rebuild()`; the services keep them on every write).

Then, as an office admin of 萧山区 330109 (scoped like a real user, so `restrict` runs), through
Django's test client (routing, middleware, the view, the template), `reads` times each after 3
warm-ups: the handler's queue `/events/` as it opens (open events, soonest deadline first, page 1), its
last page as the page's own link names it (`?open=true&page=N`), the statistics page
`/events/statistics/?org=330109&period=…` and `GET /api/events/stats/?org=330109&period=…`, for the
year 2020 and for June 2020. Target: p95 < 100 ms for every one of them.
"""

import json
import os
import statistics
import time
from datetime import UTC, datetime

from django.utils.translation import gettext as _

from townbrain.bench.rollups import BenchError, _ms, _quote, p95, use_database

DATABASE = "tb_governance_bench"
COUNTY = "330109"  # 萧山区
TARGET_MS = 100.0
VERSION = 3  # of the generator: a dataset of another version (or size) is generated anew
SEED = 0.14


def _comment() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()")
        text = cursor.fetchone()[0]
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def _set_comment(info: dict) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON DATABASE {connection.ops.quote_name(connection.settings_dict['NAME'])} "
                       f"IS {_quote(json.dumps(info))}")


# Event rows drawn from the random columns of bench_draw (one row per event). A draw `rs` picks the
# state; every time follows from the report time, the category's deadline and the other draws.
EVENTS_SQL = """
CREATE TEMPORARY TABLE bench_ev ON COMMIT DROP AS
SELECT d.id, t.code AS town, c.id AS category, c.platform, s.*,
       x.d1 + x.span AS deadline1,
       CASE WHEN s.done THEN x.d1 + x.span * (0.2 + d.rclose * 1.2) END AS c1,
       x.d1, x.span, d.rv2
FROM bench_draw d
JOIN bench_town t ON t.county = d.county
     AND t.n = 1 + floor(d.rt * CASE WHEN d.county THEN %(county_towns)s ELSE %(towns)s END)::int
JOIN bench_cat c ON c.n = 1 + floor(d.rc * %(cats)s)::int
CROSS JOIN LATERAL (SELECT
    TIMESTAMPTZ '2020-01-01 00:00:00+08' + floor(d.rr * 365 * 86400) * INTERVAL '1 second' AS reported_at,
    CASE WHEN d.rs < 0.03 THEN 'reported' WHEN d.rs < 0.05 THEN 'accepted' WHEN d.rs < 0.06 THEN 'rejected'
         WHEN d.rs < 0.11 THEN 'dispatched' WHEN d.rs < 0.13 THEN 'handled' WHEN d.rs < 0.14 THEN 'fed_back'
         WHEN d.rs < 0.15 THEN 'verified' WHEN d.rv < 0.35 THEN 'closed' ELSE 'reviewed' END AS state,
    d.rs >= 0.15 AS done,
    d.rs >= 0.15 AND d.rv >= 0.35 AND d.rv2 < 0.04 AS redone
) s
CROSS JOIN LATERAL (SELECT
    s.reported_at + (1 + floor(d.rh * 8)) * INTERVAL '1 hour' AS d1,
    CASE WHEN c.deadline_hours IS NOT NULL THEN c.deadline_hours * INTERVAL '1 hour'
         ELSE (coalesce(c.deadline_days, 3) * 7 / 5) * INTERVAL '1 day' END AS span
) x;

CREATE TEMPORARY TABLE bench_ev2 ON COMMIT DROP AS
SELECT e.*,
       e.c1 + INTERVAL '1 day' AS r1,
       CASE WHEN e.redone THEN e.c1 + INTERVAL '1 day' + (e.c1 - e.d1) * 0.8 END AS c2,
       CASE WHEN e.done THEN e.c1 ELSE e.d1 + e.span * 0.8 END AS work_end
FROM bench_ev e;

INSERT INTO governance_event (
    id, created, updated, grid, platform, description, address, source, reporter_name, reporter_phone,
    media_url, status, reported_at, accepted_at, dispatched_at, deadline, closed_at, closed_on_time,
    department, verdict, reopened, extended, office_id, town_id, category_id, external_id,
    reviews, reviews_satisfied)
SELECT e.id, now(), now(), '', e.platform, '基准测试事件 ' || e.id || '：路边占道经营，影响通行', '', 'grid', '',
       '13800000000', '', e.state, e.reported_at,
       CASE WHEN e.state NOT IN ('reported', 'rejected') THEN e.reported_at + INTERVAL '1 hour' END,
       CASE WHEN e.redone THEN e.r1 WHEN e.state NOT IN ('reported', 'accepted', 'rejected') THEN e.d1 END,
       CASE WHEN e.redone THEN e.r1 + e.span WHEN e.state NOT IN ('reported', 'accepted', 'rejected')
            THEN e.deadline1 END,
       CASE WHEN e.redone THEN e.c2 WHEN e.done THEN e.c1 END,
       CASE WHEN e.redone THEN e.c2 <= e.r1 + e.span WHEN e.done THEN e.c1 <= e.deadline1 END,
       '',
       CASE WHEN e.state <> 'reviewed' THEN '' WHEN e.redone OR e.rv2 >= 0.12 THEN 'satisfied'
            ELSE 'basically_satisfied' END,
       CASE WHEN e.redone THEN 1 ELSE 0 END, 0,
       CASE WHEN e.state NOT IN ('reported', 'accepted', 'rejected') THEN e.town END,
       e.town, e.category, '',
       CASE WHEN e.redone THEN 2 WHEN e.state = 'reviewed' THEN 1 ELSE 0 END,
       CASE WHEN e.state = 'reviewed' THEN 1 ELSE 0 END
FROM bench_ev2 e;

INSERT INTO governance_step (event_id, step, from_status, to_status, actor_name, time, comment, detail)
SELECT e.id, v.step, v.from_status, v.to_status, 'bench', v.time, v.comment, v.detail
FROM bench_ev2 e
CROSS JOIN LATERAL (VALUES
    (TRUE, 'report', '', 'reported', e.reported_at, '', '{}'::jsonb),
    (e.state = 'rejected', 'reject', 'reported', 'rejected', e.reported_at + INTERVAL '1 hour', '不属于受理范围',
     '{}'::jsonb),
    (e.state NOT IN ('reported', 'rejected'), 'accept', 'reported', 'accepted', e.reported_at + INTERVAL '1 hour',
     '', '{}'::jsonb),
    (e.state NOT IN ('reported', 'accepted', 'rejected'), 'dispatch', 'accepted', 'dispatched', e.d1, '',
     jsonb_build_object('to', e.town)),
    (e.done OR e.state IN ('handled', 'fed_back', 'verified'), 'handle', 'dispatched', 'handled',
     e.d1 + (e.work_end - e.d1) * 0.5, '', '{}'::jsonb),
    (e.done OR e.state IN ('fed_back', 'verified'), 'feedback', 'handled', 'fed_back',
     e.d1 + (e.work_end - e.d1) * 0.7, '', '{}'::jsonb),
    (e.done OR e.state = 'verified', 'verify', 'fed_back', 'verified', e.d1 + (e.work_end - e.d1) * 0.9, '',
     '{}'::jsonb),
    (e.done, 'close', 'verified', 'closed', e.c1, '', '{}'::jsonb),
    (e.state = 'reviewed', 'review', 'closed', CASE WHEN e.redone THEN 'dispatched' ELSE 'reviewed' END, e.r1, '',
     jsonb_build_object('verdict', CASE WHEN e.redone THEN 'dissatisfied' WHEN e.rv2 < 0.12
                                        THEN 'basically_satisfied' ELSE 'satisfied' END)),
    (e.redone, 'handle', 'dispatched', 'handled', e.r1 + (e.c2 - e.r1) * 0.5, '', '{}'::jsonb),
    (e.redone, 'feedback', 'handled', 'fed_back', e.r1 + (e.c2 - e.r1) * 0.7, '', '{}'::jsonb),
    (e.redone, 'verify', 'fed_back', 'verified', e.r1 + (e.c2 - e.r1) * 0.9, '', '{}'::jsonb),
    (e.redone, 'close', 'verified', 'closed', e.c2, '', '{}'::jsonb),
    (e.redone, 'review', 'closed', 'reviewed', e.c2 + INTERVAL '1 day', '', '{"verdict": "satisfied"}'::jsonb)
) AS v(taken, step, from_status, to_status, time, comment, detail)
WHERE v.taken;
"""


def generate(n: int, echo=print) -> dict:
    """Write n events and their steps (emptying the governance tables first). Returns counts and seconds."""
    from django.db import connection, transaction

    from townbrain.core.models import Level
    from townbrain.governance import cells

    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE governance_notification, governance_eventphoto, governance_step, governance_event CASCADE")
        cursor.execute("""
            CREATE TEMPORARY TABLE bench_town ON COMMIT DROP AS
            SELECT FALSE AS county, (row_number() OVER (ORDER BY code))::int AS n, code
              FROM core_orgunit WHERE level = %s
            UNION ALL
            SELECT TRUE, (row_number() OVER (ORDER BY code))::int, code
              FROM core_orgunit WHERE level = %s AND code LIKE %s""", [Level.TOWN, Level.TOWN, COUNTY + "%"])
        cursor.execute("CREATE TEMPORARY TABLE bench_cat ON COMMIT DROP AS SELECT (row_number() OVER (ORDER BY code))"
                       "::int AS n, id, platform, deadline_days, deadline_hours FROM governance_eventcategory "
                       "WHERE parent_id IS NOT NULL")
        cursor.execute("SELECT count(*) FILTER (WHERE NOT county), count(*) FILTER (WHERE county) FROM bench_town")
        towns, county_towns = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM bench_cat")
        cats = cursor.fetchone()[0]
        if not county_towns or not cats:
            raise BenchError(_("No towns of %(code)s or no event categories to draw from.") % {"code": COUNTY})
        cursor.execute("SELECT setseed(%s)", [SEED])
        # One row of draws per event; random() runs in row order in one backend, so a seed gives one dataset.
        cursor.execute("""
            CREATE TEMPORARY TABLE bench_draw ON COMMIT DROP AS
            SELECT g AS id, g %% 10 = 0 AS county, random() AS rt, random() AS rc, random() AS rr, random() AS rs,
                   random() AS rh, random() AS rclose, random() AS rv, random() AS rv2
              FROM generate_series(1, %s) g""", [n])
        echo(f"  drawn {n:,} events over {towns:,} towns ({county_towns} in {COUNTY}), {cats} categories")
        for statement in EVENTS_SQL.split(";\n\n"):
            if statement.strip():
                t = time.perf_counter()
                cursor.execute(statement.replace("%(county_towns)s", str(county_towns))
                               .replace("%(towns)s", str(towns)).replace("%(cats)s", str(cats)))
                echo(f"  {statement.strip().split(chr(10))[0][:60]}… {time.perf_counter() - t:.0f} s")
        for table in ("governance_event", "governance_step"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    t = time.perf_counter()
    count = cells.rebuild()  # what the services keep on every write, built once from the events
    echo(f"  {count:,} statistics cells built in {time.perf_counter() - t:.0f} s")
    with connection.cursor() as cursor:
        for table in ("governance_event", "governance_step", "governance_eventcell"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return {"generate_s": round(time.perf_counter() - start)}


def prepare(n: int, echo=print) -> dict:
    """Migrate, load the divisions and generate the dataset unless this version's is there; its description."""
    from django.core.management import call_command
    from django.db import connection

    from townbrain.core.divisions import load_divisions
    from townbrain.core.models import Level, OrgUnit
    from townbrain.core.scope import SYSTEM

    call_command("migrate", interactive=False, verbosity=0)
    info = _comment()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM governance_event")
        have = cursor.fetchone()[0]
    if info.get("version") == VERSION and info.get("events") == n and have == n:
        echo(f"reusing the generated dataset: {have:,} events")
        return info
    if OrgUnit.objects.filter(level=Level.TOWN).count() < 40_000:
        t = time.perf_counter()
        load_divisions(SYSTEM)
        echo(f"divisions loaded in {time.perf_counter() - t:.1f} s")
    echo(f"generating {n:,} events and their steps")
    info = {"version": VERSION, "events": n, **generate(n, echo),
            "when": datetime.now(UTC).date().isoformat(),  # UTC, like the section's date
            "load_average": round(os.getloadavg()[0], 1)}
    _set_comment(info)
    echo(f"generated in {info['generate_s']} s")
    return info


def _counts() -> dict:
    from django.db import connection

    from townbrain.governance.models import OPEN

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE town_id LIKE %s), "
            "count(*) FILTER (WHERE town_id LIKE %s AND status = ANY(%s)), "
            "(SELECT count(*) FROM governance_step) FROM governance_event",
            [COUNTY + "%", COUNTY + "%", list(OPEN)])
        events, county, county_open, steps = cursor.fetchone()
        # The counters the statistics read, against the review steps they stand for (the county's year).
        cursor.execute(
            "SELECT (SELECT coalesce(sum(reviews), 0) FROM governance_event WHERE town_id LIKE %s), "
            "(SELECT count(*) FROM governance_step s JOIN governance_event e ON e.id = s.event_id "
            " WHERE s.step = 'review' AND e.town_id LIKE %s)", [COUNTY + "%", COUNTY + "%"])
        counted, stepped = cursor.fetchone()
        cursor.execute("SELECT coalesce(sum(received), 0) FROM governance_eventcell WHERE town_id LIKE %s", [COUNTY + "%"])
        in_cells = cursor.fetchone()[0]
    if counted != stepped:
        raise BenchError(f"the events' review counters ({counted}) disagree with their review steps ({stepped})")
    if in_cells != county:
        raise BenchError(f"the statistics cells hold {in_cells} events of {COUNTY}, the events table {county}")
    return {"events": events, "county": county, "county_open": county_open, "steps": steps, "reviews": stepped}


def bench_user():
    from django.contrib.auth import get_user_model

    from townbrain.access.services import grant_membership
    from townbrain.core.models import OrgUnit
    from townbrain.core.roles import Role
    from townbrain.core.scope import SYSTEM

    user, _created = get_user_model().objects.get_or_create(username=f"bench-office-{COUNTY}")
    if not user.memberships.exists():
        grant_membership(SYSTEM, user, OrgUnit.objects.get(code=COUNTY), Role.OFFICE_ADMIN)
    return get_user_model().objects.get(pk=user.pk)


def _times(client, url: str, reads: int, warm_up: int = 3) -> tuple[list[float], list[float]]:
    """Server time of each read (ms), and the CPU time this process spent on it (ms: Django's share,
    the database server's not included) — the figure a loaded machine does not inflate."""
    out, cpu = [], []
    for i in range(reads + warm_up):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        elapsed, used = (time.perf_counter() - start) * 1000, (time.process_time() - start_cpu) * 1000
        if response.status_code != 200:
            raise BenchError(f"GET {url} answered {response.status_code}")
        if i >= warm_up:
            out.append(elapsed)
            cpu.append(used)
    return out, cpu


def _queries(client, url: str) -> tuple[int, float]:
    """How many SQL statements one read runs, and their time (ms) as the database driver saw it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return len(captured), sum(float(q["time"]) for q in captured.captured_queries) * 1000


def reads_of(last_page: int) -> list[tuple[str, str]]:
    base = f"org={COUNTY}"
    return [
        ("queue /events/, page 1", "/events/"),
        (f"queue, last page (page {last_page})", f"/events/?open=true&page={last_page}"),
        ("statistics page, year 2020", f"/events/statistics/?{base}&period=2020"),
        ("statistics page, June 2020", f"/events/statistics/?{base}&period=202006"),
        ("statistics API, year 2020", f"/api/events/stats/?{base}&period=2020"),
        ("statistics API, June 2020", f"/api/events/stats/?{base}&period=202006"),
    ]


def run(n: int = 1_000_000, reads: int = 30, database: str = DATABASE, echo=print) -> dict:
    from django.conf import settings
    from django.test import Client

    settings.DEBUG = False
    use_database(database, echo)
    info = prepare(n, echo)
    counts = _counts()
    user = bench_user()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    last = max(1, -(-counts["county_open"] // 50))
    load_before = os.getloadavg()[0]
    results = []
    for label, url in reads_of(last):
        times, cpu = _times(client, url, reads)
        queries, sql_ms = _queries(client, url)
        results.append((label, url, times, queries, sql_ms, statistics.median(cpu)))
        echo(f"{label:34} p50 {statistics.median(times):6.1f} ms  p95 {p95(times):6.1f} ms  "
             f"({queries} queries, {sql_ms:.1f} ms SQL, {statistics.median(cpu):.1f} ms CPU)  "
             f"{'ok' if p95(times) < TARGET_MS else 'OVER'}")
    load_after = os.getloadavg()[0]
    rows = [("dataset", f"{counts['events']:,} events of 2020 and {counts['steps']:,} steps; {COUNTY} 萧山区: "
                        f"{counts['county']:,} events, {counts['county_open']:,} open, {counts['reviews']:,} "
                        f"回访; generated in {info.get('generate_s', '?')} s on {info.get('when', '?')}")]
    for label, url, times, queries, sql_ms, cpu in results:
        rows.append((f"{label} `{url}`: ms min / p50 / p95 / max; SQL statements (their ms); Django's CPU ms p50",
                     f"{_ms(times)}; {queries} ({sql_ms:.1f}); {cpu:.1f}"))
    rows.append(("machine load average (1 min) before / after measuring",
                 f"{load_before:.1f} / {load_after:.1f} on {os.cpu_count()} cores"))
    worst = max(results, key=lambda r: p95(r[2]))
    ok = all(p95(r[2]) < TARGET_MS for r in results)
    summary = (f"worst p95 {p95(worst[2]):.1f} ms ({worst[0]}), target < {TARGET_MS:.0f} ms for every read — "
               + ("meets the target" if ok else "MISSES the target"))
    description = (f"`townbrain bench events`: {n:,} events nationally in PostgreSQL (database `{database}`), "
                   f"one in ten in 萧山区 {COUNTY}, with every step of their timelines and the statistics' cells. "
                   f"As an office admin of {COUNTY} (scoped, not the system actor), through Django's test "
                   f"client, {reads} reads of each page after 3 warm-ups: server time including routing, "
                   "middleware, the queries and the template; the SQL of one more read as the driver timed "
                   "it; and the CPU time of the Django process per read, which a loaded machine does not "
                   "inflate as it does the wall-clock times.")
    return {"description": description, "rows": rows, "summary": summary, "ok": ok,
            "raw": {label: times for label, _u, times, *_rest in results}}
