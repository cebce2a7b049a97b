"""The `townbrain` command: init, demo, serve, worker, load-divisions, createuser, check, bench, report, mqtt, sensing.

Every subcommand has --help. Errors print one line `townbrain: error: <reason>` and exit 1.
Django is set up lazily so `--help` works before any database exists.
"""

import os
import sys
from functools import wraps

import click

DEMO_PASSWORD = "townbrain-demo"


def _setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "townbrain.settings")
    import django

    django.setup()


def command(name: str):
    """Mark audit rows with the command name and turn known errors into a one-line reason."""

    def deco(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                _setup()
                from townbrain.core.context import origin

                with origin("cli", f"cli:{name}"):
                    return fn(*args, **kwargs)
            except (click.exceptions.Exit, click.UsageError):
                raise
            except click.ClickException as exc:  # same one-line form as every other error
                click.echo(f"townbrain: error: {exc.format_message()}", err=True)
                sys.exit(exc.exit_code)
            except Exception as exc:  # noqa: BLE001 - the CLI's contract is one line, not a traceback
                if os.environ.get("TOWNBRAIN_TRACEBACK"):
                    raise
                click.echo(f"townbrain: error: {_reason(exc)}", err=True)
                sys.exit(1)

        return wrapper

    return deco


def _reason(exc) -> str:
    from django.core.exceptions import ValidationError

    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        return " ".join(exc.messages)
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="townbrain")
def main():
    """TownBrain (乡村小脑): township development programmes, one source of truth.

    Data lives in TOWNBRAIN_HOME (default ./var) unless TOWNBRAIN_DATABASE_URL points to PostgreSQL.
    """


@main.command()
@click.option("--admin-username", default="admin", show_default=True, help="User name of the first administrator.")
@click.option("--admin-password", envvar="TOWNBRAIN_ADMIN_PASSWORD",
              help="Password of the first administrator (or env TOWNBRAIN_ADMIN_PASSWORD). "
              "Asked for interactively when missing; skipped when not on a terminal.")
