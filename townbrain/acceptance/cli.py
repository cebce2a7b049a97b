"""`townbrain acceptance`: open a programme's acceptances for an area, list them.

    townbrain acceptance open --programme meili --year 2022 --org 3301 [--scheme CODE] [--as USER]
    townbrain acceptance list --programme meili --year 2022 [--org 3301] [--stage town] [--json] [--as USER]

Registered on the root command by `register()` (townbrain/cli.py calls it); Django is imported
only when a command runs, so `--help` works before any database exists.
"""

import json

import click


def open_command(programme: str, year: int, org: str, scheme_code=None, actor=None) -> str:
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    from townbrain.assessments.models import Scheme
    from townbrain.core.scope import SYSTEM
    from townbrain.programmes.models import Programme

    from . import services

    prog = Programme.objects.filter(code=programme).first()
    if prog is None:
        raise ValidationError(_("no programme with code %(code)s") % {"code": programme})
    scheme = None
    if scheme_code:
        scheme = Scheme.objects.filter(code=scheme_code).first()
        if scheme is None:
            raise ValidationError(_("no assessment scheme with code %(code)s") % {"code": scheme_code})
    result = services.open_acceptances(actor or SYSTEM, prog, year, org, scheme)
    lines = [f"{a.pk:>6}  {a.town_id}  {a.town.name}" for a in result["opened"]]
    lines.append(_("%(opened)s acceptances opened, %(existing)s were open already.")
                 % {"opened": len(result["opened"]), "existing": result["existing"]})
    return "\n".join(lines)


def list_command(programme: str, year: int | None, org: str = "", stage: str = "", as_json=False, actor=None) -> str:
    from django.db.models import Count, Q
    from django.utils.translation import gettext as _

    from townbrain.core import codes
    from townbrain.core.scope import SYSTEM

    from .models import Acceptance

    qs = (Acceptance.objects.restrict(actor or SYSTEM, "view").filter(programme__code=programme)
          .select_related("town").annotate(items_total=Count("items"),
                                           items_open=Count("items", filter=Q(items__answer="")))
          .order_by("town_id"))
    if year:
        qs = qs.filter(year=year)
    if org:
        qs = qs.filter(town__code__startswith=codes.normalize(org))
    if stage:
        qs = qs.filter(stage=stage)
    rows = [{"id": a.pk, "town": a.town_id, "town_name": a.town.name, "year": a.year, "stage": a.stage,
             "outcome": a.outcome, "frozen": a.frozen, "items": a.items_total, "unanswered": a.items_open}
            for a in qs]
    if as_json:
        return json.dumps({"results": rows}, ensure_ascii=False)
    lines = [f"{r['id']:>6}  {r['town']}  {r['town_name']:<10} {r['year']}  {r['stage']:<9} {r['outcome'] or '—'}"
             f"  {r['items'] - r['unanswered']}/{r['items']}" for r in rows]
    lines.append(_("%(n)s acceptances.") % {"n": len(rows)})
    return "\n".join(lines)


def register(main, command, actor_of) -> None:
    """Add the `acceptance` group to the root command (`command` and `actor_of` come from townbrain/cli.py)."""

    @main.group("acceptance")
    def acceptance():
        """Provincial acceptance (省级验收): open acceptances, list them."""

    @acceptance.command("open")
    @click.option("--programme", required=True, help="Programme code, e.g. meili.")
    @click.option("--year", required=True, type=int)
    @click.option("--org", required=True, help="Province, city, county or town code: its enrolled towns.")
    @click.option("--scheme", "scheme_code", default=None, help="Scheme code (default: the official one).")
    @click.option("--as", "username", default=None, help="Act as this user (scope, audit). Default: system.")
    @command("acceptance open")
    def open_(programme, year, org, scheme_code, username):
        """Open the acceptances of every enrolled town under ORG and build their checklists."""
        click.echo(open_command(programme, year, org, scheme_code, actor=actor_of(username)))

    @acceptance.command("list")
    @click.option("--programme", required=True, help="Programme code, e.g. meili.")
    @click.option("--year", type=int, default=None)
    @click.option("--org", default="", help="Only towns under this code.")
    @click.option("--stage", default="", type=click.Choice(["", "town", "county", "city", "province", "signed",
                                                            "returned"]))
    @click.option("--json", "as_json", is_flag=True, help='Print {"results": [...]} only.')
    @click.option("--as", "username", default=None, help="List as this user (only their towns). Default: system.")
    @command("acceptance list")
    def list_(programme, year, org, stage, as_json, username):
        """List acceptances: town, stage, outcome, items answered."""
        click.echo(list_command(programme, year, org, stage, as_json, actor=actor_of(username)))
