"""`townbrain events escalate`: send the due 催办 and 督办 (idempotent; run it daily from cron).
`townbrain events rebuild-stats`: recompute the statistics' cells from the events (a repair).
`townbrain privacy purge`: blank the reporters' phones of events finished longer ago than the retention
setting (TOWNBRAIN_PERSONAL_DATA_RETENTION_DAYS; idempotent; run it daily from cron too).

    townbrain events escalate [--json]
    townbrain privacy purge [--dry-run] [--days N] [--json]

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
    register_privacy(main, command)

    @main.group("events")
    def events():
        """Events (基层治理): escalation, the statistics' cells."""

    @events.command("escalate")
    @click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
    @command("events escalate")
    def escalate(as_json):
        """Send the 催办 due the day after a deadline and the 督办 due N working days later (idempotent)."""
        click.echo(escalate_command(as_json))

    @events.command("rebuild-stats")
    @command("events rebuild-stats")
    def rebuild_stats():
        """Recompute the statistics' cells from the events (a repair: the services keep them; see `townbrain doctor`)."""
        import time

        from . import cells

        start = time.perf_counter()
        count = cells.rebuild()
        click.echo(f"{count:,} statistics cells rebuilt in {time.perf_counter() - start:.1f} s")


def purge_command(dry_run: bool = False, days: int | None = None, as_json: bool = False) -> str:
    from django.conf import settings
    from django.utils.translation import gettext as _

    from townbrain.core.scope import SYSTEM

    from . import services

    days = settings.PERSONAL_DATA_RETENTION_DAYS if days is None else days
    count = services.purge_reporter_contacts(SYSTEM, days=days, dry_run=dry_run)
    if as_json:
        return json.dumps({"events": count, "days": days, "dry_run": dry_run})
    if dry_run:
        return _("%(count)s events finished more than %(days)s days ago hold a reporter's phone; "
                 "nothing changed (dry run).") % {"count": count, "days": days}
    return _("Reporter's phone removed from %(count)s events finished more than %(days)s days ago.") % {
        "count": count, "days": days}


def register_privacy(main, command):
    @main.group("privacy")
    def privacy():
        """Personal data: retention."""

    @privacy.command("purge")
    @click.option("--dry-run", is_flag=True, help="Count what would be removed; change nothing.")
    @click.option("--days", type=click.IntRange(min=0), default=None,
                  help="Retention in days (default: TOWNBRAIN_PERSONAL_DATA_RETENTION_DAYS, 365).")
    @click.option("--json", "as_json", is_flag=True, help="Print the count as JSON.")
    @command("privacy purge")
    def purge(dry_run, days, as_json):
        """Blank reporters' phones of events closed longer ago than the retention (audited: markers only)."""
        click.echo(purge_command(dry_run, days, as_json))