@command("init")
def init(admin_username, admin_password):
    """Create or migrate the database and create the first system administrator."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    click.echo("database ready")
    User = get_user_model()
    if User.objects.filter(is_superuser=True).exists():
        return
    if not admin_password:
        if not sys.stdin.isatty():
            click.echo("no administrator created (pass --admin-password or set TOWNBRAIN_ADMIN_PASSWORD)")
            return
        admin_password = click.prompt("Password for the first administrator", hide_input=True,
                                      confirmation_prompt=True)
    from townbrain.access.demo import ensure_superuser

    ensure_superuser(admin_username, admin_password, validate=True)
    click.echo(f"administrator {admin_username} created")


@main.command()
@click.option("--villages/--no-villages", default=True, show_default=True,
              help="Also load the villages of Zhejiang and Guizhou.")
@click.option("--job", "as_job", is_flag=True,
              help="Queue the load as a background job (run by `townbrain worker`) and print its id, instead of "
              "loading here.")
@command("demo")
def demo(villages, as_job):
    """Load the demo: Zhejiang and Guizhou org trees and one user per level (password townbrain-demo).

    Idempotent: running it twice changes nothing. Refuses to run when TOWNBRAIN_DEBUG is off,
    because the demo passwords are public. With --job the load is queued as a background job
    (docs/jobs.md) and this command returns at once; `make demo` loads here, before printing the logins.
    """
    from django.conf import settings
    from django.core.management import call_command

    if not settings.DEBUG:
        raise click.ClickException("the demo refuses to run with TOWNBRAIN_DEBUG=0 (its passwords are public)")
    call_command("migrate", interactive=False, verbosity=0)
    if as_job:
        from townbrain.core.scope import SYSTEM
        from townbrain.jobs.kinds import demo_job

        job = demo_job(SYSTEM, villages=villages)
        click.echo(f"demo load queued as job {job.pk} (/jobs/{job.pk}/, GET /api/jobs/{job.pk}/); "
                   "a running `townbrain worker` loads it")
        return
    from townbrain.demo import demo_logins, load_demo

    with _progress("loading demo") as bar:
        summary = load_demo(villages=villages, progress=bar.update)
    click.echo(f"org units: {summary['created']} created, {summary['unchanged']} unchanged; "
               f"users: {summary['users_created']} created; projects: {summary['projects']} created; "
               f"assessment runs: {summary['assessment_runs']}; expert activities: {summary['expert_activities']}; "
               f"acceptances: {summary['acceptances']}")
    click.echo(f"demo logins (password {DEMO_PASSWORD}):")
    for username, code, role, label in demo_logins():
        click.echo(f"  {username:<14} {role:<13} {code:<10} {label}")


@main.command()
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per gunicorn worker.")
@click.option("--with-worker", is_flag=True, help="Also run `townbrain worker` (background jobs) beside the server, "
              "stopped with it (`make demo` does).")
@command("serve")
def serve(port, host, workers, threads, with_worker):
    """Serve TownBrain with gunicorn on HOST:PORT (static files included)."""
    if with_worker:
        import atexit
        import subprocess

        job_worker, parent = subprocess.Popen([sys.executable, "-m", "townbrain.cli", "worker"]), os.getpid()
        # (gunicorn's own workers are forks of this process: only the server itself stops the job worker)
        atexit.register(lambda: os.getpid() == parent and job_worker.poll() is None
                        and (job_worker.terminate(), job_worker.wait(30)))
    from gunicorn.app.base import BaseApplication

    from townbrain.wsgi import application

    class App(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", 120)

        def load(self):
            return application

    click.echo(f"TownBrain on http://{host}:{port}/")
    App().run()


@main.command("worker")
@click.option("--batch", is_flag=True, help="Run the jobs queued now, then exit.")
@click.option("--interval", default=1.0, show_default=True, type=float, help="Seconds between looks at the queue.")
@command("worker")
def worker_cmd(batch, interval):
    """Run background jobs (large imports, roll-up rebuilds, large assessment runs): the django-tasks database
    worker. Ctrl-C lets the running job finish; a job of a worker killed outright is shown as failed and may be
    retried."""
    from townbrain.jobs import worker

    if not batch:
        click.echo("TownBrain worker: waiting for jobs (Ctrl-C stops it)")
    worker.run(batch=batch, interval=interval)


@main.command("load-divisions")
@click.option("--province", "provinces", multiple=True, metavar="CODE",
              help="Only this province (2-digit code); repeat for several. Default: the whole country.")
@click.option("--villages", is_flag=True, help="Also load villages (620,573 nationally).")
@command("load-divisions")
def load_divisions_cmd(provinces, villages):
    """Load or refresh the national division list (NBS 2023, 34 provinces, 41,352 townships)."""
    from townbrain.core.divisions import load_divisions
    from townbrain.core.scope import SYSTEM

    with _progress("loading divisions") as bar:
        counts = load_divisions(SYSTEM, provinces, villages=villages, progress=bar.update)
    click.echo(f"{counts['created']} created, {counts['renamed']} renamed, {counts['unchanged']} unchanged")


@main.command()
@click.argument("username")
@click.option("--org", "org_code", required=True, help="Division code of the org unit the role applies to.")
@click.option("--role", required=True,
              type=click.Choice(["system_admin", "office_admin", "editor", "viewer", "expert"]))
@click.option("--password", envvar="TOWNBRAIN_NEW_PASSWORD", help="Password (or env TOWNBRAIN_NEW_PASSWORD); "
              "asked for when missing.")
@click.option("--name", default="", help="Full name.")
@command("createuser")
def createuser(username, org_code, role, password, name):
    """Create a user with a role over an org unit's subtree."""
    from townbrain.access.services import create_user
    from townbrain.core import codes
    from townbrain.core.models import OrgUnit
    from townbrain.core.scope import SYSTEM

    code = codes.normalize(org_code)
    unit = OrgUnit.objects.filter(code=code).first()
    if unit is None:
        raise click.ClickException(f"no org unit with code {code} (run `townbrain load-divisions` first?)")
    if not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    create_user(SYSTEM, username, password, unit, role, first_name=name)
    click.echo(f"user {username} created: {role} of {unit}")


@main.command("expert-login")
@click.argument("expert_id", type=int)
@click.argument("username")
@click.option("--password", envvar="TOWNBRAIN_NEW_PASSWORD", help="Password of a new account (or env "
              "TOWNBRAIN_NEW_PASSWORD); asked for when the account does not exist yet.")
