"""`townbrain events escalate`: send the due 催办 and 督办 (idempotent; run it daily from cron).

    townbrain events escalate [--json]

Registered on the root command by `register()` (two lines in townbrain/cli.py, like acceptance's);
the same work is the Django management command `escalate_events` for deployments that use
`django-admin`. Django is imported only when the command runs.
"""

import json

import click


def escalate_command(as_json: bool = False) -> str:
    from django.utils.translation import gettext as _

    from . import services

    result = services.escalate()
    if as_json:
        return json.dumps(result)
    return _("%(reminded)s reminders (催办) and %(supervised)s supervisions (督办) sent.") % result


def register(main, command, actor_of=None):
    @main.group("events")
    def events():
        """Events (基层治理): escalation."""

    @events.command("escalate")
    @click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
    @command("events escalate")
    def escalate(as_json):
        """Send the 催办 due the day after a deadline and the 督办 due N working days later (idempotent)."""
        click.echo(escalate_command(as_json))
