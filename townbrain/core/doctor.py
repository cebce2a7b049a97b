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
    problems: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    note: str = ""  # e.g. "a sample of 200 of 1,234"
    skipped: bool = False

    def problem(self, text: str) -> None:
        self.problems.append(text)

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
            "drift": len(outcome.problems), "problems": outcome.problems[:MAX_PROBLEMS],
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


register(Check("uploads", lambda: _("Uploaded files and their records"), check_uploads, order=900))