@command("expert-login")
def expert_login(expert_id, username, password):
    """Give expert EXPERT_ID a login: a new account USERNAME, or the existing one of that name.

    The login holds no role of its own: it sees the towns of the expert's current assignments only."""
    from django.contrib.auth import get_user_model

    from townbrain.core.scope import SYSTEM
    from townbrain.experts import services
    from townbrain.experts.models import Expert

    expert = Expert.objects.filter(pk=expert_id).first()
    if expert is None:
        raise click.ClickException(f"no expert with id {expert_id}")
    user = get_user_model().objects.filter(username=username).first()
    if user is not None:
        services.link_login(SYSTEM, expert, user)
        click.echo(f"{username} linked to expert {expert.name}")
        return
    if not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    services.create_login(SYSTEM, expert, username, password)
    click.echo(f"login {username} created for expert {expert.name}")


@main.command()
@click.option("--deploy", is_flag=True, help="Also run Django's deployment checks (use with production settings).")
@command("check")
def check(deploy):
    """Check the configuration; non-zero exit when anything is wrong."""
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    try:
        call_command("check", deploy=deploy, fail_level="WARNING")
    except SystemCheckError as exc:
        click.echo(str(exc).strip(), err=True)  # the issues themselves, not just "some issues"
        raise click.ClickException("the configuration check found the issues listed above") from None
    click.echo("no issues")


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--kind", required=True, help="projects, progress, indicator_values, expert_activities, "
                                              "expert_problems, deals, events, articles, article_quotas, honours or "
                                              "work_plan_items.")
@click.option("--dry-run", is_flag=True, help="Check and plan only; write nothing.")
@click.option("--only-valid", is_flag=True, help="Import the valid rows even when other rows have errors.")
@click.option("--as", "username", default=None, help="Import as this user (scope, audit). Default: system.")
@click.option("--json", "as_json", is_flag=True, help="Print only the summary as JSON.")
@click.option("--crs", default=None, help="System of 经度/纬度 when the file has no 坐标系 column: WGS84 (default), "
                                          "GCJ02 or BD09.")
@command("import")
def import_cmd(file, kind, dry_run, only_valid, username, as_json, crs):
    """Import FILE (.xlsx .xls .ods .csv .json). Exit 0: no errors; 1: rows had errors; 2: unreadable file."""
    from pathlib import Path

    from townbrain.exchange.pipeline import run_import

    actor = _actor(username)
    path = Path(file)
    if not path.exists():
        _finish_import({"status": "unreadable", "errors": [{"row": None, "column": None, "value": "",
                                                            "message": f"no such file: {file}"}]}, as_json)
    data = path.read_bytes()
    if as_json:
        summary = run_import(actor, data, path.name, kind, dry_run=dry_run, only_valid=only_valid, crs=crs)
    else:
        with _progress("importing") as bar:
            summary = run_import(actor, data, path.name, kind, dry_run=dry_run, only_valid=only_valid,
                                 progress=bar.update, crs=crs)
    if not as_json:
        c = summary["counts"]
        click.echo(f"{summary['status']}: {c['created']} created, {c['updated']} updated, "
                   f"{c['unchanged']} unchanged, {len(summary['errors'])} errors, "
                   f"{len(summary.get('warnings', []))} warnings"
                   + (f" (batch {summary['id']})" if summary.get("id") else ""))
        for w in summary.get("warnings", [])[:200]:
            click.echo("  warning: " + (f"row {w['row']}" if w["row"] else "file") + (f", {w['column']}" if w["column"]
                       else "") + (f" [{w['value']}]" if w["value"] else "") + f": {w['message']}")
        for e in summary["errors"][:200]:
            where = f"row {e['row']}" if e["row"] else "file"
            click.echo(f"  {where}" + (f", {e['column']}" if e["column"] else "")
                       + (f" [{e['value']}]" if e["value"] else "") + f": {e['message']}")
    _finish_import(summary, as_json)


def _finish_import(summary, as_json):
    import json

    if as_json:
        click.echo(json.dumps({k: summary.get(k) for k in ("status", "counts", "errors", "id", "warnings")
                               if k in summary}, ensure_ascii=False))
    code = 2 if summary["status"] == "unreadable" else 1 if summary["errors"] else 0
    sys.exit(code)


@main.command("export")
@click.option("--kind", required=True, type=click.Choice(["projects", "progress", "indicator_values", "expert_activities",
                                                         "expert_problems", "deals", "articles", "article_quotas",
                                                         "honours", "work_plan_items"]))
