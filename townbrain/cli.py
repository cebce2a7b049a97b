"""The `townbrain` command: init, demo, serve, load-divisions, createuser, check, bench.

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
@command("demo")
def demo(villages):
    """Load the demo: Zhejiang and Guizhou org trees and one user per level (password townbrain-demo).

    Idempotent: running it twice changes nothing. Refuses to run when TOWNBRAIN_DEBUG is off,
    because the demo passwords are public.
    """
    from django.conf import settings
    from django.core.management import call_command

    if not settings.DEBUG:
        raise click.ClickException("the demo refuses to run with TOWNBRAIN_DEBUG=0 (its passwords are public)")
    call_command("migrate", interactive=False, verbosity=0)
    from townbrain.demo import DEMO_USERS, load_demo

    with _progress("loading demo") as bar:
        summary = load_demo(villages=villages, progress=bar.update)
    click.echo(f"org units: {summary['created']} created, {summary['unchanged']} unchanged; "
               f"users: {summary['users_created']} created; projects: {summary['projects']} created")
    click.echo(f"demo logins (password {DEMO_PASSWORD}):")
    for username, code, role, label in DEMO_USERS:
        click.echo(f"  {username:<10} {role:<13} {code:<10} {label}")


@main.command()
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--workers", default=2, show_default=True, type=int)
@command("serve")
def serve(port, host, workers):
    """Serve TownBrain with gunicorn on HOST:PORT (static files included)."""
    from gunicorn.app.base import BaseApplication

    from townbrain.wsgi import application

    class App(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", 4)
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", 120)

        def load(self):
            return application

    click.echo(f"TownBrain on http://{host}:{port}/")
    App().run()


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


if __name__ == "__main__":
    main()
