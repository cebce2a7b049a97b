"""`townbrain reporting remind`: send the reporting reminders due today (idempotent; run it daily from cron).

    townbrain reporting remind [--date 2020-10-07] [--json]

Registered on the root command by `register()` (two lines in townbrain/cli.py, like acceptance's).
Django is imported only when the command runs.
"""

import json
from datetime import date

import click


def register(main, command, actor_of=None):
    @main.group("reporting")
    def reporting():
        """The monthly reporting cycle (填报 → 提交 → 审核 → 锁定)."""

    @reporting.command("remind")
    @click.option("--date", "on", default=None, help="Act as if today were this date (YYYY-MM-DD).")
    @click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
    @command("reporting remind")
    def remind(on, as_json):
        """Remind towns before the deadline and, after it, towns and their county (each once)."""
        from django.utils.translation import gettext as _

        from . import services

        result = services.remind(date.fromisoformat(on) if on else None)
        if as_json:
            click.echo(json.dumps(result))
        else:
            click.echo(_("%(before)s reminders before the deadline and %(late)s after it sent.") % result)