@click.option("--org", default=None, help="Division code: only this subtree.")
@click.option("--programme", default=None, help="Programme code, e.g. meili.")
@click.option("--format", "fmt", default="xlsx", show_default=True, type=click.Choice(["xlsx", "csv", "json"]))
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="File to write.")
@click.option("--as", "username", default=None, help="Export as this user (scope). Default: system.")
@command("export")
def export_cmd(kind, org, programme, fmt, output, username):
    """Export a list in the exchange standard (re-importing it changes nothing)."""
    from pathlib import Path

    from townbrain.core import codes
    from townbrain.exchange.exports import export

    actor = _actor(username)
    data = export(actor, kind, fmt, org=codes.normalize(org) if org else None, programme=programme)
    Path(output).write_bytes(data)
    click.echo(f"{output}: {len(data):,} bytes")


def _actor(username):
    from django.contrib.auth import get_user_model

    from townbrain.core.scope import SYSTEM

    if not username:
        return SYSTEM
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise click.ClickException(f"no active user {username}")
    return user


@main.command("assess")
@click.option("--programme", required=True, help="Programme code, e.g. meili.")
@click.option("--year", required=True, type=int)
@click.option("--scheme", "scheme_file", type=click.Path(dir_okay=False), help="Score with this YAML/JSON scheme.")
@click.option("--what-if", "what_if_file", type=click.Path(dir_okay=False),
              help="A draft scheme or edits: show which towns change grade and rank.")
@click.option("--json", "as_json", is_flag=True, help='Print {"results": [...], "grades": {...}} only.')
@click.option("--as", "username", default=None, help="Score as this user (only their towns). Default: system.")
@command("assess")
def assess(programme, year, scheme_file, what_if_file, as_json, username):
    """Score a programme's towns for a year: score, grade, rank and why (nothing is saved)."""
    from townbrain.assessments.cli import assess_command

    code, text = assess_command(programme, year, scheme_file=scheme_file, what_if_file=what_if_file,
                                as_json=as_json, actor=_actor(username))
    if code:
        raise click.ClickException(text)
    click.echo(text)


@main.group()
def formula():
    """The formula engine (DHIS2 expression syntax)."""


# An expression may start with "-" (e.g. "-3^2"): do not read it as an option.
@formula.command("eval", context_settings={"ignore_unknown_options": True})
@click.argument("expr", nargs=-1, required=True)
@click.option("--var", "var_pairs", multiple=True, metavar="CODE=VALUE",
              help="A value for #{CODE}: a number, true, false, null, or text. Repeat for several.")
@click.option("--missing", type=click.Choice(["null", "zero"]), default="null", show_default=True,
              help="How a #{code} without a value counts.")
def formula_eval(expr, var_pairs, missing):
    """Evaluate EXPR; prints exactly one JSON object: {"value": ...} (exit 0) or {"error": ...} (exit 1)."""
    from townbrain.indicators.expressions.cli import formula_eval_command

    code, text = formula_eval_command(" ".join(expr), list(var_pairs), missing=missing)
    click.echo(text)
    sys.exit(code)


@main.group()
def bench():
    """Benchmarks; their figures go to docs/performance.md."""


@bench.command("divisions")
@click.option("--output", default="docs/performance.md", show_default=True)
@click.option("--repeat", default=3, show_default=True, type=int)
@command("bench divisions")
def bench_divisions(output, repeat):
    """Time `load-divisions` for the whole country into a fresh SQLite database."""
    from townbrain.bench.divisions import run

    figures = run(repeat=repeat)
    from townbrain.bench.report import write_section

    write_section(output, "load-divisions (SQLite)", figures)
    click.echo(figures["summary"])


@bench.command("assess")
@click.option("--output", default="docs/performance.md", show_default=True)
@click.option("--database", default="townbrain_bench_assess", show_default=True)
@click.option("--repeat", default=3, show_default=True, type=int)
@command("bench assess")
def bench_assess(output, database, repeat):
    """Assessment runs: 1,000 towns x 75 criteria and 40,000 towns (PostgreSQL)."""
    from townbrain.bench.assess import run
    from townbrain.bench.report import write_section

    figures = run(database=database, repeat=repeat, echo=click.echo)
    write_section(output, "assessment runs (PostgreSQL)", figures)
    click.echo(figures["summary"])


