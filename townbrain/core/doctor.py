"""`townbrain doctor`: consistency checks over the stored data, each reporting the drift it finds.

The checks belong to the apps whose data they read, so the registry lives here on the ground floor,
like the cockpit panels (core/panels.py): each app registers its checks in `AppConfig.ready()` and core
imports none of them. A check is a function `(options) -> Outcome`; `run_all()` runs them in order.

An outcome is `ok`, `drift` (the stored data disagree with what they are derived from: the exit code
of `townbrain doctor` is 1), `notice` (worth a look, not drift: orphan upload files) or `skipped`.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

OK, DRIFT, NOTICE, SKIPPED = "ok", "drift", "notice", "skipped"
MAX_PROBLEMS = 50  # problems listed per check; the count says how many there were


@dataclass
class Options:
    sample: int | None = None  # check at most this many items of the expensive checks (None: the default)
    full: bool = False  # check everything, however many


@dataclass
class Outcome:
    checked: int = 0  # how many things were compared
    problems: list[str] = field(default_factory=list)  # the first MAX_PROBLEMS
    notices: list[str] = field(default_factory=list)
    note: str = ""  # e.g. "a sample of 200 of 1,234"
    skipped: bool = False
    unlisted: int = 0  # problems counted beyond the first MAX_PROBLEMS (a check over a big table keeps no more)

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)
        else:
            self.unlisted += 1

    @property
    def drift(self) -> int:
        return len(self.problems) + self.unlisted

    @property
    def status(self) -> str:
        if self.skipped:
            return SKIPPED
        if self.problems:
            return DRIFT
        return NOTICE if self.notices else OK


@dataclass(frozen=True)
class Check:
    name: str  # a stable key (JSON, --only)
    label: Callable[[], str] | str  # what it checks, in the reader's language
    run: Callable[[Options], Outcome]
    order: int = 100

    @property
    def title(self) -> str:
        return str(self.label() if callable(self.label) else self.label)


_CHECKS: dict[str, Check] = {}


def register(check: Check) -> Check:
    _CHECKS[check.name] = check
    return check


def checks() -> list[Check]:
    return sorted(_CHECKS.values(), key=lambda c: (c.order, c.name))


def run_all(options: Options | None = None, only=()) -> list[dict]:
    """Every registered check's result as a dict (name, label, status, checked, problems, notices, note)."""
    options = options or Options()
    results = []
    for check in checks():
        if only and check.name not in only:
            continue
        outcome = check.run(options)
        results.append({
            "name": check.name, "label": check.title, "status": outcome.status, "checked": outcome.checked,
            "drift": outcome.drift, "problems": outcome.problems[:MAX_PROBLEMS],
            "notices": outcome.notices[:MAX_PROBLEMS], "note": outcome.note,
        })
    return results


def has_drift(results: list[dict]) -> bool:
    return any(r["status"] == DRIFT for r in results)


def sample_size(options: Options, total: int, default: int) -> int:
    """How many of `total` items an expensive check looks at: all on a small database or with --full,
    else --sample N (or `default`)."""
    if options.full:
        return total
    if options.sample is not None:
        return min(total, max(options.sample, 0))
    return min(total, default)


def sampled_note(checked: int, total: int) -> str:
    if checked >= total:
        return ""
    return _("a sample of %(checked)s of %(total)s") % {"checked": f"{checked:,}", "total": f"{total:,}"}


def status_label(status: str) -> str:
    return {OK: _("ok"), DRIFT: _("drift"), NOTICE: _("notice"), SKIPPED: _("skipped")}[status]


def render_table(results: list[dict]) -> str:
    """The results as a plain-text table, then the problems of each check that found any."""
    head = (_("check"), _("status"), _("checked"), _("drift"), _("note"))
    rows = [(r["label"], status_label(r["status"]), f"{r['checked']:,}", str(r["drift"]), r["note"]) for r in results]
    widths = [max(_width(row[i]) for row in [head, *rows]) for i in range(len(head))]

    def line(cells):
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(head), line(["-" * w for w in widths]), *(line(row) for row in rows)]
    for r in results:
        for text in r["problems"]:
            out.append(f"{r['name']}: {text}")
        if r["drift"] > len(r["problems"]):
            out.append(f"{r['name']}: " + _("… and %(n)s more") % {"n": r["drift"] - len(r["problems"])})
        for text in r["notices"]:
            out.append(f"{r['name']}: ({_('notice')}) {text}")
    drift = sum(r["drift"] for r in results)
    out.append(_("drift found: %(n)s problems") % {"n": drift} if drift else _("no drift"))
    return "\n".join(out)


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def check_uploads(options: Options) -> Outcome:
    """Files under MEDIA_ROOT that no record names, and records whose file is gone (report only).

    Reads every model's FileFields through the app registry, so core names no app."""
    from pathlib import Path

    from django.apps import apps
    from django.conf import settings
    from django.db import models

    out = Outcome()
    named: set[str] = set()
    root = Path(settings.MEDIA_ROOT)
    for model in apps.get_models():
        for f in model._meta.get_fields():
            if isinstance(f, models.FileField):
                for name in model._default_manager.exclude(**{f.name: ""}).values_list(f.name, flat=True).iterator():
                    out.checked += 1
                    named.add(name)
                    if not (root / name).is_file():
                        out.notices.append(_("%(model)s names a missing file %(name)s")
                                           % {"model": model._meta.label_lower, "name": name})
    if root.is_dir():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            out.checked += 1
            if path.relative_to(root).as_posix() not in named:
                out.notices.append(_("no record names the file %(name)s") % {"name": path.relative_to(root).as_posix()})
    return out


