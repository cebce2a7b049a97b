"""`townbrain backup FILE` and `townbrain restore FILE [--force]` (townbrain/core/backup.py, docs/operations.md).

Registered on the root command by `register()` (two lines in townbrain/cli.py, like acceptance's).
Django is imported only when a command runs.
"""

import json
import sys
from pathlib import Path

import click


def _steps():
    """Where the steps go: stderr on a terminal; nothing otherwise (cron's mail, the one-line error)."""
    if sys.stderr.isatty():
        return lambda message: click.echo(message, err=True)
    return lambda message: None


def register(main, command):
    @main.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--json", "as_json", is_flag=True, help="Print the manifest's summary as JSON.")
    @command("backup")
    def backup_cmd(file, as_json):
        """Write FILE: the database (pg_dump, or SQLite's backup API, consistent while the app runs), the
        uploads and a manifest (schema version, row counts and checksums of every table)."""
        from django.utils.translation import gettext as _

        from . import backup

        try:
            manifest = backup.backup(Path(file), echo=_steps())
        except backup.BackupError as exc:
            raise click.ClickException(str(exc)) from None
        rows = sum(t["rows"] for t in manifest["tables"].values())
        summary = {"file": str(Path(file).resolve()), "created_at": manifest["created_at"],
                   "vendor": manifest["vendor"], "tables": len(manifest["tables"]), "rows": rows,
                   "uploads": len(manifest["uploads"]), "bytes": Path(file).stat().st_size}
        if as_json:
            click.echo(json.dumps(summary, ensure_ascii=False))
            return
        click.echo(_("%(file)s: %(tables)s tables, %(rows)s rows and %(uploads)s uploaded files backed up "
                     "(%(bytes)s bytes)") % {**summary, "file": file, "rows": f"{rows:,}",
                                             "bytes": f"{summary['bytes']:,}"})

    @main.command("restore")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--force", is_flag=True, help="Replace a database that is not empty (everything in it) and move "
                  "existing uploads aside.")
    @command("restore")
    def restore_cmd(file, force):
        """Restore FILE (made by `townbrain backup`) into the configured, empty database and TOWNBRAIN_HOME, then
        verify the row counts and checksums of every table against the backup. Stop the app first."""
        from django.utils.translation import gettext as _

        from . import backup

        try:
            done = backup.restore(Path(file), force=force, echo=_steps())
        except backup.BackupError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(_("%(file)s (backed up %(created_at)s, TownBrain %(version)s) restored: %(tables)s tables, %(rows)s "
                     "rows and %(uploads)s uploaded files; the row counts and checksums of every table and every "
                     "uploaded file match the backup")
                   % {"file": file, "created_at": done.manifest["created_at"],
                      "version": done.manifest.get("townbrain_version", "?"), "tables": done.tables,
                      "rows": f"{done.rows:,}", "uploads": done.uploads})
        if done.replaced_uploads:
            click.echo(_("the uploads that were there are now in %(folder)s") % {"folder": done.replaced_uploads})
        if done.pending_migrations:
            click.echo(_("the backup is from an older TownBrain: run `townbrain init` to apply %(n)s migrations")
                       % {"n": done.pending_migrations})