@bench.command("import")
@click.option("--rows", default=100_000, show_default=True, type=int)
@click.option("--database", default="townbrain_bench_import", show_default=True,
              help="PostgreSQL database to run in (created when missing).")
@click.option("--output", default="docs/performance.md", show_default=True)
@command("bench import")
def bench_import(rows, database, output):
    """Import a projects xlsx on PostgreSQL end to end and compare with a raw COPY."""
    from townbrain.bench.imports import run
    from townbrain.bench.report import write_section

    figures = run(rows=rows, database=database, echo=lambda m: click.echo(m, err=True))
    write_section(output, "import (PostgreSQL)", figures)
    click.echo(figures["summary"])


@bench.command("rollups")
@click.option("--output", default="docs/performance.md", show_default=True)
@click.option("--database", default="townbrain_bench", show_default=True,
              help="PostgreSQL database to generate the national dataset into (created, reused when loaded).")
@click.option("--reads", default=100, show_default=True, type=int, help="Roll-up reads per org unit.")
@click.option("--saves", default=300, show_default=True, type=int, help="Progress reports saved.")
@click.option("--ledger-reads", default=10, show_default=True, type=int,
              help="Reads per org unit by the plain GROUP BY (slow at the province).")
@command("bench rollups")
def bench_rollups(output, database, reads, saves, ledger_reads):
    """Live roll-ups on a national dataset (40,000 towns, 1,000,000 projects, 12,000,000 reports); PostgreSQL."""
    from townbrain.bench.report import write_section
    from townbrain.bench.rollups import run

    figures = run(database=database, reads=reads, saves=saves, ledger_reads=ledger_reads, echo=click.echo)
    write_section(output, "roll-ups (PostgreSQL)", figures)
    click.echo(figures["summary"])


@bench.command("cockpit")
@click.option("--output", default="docs/performance.md", show_default=True)
@click.option("--database", default="townbrain_bench", show_default=True,
              help="PostgreSQL database holding the national dataset of `bench rollups` (made when missing).")
@click.option("--reads", default=30, show_default=True, type=int, help="Cockpit pages per org unit.")
@command("bench cockpit")
def bench_cockpit(output, database, reads):
    """The cockpit page and a province's briefings on the national dataset (PostgreSQL)."""
    from townbrain.bench.cockpit import run
    from townbrain.bench.report import write_section

    figures = run(database=database, reads=reads, echo=click.echo)
    write_section(output, "cockpit and briefings (PostgreSQL)", figures)
    click.echo(figures["summary"])


@bench.command("events")
@click.option("--output", default="docs/performance.md", show_default=True,
              help="File to write the section “events” into; empty: write nothing.")
@click.option("--database", default="tb_governance_bench", show_default=True,
              help="PostgreSQL database to generate the events into (created, reused when loaded).")
@click.option("--events", "n", default=1_000_000, show_default=True, type=int, help="Events nationally.")
@click.option("--reads", default=30, show_default=True, type=int, help="Reads of each page.")
@command("bench events")
def bench_events(output, database, n, reads):
    """A county handler's queue and the county statistics (page and API) among 1,000,000 events (PostgreSQL)."""
    from townbrain.bench.events import run
    from townbrain.bench.report import write_section

    figures = run(n=n, reads=reads, database=database, echo=click.echo)
    if output:
        write_section(output, "events", figures)
    click.echo(figures["summary"])
@bench.command("load")
@click.option("--users", "levels", default="50,200,500", show_default=True,
              help="Concurrent users per level, comma-separated; one locust run per level.")
@click.option("--seconds", default=60, show_default=True, type=int, help="How long each level runs (after ramp-up).")
@click.option("--max-requests", default=200_000, show_default=True, type=int, help="Stop a level after this many requests.")
@click.option("--workers", default=5, show_default=True, type=int,
              help="gunicorn workers of the server under test (2 × cores + 1).")
@click.option("--threads", default=8, show_default=True, type=int,
              help="Threads per gunicorn worker (a request waits on the database most of its time).")
@click.option("--warm-up", default=30, show_default=True, type=int,
              help="Seconds of the smallest level before measuring, not measured (0: none).")
