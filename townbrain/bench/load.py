"""Load test (issue 17 item 2): `townbrain bench load --users 50,200,500 --seconds 60 [--json]`.

Against the configured database (the national dataset of `townbrain bench rollups` in production
terms; the SQLite demo for a quick look): makes the bench users of the area with the most projects
(a province, city and county office, editors of the county's towns) with a session and an API token
each, starts `townbrain serve` (gunicorn, `--workers` × `--threads`, DEBUG off) on a free port of
127.0.0.1, then for each level runs locust headless in its own process (townbrain/bench/locustfile.py:
leaders read cockpits and roll-ups, county officers filter lists, export and accept events, town
editors submit monthly reports and report events) for `--seconds`, at most `--max-requests`
requests, after a ramp-up whose figures are dropped; before the first level, `--warm-up` seconds of the
smallest level, not measured (a server just started reads its area's rows from disk). Per level:
requests, errors and the p50 / p95 / p99 response times (ms) over every request. Writes are real:
reports replace the month's report with the project's own figures and a new note of problems, events
are reported and accepted in the bench county.
"""

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from townbrain.testing.local import free_port

P95_AIM_MS = 200.0  # at 200 users


def _pick(prefix: str, length: int, preferred: str) -> str:
    from townbrain.bench.rollups import _pick as pick

    return pick(prefix, length, preferred)


def _user(username: str, unit, role: str):
    from django.contrib.auth import get_user_model

    from townbrain.access.services import grant_membership
    from townbrain.core.scope import SYSTEM

    user, created = get_user_model().objects.get_or_create(username=username)
    if created or not user.memberships.filter(org_unit=unit).exists():
        grant_membership(SYSTEM, user, unit, role)
    return get_user_model().objects.get(pk=user.pk)