_VERSION_COUNTS_PARTS: set[str] = set()


def version_counts_parts(label: str) -> None:
    """Declare that the versions of a model (`app_label.model_name`) also count changes audited on other
    records, its parts (an acceptance's checklist items and evidence): `audit_trail` then asks a changed
    record for one audit row of its own, not one per version (see check_audit_trail)."""
    _VERSION_COUNTS_PARTS.add(label)


def versioned_models() -> list:
    """The models whose records carry the optimistic-locking `version` (core/conflicts.py): a `version`
    field people cannot edit (a scheme's `version` is part of its spec, set by an import, so it is not one)."""
    from django.apps import apps

    out = []
    for model in apps.get_models():
        version = next((f for f in model._meta.concrete_fields if f.name == "version"), None)
        if version is not None and not version.editable and model._meta.managed:
            out.append(model)
    return sorted(out, key=lambda m: m._meta.label_lower)


def check_audit_trail(options: Options) -> Outcome:
    """No audit row is missing for a changed record: a record at version v has at least v − 1 audit rows
    naming it (object type = its model name, object id = its key).

    Which records were changed, and how often, says their `version` (core/conflicts.py): it starts at 1
    and only an audited service raises it, by one per change, in the transaction that writes the change's
    audit row. Rows made without the services — data migrations, the demo's and the benchmarks' COPY loads,
    the national bench dataset — stand at version 1 and rightly have no audit row, whenever they were
    loaded; a record at version 3 with one audit row was changed behind the services' back (or lost its
    history). Time stamps cannot tell this: `updated` also moves with figures that are not audited edits
    (an alarm's end, a sensor's last reading), and `created` and `updated` differ by microseconds on a
    fresh row. The bound is a floor, not an equation: rows that moved no version (a creation, a project's
    plan curve) count too, so a record created through the services may miss one row unseen.

    A model whose version also counts changes audited on its parts (`version_counts_parts`: an
    acceptance, whose items' and evidence's rows name those parts, and evidence once removed no longer
    says whose it was) is asked for one row of its own once changed.

    Set-based: per model one scan of its changed records (version > 1) joined to the audit log's rows of its
    type counted by object id — a hash join, not a look-up per record (with every one of 1,000,000 projects
    changed the join's query took 1.8 s on PostgreSQL, a correlated count per record 5.4 s). The whole check:
    1,000,000 projects, 100,000 of them changed, 933,000 audit rows: 2.7 s; 100,000 projects on SQLite: 0.25 s."""
    from django.db import connection

    from .models import AuditEntry

    out = Outcome()
    q = connection.ops.quote_name
    audit = q(AuditEntry._meta.db_table)
    for model in versioned_models():
        table, pk = q(model._meta.db_table), q(model._meta.pk.column)
        bound = "1" if model._meta.label_lower in _VERSION_COUNTS_PARTS else "t.version - 1"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE version > 1")  # noqa: S608 - names from _meta
            out.checked += cursor.fetchone()[0]
            # No LIMIT: it would turn the hash join into a loop per record. The rows beyond the listed ones
            # are only counted.
            cursor.execute(
                f"SELECT t.{pk}, t.version, COALESCE(a.n, 0) FROM {table} t LEFT JOIN "  # noqa: S608 - names from _meta
                f"(SELECT object_id, COUNT(*) AS n FROM {audit} WHERE object_type = %s GROUP BY object_id) a "
                f"ON a.object_id = CAST(t.{pk} AS VARCHAR(64)) "
                f"WHERE t.version > 1 AND COALESCE(a.n, 0) < {bound} ORDER BY t.{pk}", [model._meta.model_name])
            while rows := cursor.fetchmany(10000):
                for key, version, found in rows:
                    if len(out.problems) >= MAX_PROBLEMS:  # counted, not worded (there may be a million)
                        out.unlisted += 1
                        continue
                    out.problem(_("%(model)s %(id)s is at version %(version)s (%(changes)s changes) but has "
                                  "%(rows)s audit rows") % {"model": model._meta.verbose_name, "id": key,
                                                           "version": version, "changes": version - 1, "rows": found})
    return out


register(Check("audit_trail", lambda: _("Changed records have their audit rows"), check_audit_trail, order=800))
register(Check("uploads", lambda: _("Uploaded files and their records"), check_uploads, order=900))