@click.option("--think", default="5,15", show_default=True,
              help="Seconds a user waits between two clicks, at least,at most (a person reads the page).")
@click.option("--output", default="", help="File to write the section “load” into (e.g. docs/performance.md).")
@click.option("--json", "as_json", is_flag=True, help="Print {\"levels\": [{users, requests, errors, p50_ms, p95_ms, "
              "p99_ms}, …]} as JSON.")
@command("bench load")
def bench_load(levels, seconds, max_requests, workers, threads, warm_up, think, output, as_json):
    """Concurrent users against `townbrain serve` on the configured database (locust, 127.0.0.1 only)."""
    import json

    from townbrain.bench.load import run, section
    from townbrain.bench.report import write_section

    try:
        counts = [int(n) for n in levels.split(",") if n.strip()]
        low, high = (float(n) for n in think.split(","))
    except ValueError:
        raise click.ClickException("--users takes numbers separated by commas (50,200,500), --think two (5,15)") from None
    figures = run(counts, seconds=seconds, max_requests=max_requests, workers=workers, threads=threads,
                  think=(low, high), warm_up=warm_up,
                  echo=(lambda *a, **k: None) if as_json else click.echo)
    if output:
        write_section(output, "load", section(figures))
    if as_json:
        click.echo(json.dumps({"levels": [{k: lv[k] for k in ("users", "requests", "errors", "p50_ms", "p95_ms",
                                                               "p99_ms")} for lv in figures["levels"]]}))
    else:
        click.echo(section(figures)["summary"])


@bench.command("ingest")
@click.option("--output", default="docs/performance.md", show_default=True,
              help="File to write the section “ingest” into; empty: write nothing.")
@click.option("--seconds", default=300, show_default=True, type=int, help="How long each transport is fed.")
@click.option("--rate", default=10000, show_default=True, type=int, help="Target readings per second.")
@click.option("--sensors", default=200, show_default=True, type=int, help="Sensors per transport.")
@click.option("--per-message", default=100, show_default=True, type=int, help="Readings per MQTT message.")
@click.option("--per-request", default=1000, show_default=True, type=int, help="Readings per HTTP request.")
@click.option("--publishers", default=4, show_default=True, type=int, help="MQTT publisher processes.")
@click.option("--clients", default=4, show_default=True, type=int, help="HTTP client processes.")
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn workers of `townbrain serve`.")
@click.option("--only", type=click.Choice(["mqtt", "http"]), default=None, help="One transport only.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@command("bench ingest")
def bench_ingest(output, seconds, rate, sensors, per_message, per_request, publishers, clients, workers, only,
                 as_json):
    """Sustained MQTT and HTTP ingest of sensor readings, alarm latency (the configured database)."""
    import json

    from townbrain.bench.ingest import run
    from townbrain.bench.report import write_section

    figures = run(seconds=seconds, rate=rate, sensors=sensors, per_message=per_message, per_request=per_request,
                  publishers=publishers,
                  clients=clients, workers=workers, modes=(only,) if only else ("mqtt", "http"),
                  echo=lambda m: click.echo(m, err=True))
    if output:
        write_section(output, "ingest", figures)
    if as_json:
        click.echo(json.dumps({k: figures[k] for k in ("summary", "raw", "settings", "rows")}, default=str,
                              ensure_ascii=False, indent=1))
    else:
        click.echo(figures["summary"])


@main.group()
def rollups():
    """The live roll-up table (projects by org unit, month, programme, category, role and batch)."""


@rollups.command("rebuild")
@click.option("--programme", "programme_code", default=None, help="Only this programme (code, e.g. meili).")
@command("rollups rebuild")
def rollups_rebuild(programme_code):
    """Recompute the roll-up table from the project ledger (a repair tool; writers wait while it runs)."""
    import time

    from townbrain.programmes.models import Programme
    from townbrain.projects.rollups import rebuild

    programme = None
    if programme_code:
        programme = Programme.objects.filter(code=programme_code).first()
        if programme is None:
            raise click.ClickException(f"no programme with code {programme_code}")
    start = time.perf_counter()
    count = rebuild(programme)
    click.echo(f"{count:,} roll-up cells rebuilt in {time.perf_counter() - start:.1f} s")


@main.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--sample", type=int, default=None, metavar="N",
              help="Compare at most N roll-up units x months (default: all on a small database, else 400).")