def _credentials(user) -> dict:
    """A session (as if the user had logged in) and an API token, so nothing logs in during the run."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from rest_framework.authtoken.models import Token

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    token, _created = Token.objects.get_or_create(user=user)
    return {"username": user.username, "session": store.session_key, "token": token.key}


def prepare(echo=print) -> dict:
    """The plan the locust users read: users with credentials, the units, towns, projects and months."""
    from django.conf import settings

    from townbrain.core.models import OrgUnit
    from townbrain.core.roles import Role
    from townbrain.governance.models import EventCategory
    from townbrain.programmes.models import Programme
    from townbrain.projects.models import ProgressReport, Project

    programme = Programme.objects.get(code="meili")
    province = _pick("", 2, "33")
    city = _pick(province, 4, "3301")
    county = _pick(city, 6, "330109")
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=[province, city, county])}
    towns = list(Project.objects.filter(programme=programme, town__code__startswith=county, status="started")
                 .order_by("town_id").values_list("town_id", flat=True).distinct()[:20])
    if not towns:
        raise RuntimeError(f"no started projects of {programme.code} in {county}: load a dataset first")
    periods = sorted(ProgressReport.objects.filter(project__programme=programme, project__town__code__startswith=county)
                     .order_by().values_list("period", flat=True).distinct())[-12:]
    plan = {"programme": programme.code, "province": province, "city": city, "county": county, "towns": towns,
            "periods": periods, "report_period": periods[-1], "session_cookie": settings.SESSION_COOKIE_NAME,
            "users": {"leader": [], "county": [], "town": []}}
    children = list(OrgUnit.objects.filter(parent_id=province).values_list("code", flat=True))[:5]
    for code, below in ((province, [province, *children]), (city, [city]), (county, [county])):
        user = _user(f"bench-load-office-{code}", units[code], Role.OFFICE_ADMIN)
        plan["users"]["leader"].append({**_credentials(user), "units": below})
    plan["users"]["county"].append({**_credentials(_user(f"bench-load-office-{county}", units[county],
                                                         Role.OFFICE_ADMIN)), "units": [county]})
    for town in OrgUnit.objects.filter(code__in=towns):
        user = _user(f"bench-load-editor-{town.code}", town, Role.EDITOR)
        projects = [{"id": p.pk, "status": p.status, "cumulative_investment": str(p.cumulative_investment),
                     "progress_percent": str(p.progress_percent)}
                    for p in Project.objects.filter(town=town, programme=programme, status="started")[:10]]
        plan["users"]["town"].append({**_credentials(user), "town": town.code, "projects": projects})
    category = EventCategory.objects.filter(parent__isnull=False, deadline_hours__isnull=True).order_by("pk").first()
    if category is not None:
        plan["category"] = {"code": category.code, "platform": category.platform}
    echo(f"plan: {province} / {city} / {county}, {len(towns)} towns, months {periods[0]}–{periods[-1]}")
    return plan


def _serve(port: int, workers: int, threads: int, log) -> subprocess.Popen:
    from django.conf import settings

    # DEBUG off as in production (no query log); the same secret as the sessions made in prepare().
    env = {**os.environ, "TOWNBRAIN_DEBUG": "0", "TOWNBRAIN_SSL_REDIRECT": "0", "TOWNBRAIN_SECRET_KEY": settings.SECRET_KEY}
    server = subprocess.Popen([sys.executable, "-c", "from townbrain.cli import main; main()", "serve",
                               "--port", str(port), "--workers", str(workers), "--threads", str(threads)], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
        if server.poll() is not None:
            break
    server.kill()
    raise RuntimeError(f"townbrain serve did not answer on port {port} (see {log.name})")


def _level(url: str, users: int, seconds: int, max_requests: int, plan_file: str, workdir: Path,
           label: str = "") -> dict:
    prefix = workdir / (label or f"level-{users}")
    env = {**os.environ, "TOWNBRAIN_LOAD_PLAN": plan_file, "TOWNBRAIN_LOAD_MAX_REQUESTS": str(max_requests)}
    spawn_rate = max(1, users // 10)  # all users running after 10 s; the ramp's figures are dropped
    command = [sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("locustfile.py")), "--headless",
               "-u", str(users), "-r", str(spawn_rate), "-t", f"{seconds + users // spawn_rate}s", "--reset-stats",
               "--host", url, "--csv", str(prefix), "--only-summary", "--stop-timeout", "15", "--loglevel", "ERROR"]
    with open(f"{prefix}.log", "w") as log:
        subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=seconds + users + 180)
    with open(f"{prefix}_stats.csv", newline="") as f:
        stats = list(csv.DictReader(f))
    total = next(r for r in stats if r["Name"] == "Aggregated")
    per_name = {r["Name"]: {"requests": int(r["Request Count"]), "errors": int(r["Failure Count"]),
                            "p50_ms": float(r["50%"] or 0), "p95_ms": float(r["95%"] or 0)}
                for r in stats if r["Name"] != "Aggregated"}
    failures = []
    if Path(f"{prefix}_failures.csv").exists():
        with open(f"{prefix}_failures.csv", newline="") as f:
            failures = [{"name": r["Name"], "error": r["Error"][:200], "count": int(r["Occurrences"])}
                        for r in csv.DictReader(f)]
    return {"users": users, "requests": int(total["Request Count"]), "errors": int(total["Failure Count"]),
            "p50_ms": float(total["50%"] or 0), "p95_ms": float(total["95%"] or 0),
            "p99_ms": float(total["99%"] or 0), "requests_per_s": round(float(total["Requests/s"] or 0), 1),
            "by_request": per_name, "failures": failures}


def run(levels: list[int], seconds: int = 60, max_requests: int = 200_000, workers: int = 5, threads: int = 8,
        think: tuple[float, float] = (5, 15), warm_up: int = 30, echo=print) -> dict:
    from django.db import connection

    plan = {**prepare(echo), "think": list(think)}
    workdir = Path(tempfile.mkdtemp(prefix="townbrain-load-"))
    plan_file = workdir / "plan.json"
    plan_file.write_text(json.dumps(plan), encoding="utf-8")
    connection.close()  # the server's workers and this process should not share a connection
    port = free_port()
    results = []
    with open(workdir / "serve.log", "w") as log:
        server = _serve(port, workers, threads, log)
        try:
            if warm_up:
                # Not measured: every worker's first pages (imports, templates) and the database's cache
                # of the area's rows — a server that has just started is not the server under test.
                echo(f"warming up: {min(levels)} users for {warm_up} s …")
                _level(f"http://127.0.0.1:{port}", min(levels), warm_up, max_requests, str(plan_file), workdir,
                       label="warm-up")
            for users in levels:
                load_before = os.getloadavg()[0]
                echo(f"{users} users for {seconds} s …")
                level = _level(f"http://127.0.0.1:{port}", users, seconds, max_requests, str(plan_file), workdir)
                level["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
                results.append(level)
                echo(f"  {level['requests']:,} requests, {level['errors']} errors, p50 {level['p50_ms']:.0f} / "
                     f"p95 {level['p95_ms']:.0f} / p99 {level['p99_ms']:.0f} ms")
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    return {"levels": results, "workers": workers, "threads": threads, "seconds": seconds, "warm_up": warm_up, "think_time": f"{think[0]:g}–{think[1]:g} s",
            "database": connection.vendor, "workdir": str(workdir)}


def section(figures: dict) -> dict:
    """The figures as a docs/performance.md section (bench/report.py write_section)."""
    rows = [("server", f"`townbrain serve`: gunicorn, {figures['workers']} workers × {figures['threads']} threads, "
                       f"DEBUG off; database {figures['database']}"),
            ("users", f"leaders 3 : county officers 4 : town editors 3, think time {figures['think_time']}")]
    for level in figures["levels"]:
        rows.append((f"{level['users']} users: requests / errors / req/s",
                     f"{level['requests']:,} / {level['errors']:,} / {level['requests_per_s']}"))
        rows.append((f"{level['users']} users: ms p50 / p95 / p99", f"{level['p50_ms']:.0f} / {level['p95_ms']:.0f} / "
                                                                   f"{level['p99_ms']:.0f}"))
        rows.append((f"{level['users']} users: p95 by request (ms)", "; ".join(
            f"{name} {r['p95_ms']:.0f}" for name, r in sorted(level["by_request"].items()))))
        rows.append((f"{level['users']} users: load average before / after", " / ".join(map(str, level["load_average"]))))
    at_200 = next((lv for lv in figures["levels"] if lv["users"] == 200), None)
    at_500 = next((lv for lv in figures["levels"] if lv["users"] == 500), None)
    verdicts = []
    if at_200:
        verdicts.append(f"p95 at 200 users {at_200['p95_ms']:.0f} ms (aim < {P95_AIM_MS:.0f})")
    if at_500:
        verdicts.append(f"{at_500['errors']} errors at 500 users (aim 0)")
    ok = (at_200 is None or at_200["p95_ms"] < P95_AIM_MS) and (at_500 is None or at_500["errors"] == 0)
    return {"description": __doc__.split("\n\n", 1)[1].replace("\n", " ").strip(), "rows": rows,
            "summary": ", ".join(verdicts) + (" — meets the aims" if ok else " — MISSES the aims")}
