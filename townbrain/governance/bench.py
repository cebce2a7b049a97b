"""Benchmark (issue 14): 1,000,000 events nationally; a county handler's queue and the county statistics.

    TOWNBRAIN_DATABASE_URL=postgres://…/townbrain python -m townbrain.governance.bench [N]

In its own PostgreSQL database (`tb_governance_bench`, created when missing): the national division
list (towns, no villages), then N events (default 1,000,000) written with COPY — nine in ten spread
over every town of the country, one in ten in 萧山区 (a busy county's 12345 volume, about 100,000 a
year) — 2020, most closed (on time or late), some dispatched and open past the deadline, some new.
No steps: the reads measured do not read them. As an office admin of 萧山区 (scoped like a real
user), through Django's test client: the queue `/events/` (open events, soonest deadline first, page 1),
its last page, and `GET /api/events/stats/?org=330109&period=2020` and `…=202006`. Target p95 < 100 ms.
"""

import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta

DATABASE = "tb_governance_bench"
TARGET_MS = 100.0


def p95(values):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]


def generate(n: int, echo=print):
    from django.utils import timezone

    from townbrain.core import bulk
    from townbrain.core.models import Level, OrgUnit

    from .models import Event, EventCategory, Status

    rng = random.Random(14)
    # bulk.instance takes related objects as instances (it reads their key from them).
    towns = [OrgUnit(code=c) for c in OrgUnit.objects.filter(level=Level.TOWN).values_list("code", flat=True)]
    xiaoshan = [t for t in towns if t.code.startswith("330109")]
    cats = [(c, c.platform, c.deadline_days, c.deadline_hours) for c in EventCategory.objects.filter(
        parent__isnull=False)]
    start = timezone.make_aware(datetime(2020, 1, 1))
    done = 0
    while done < n:
        chunk = []
        for i in range(min(50_000, n - done)):
            town = rng.choice(xiaoshan) if (done + i) % 10 == 0 else rng.choice(towns)
            pk, platform, days, hours = rng.choice(cats)
            reported = start + timedelta(seconds=rng.randint(0, 365 * 86400))
            dispatched = reported + timedelta(hours=rng.randint(1, 8))
            deadline = dispatched + (timedelta(hours=hours) if hours else timedelta(days=(days or 3) * 7 // 5))
            roll = rng.random()
            fields = {"town": town, "platform": platform, "category": pk, "description": "基准测试事件",
                      "reported_at": reported, "reporter_phone": "13800000000", "source": "grid",
                      "address": "", "grid": "", "reporter_name": "", "media_url": "", "department": "",
                      "verdict": "", "reopened": 0, "extended": 0}
            if roll < 0.05:
                fields.update(status=Status.REPORTED)
            else:
                fields.update(accepted_at=reported + timedelta(hours=1), dispatched_at=dispatched, deadline=deadline,
                              office=town)
                if roll < 0.15:
                    fields.update(status=Status.DISPATCHED)
                else:
                    closed = dispatched + (deadline - dispatched) * rng.uniform(0.2, 1.4)
                    fields.update(status=Status.CLOSED, closed_at=closed, closed_on_time=closed <= deadline)
            chunk.append(bulk.instance(Event, fields))
        with bulk.many_objects():
            bulk.insert(Event, chunk)
        done += len(chunk)
        echo(f"  events: {done:,}")


def _times(client, url, reads, warm_up=3):
    out = []
    for i in range(reads + warm_up):
        t = time.perf_counter()
        response = client.get(url)
        ms = (time.perf_counter() - t) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {url}: {response.status_code}")
        if i >= warm_up:
            out.append(ms)
    return out


def run(n: int = 1_000_000, reads: int = 30, echo=print) -> dict:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from townbrain.access.services import grant_membership
    from townbrain.bench.rollups import use_database
    from townbrain.core.divisions import load_divisions
    from townbrain.core.models import Level, OrgUnit
    from townbrain.core.scope import SYSTEM

    from .models import Event

    settings.DEBUG = False
    use_database(DATABASE, echo=echo)
    call_command("migrate", verbosity=0)
    if OrgUnit.objects.filter(level=Level.TOWN).count() < 40_000:
        t = time.perf_counter()
        load_divisions(SYSTEM)
        echo(f"divisions loaded in {time.perf_counter() - t:.1f} s")
    if Event.objects.count() < n:
        t = time.perf_counter()
        generate(n - Event.objects.count(), echo)
        echo(f"events written in {time.perf_counter() - t:.1f} s")
    with connection.cursor() as cursor:
        # What autovacuum does after a load: statistics, and the visibility map index-only scans need.
        cursor.execute("VACUUM ANALYZE governance_event")
    user, _ = get_user_model().objects.get_or_create(username="bench-xiaoshan")
    if not user.memberships.exists():
        grant_membership(SYSTEM, user, OrgUnit.objects.get(code="330109"), "office_admin")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    county = Event.objects.filter(town__code__startswith="330109")
    open_count = county.filter(status__in=["reported", "accepted", "dispatched"]).count()
    last = max(1, (open_count + 49) // 50)
    result = {"events": Event.objects.count(), "county_events": county.count(), "county_open": open_count}
    for name, url in [("queue, page 1", "/events/"),
                      ("queue, last page", f"/events/?open=true&page={last}"),
                      ("stats, year", "/api/events/stats/?org=330109&period=2020"),
                      ("stats, month", "/api/events/stats/?org=330109&period=202006")]:
        times = _times(client, url, reads)
        result[name] = {"median_ms": round(statistics.median(times), 1), "p95_ms": round(p95(times), 1)}
        echo(f"{name:18} median {result[name]['median_ms']:7.1f} ms   p95 {result[name]['p95_ms']:7.1f} ms"
             f"   {'ok' if result[name]['p95_ms'] < TARGET_MS else 'OVER ' + str(TARGET_MS)}")
    return result


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "townbrain.settings")
    import django

    django.setup()
    from townbrain.core.context import origin

    with origin("cli", "cli:bench events"):
        print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