@click.option("--full", is_flag=True, help="Compare every roll-up unit x month, however many.")
@click.option("--only", multiple=True, metavar="CHECK", help="Run only this check (repeat for several).")
@command("doctor")
def doctor_cmd(as_json, sample, full, only):
    """Check the stored data for drift (roll-ups, project figures, runs, imports, acceptances, expert problem counts,
    event statistics). Exit 1 on drift."""
    import json

    from townbrain.core import doctor

    unknown = sorted(set(only) - {c.name for c in doctor.checks()})
    if unknown:
        raise click.ClickException(f"no check {', '.join(unknown)} (there are {', '.join(c.name for c in doctor.checks())})")
    results = doctor.run_all(doctor.Options(sample=sample, full=full), only=only)
    if as_json:
        click.echo(json.dumps({"drift": doctor.has_drift(results), "checks": results}, ensure_ascii=False, indent=1))
    else:
        click.echo(doctor.render_table(results))
    sys.exit(1 if doctor.has_drift(results) else 0)


@main.command("report")
@click.option("--org", "org_code", required=True, help="Division code of the org unit, e.g. 3301.")
@click.option("--period", required=True, help="Month, YYYYMM (e.g. 202009).")
@click.option("--programme", default=None, help="Programme code, e.g. meili. Default: the unit's programme "
              "with the most projects, as on the cockpit.")
@click.option("--format", "fmt", required=True, type=click.Choice(["pdf", "docx", "xlsx"]))
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="File to write.")
@click.option("--as", "username", default=None, help="Report as this user (only their area). Default: system.")
@command("report")
def report_cmd(org_code, period, programme, fmt, output, username):
    """Write the briefing (工作简报) of an org unit, programme and month: the cockpit's figures as a file."""
    from pathlib import Path

    from townbrain.reports import briefing

    cockpit = briefing.cockpit_for(_actor(username), org_code, programme, period)
    data = briefing.render(cockpit, fmt)
    Path(output).write_bytes(data)
    click.echo(f"{output}: {cockpit.title}, {len(data):,} bytes")


@main.command("mqtt")
@click.option("--host", default="127.0.0.1", show_default=True, help="The MQTT broker.")
@click.option("--port", default=1883, show_default=True, type=int, help="The broker's port.")
@click.option("--client-id", default="townbrain-ingest", show_default=True,
              help="The persistent session's client id (keep it the same across restarts).")
@command("mqtt")
def mqtt_cmd(host, port, client_id):
    """Ingest sensor readings from MQTT (townbrain/<town>/<sensor>, QoS 1) until SIGTERM or Ctrl-C."""
    import logging

    from townbrain.sensing import mqtt

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("townbrain.sensing").setLevel(logging.INFO)
    stats = mqtt.serve(host, port, client_id=client_id)
    click.echo(" ".join(f"{k}={v}" for k, v in stats.as_dict().items()))


@main.group()
def sensing():
    """Sensing (物联感知): upkeep for cron."""


@sensing.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@command("sensing check")
def sensing_check(as_json):
    """Inactivity alarms, escalation of unacknowledged alarms, partitions and retention, once."""
    import json

    from townbrain.sensing import mqtt

    result = mqtt.sensing_check()
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(" ".join(f"{k}={len(v) if isinstance(v, list) else v}" for k, v in result.items()))


class _progress:
    """One click progress bar per level: `progress(level, done, total)` from the loaders."""

    def __init__(self, label):
        self.label = label
        self.bar = None
        self.level = None
        self.done = 0

    def __enter__(self):
        return self

    def update(self, level, done, total):
        if level != self.level:
            self._close()
            self.level, self.done = level, 0
            self.bar = click.progressbar(length=max(total, 1), label=f"{self.label}: {level}", show_pos=True,
                                         file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def _close(self):
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __exit__(self, *exc):
        self._close()
        return False


from townbrain.acceptance.cli import register as _register_acceptance  # noqa: E402

_register_acceptance(main, command, _actor)
from townbrain.reporting.cli import register as _register_reporting  # noqa: E402

_register_reporting(main, command, _actor)
from townbrain.governance.cli import register as _register_events  # noqa: E402

_register_events(main, command, _actor)
from townbrain.core.backup_cli import register as _register_backup  # noqa: E402

_register_backup(main, command)

if __name__ == "__main__":
    main()
