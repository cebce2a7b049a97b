"""The import pipeline: read → map headers → validate each row → plan → apply (or roll back).

Every row is built and checked first (a kind may check its rows together), then applied
through the app's service functions inside ONE transaction: a row that writes at once in a
savepoint of its own, rows a kind writes together (new projects, progress reports, indicator
values) at the end. A dry run, or a file with any error (unless `only_valid`), rolls the whole
transaction back, so the plan it reports is exactly what applying would do and nothing is
written. A killed process leaves the database as it was (the transaction never commits).

Errors refuse a row; warnings (exchange/quality.py) do not: a row with warnings only is written and
counted as created/updated/unchanged, and its warnings are listed beside the errors and, once the
import is applied, kept in the data-quality register until the record no longer has the problem.
The all-or-nothing rule is about errors only.

Summary shape (API, CLI --json, page):
    {status, kind, file, counts{created, updated, unchanged, deleted}, errors[{row, column, value, message}],
     warnings[{row, column, value, message}], id}
status: "applied" | "partial" (only_valid with errors) | "dry_run" | "failed" (errors, nothing written)
        | "unreadable" (the file as a whole cannot be read)
"""

import copy
import hashlib
from collections import Counter

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from townbrain.core import audit, bulk, geo
from townbrain.core.scope import scope_prefixes

from . import history as import_history
from . import normalize as n
from . import quality
from .kinds import KINDS, PLANNED_KINDS, RowError
from .models import ImportBatch
from .readers import UnreadableFile, read_grid

HEADER_SEARCH_ROWS = 10


class UnknownKind(ValueError):
    pass


def get_kind(name: str):
    if name in KINDS:
        return KINDS[name]
    if name in PLANNED_KINDS:
        raise UnknownKind(_("Importing %(kind)s is not available yet.") % {"kind": name})
    raise UnknownKind(_("Unknown kind “%(kind)s”; use one of: %(kinds)s.")
                      % {"kind": name, "kinds": ", ".join(KINDS)})


def _summary(status, kind, filename, counts=None, errors=None, warnings=None, batch=None):
    counts = counts or {}
    return {
        "status": status,
        "kind": kind.name if kind else None,
        "file": filename,
        "counts": {k: counts.get(k, 0) for k in ("created", "updated", "unchanged", "deleted")},
        "errors": errors or [],
        "warnings": warnings or [],
        "id": batch.pk if batch else None,
    }


def locate_header(grid, kind):
    """Find the header row in the first rows; map its columns to the kind's columns.

    Returns (row index, {column index: Column}, {column index: header text}, extra headers).
    """
    lookup = {}
    for col in kind.columns:
        for key in col.keys():
            lookup[key] = col
    required = {c.key for c in kind.columns if c.required}
    best = None
    for idx, row in enumerate(grid.rows[:HEADER_SEARCH_ROWS]):
        found = {i: lookup[n.header_key(cell)] for i, cell in enumerate(row) if n.header_key(cell) in lookup}
        if found and (best is None or len(found) > len(best[1])):
            best = (idx, found)
    if best is None or not required <= {c.key for c in best[1].values()}:
        missing = required - ({c.key for c in best[1].values()} if best else set())
        raise UnreadableFile(
            _("No header row with the required columns %(columns)s in the first %(n)s rows.")
            % {"columns": "、".join(kind.column(k).header for k in sorted(missing, key=lambda k: [
                c.key for c in kind.columns].index(k))), "n": HEADER_SEARCH_ROWS})
    idx, found = best
    for r0, c0, r1, c1 in grid.merged:
        if r0 <= idx <= r1 and c1 > c0:
            raise UnreadableFile(_("Header cells in row %(row)s, columns %(first)s–%(last)s are merged; unmerge them "
                                   "so each column has its own header.")
                                 % {"row": idx + 1, "first": _col_letter(c0), "last": _col_letter(c1)})
    seen = Counter(c.key for c in found.values())
    doubled = [kind.column(k).header for k, count in seen.items() if count > 1]
    if doubled:
        raise UnreadableFile(_("Column %(column)s appears more than once in the header.") % {"column": "、".join(doubled)})
    header_texts = {i: n.clean_text(grid.rows[idx][i]) for i in found}
    extra = [n.clean_text(cell) for i, cell in enumerate(grid.rows[idx]) if i not in found and not n.is_blank(cell)]
    return idx, found, header_texts, extra


def _col_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def parse_rows(grid, kind, header_idx, mapping, header_texts):
    """[(row number, values, errors)] for the non-blank data rows; numbers as the spreadsheet shows them.

    Column by column: a sheet repeats its towns, dates, statuses and amounts, so each distinct cell of a
    column is read once, and a row whose cells all read well becomes its values in one step."""
    rows = [(idx, row) for idx, row in enumerate(grid.rows[header_idx + 1:], start=header_idx + 1)
            if not all(n.is_blank(cell) for cell in row)]
    errors: list[list] = [[] for _row in rows]
    columns = []  # per mapped column: the value read from each row's cell (_UNREAD where it read badly)
    for i, col in mapping.items():
        raws = [row[i] if i < len(row) else None for _idx, row in rows]
        keys = bulk.memo_keys(raws)
        read, refused = {}, {}
        for key, raw in dict(zip(keys, raws, strict=True)).items():
            try:
                value = read[key] = col.parse(raw)
            except n.BadValue as exc:
                refused[key] = str(exc)
                continue
            if col.required and value in (None, ""):
                refused[key] = _("This column is required.")
        if refused:
            for j, key in enumerate(keys):
                if key in refused:
                    errors[j].append(_error(rows[j][0] + 1, header_texts[i], raws[j], refused[key]))
        columns.append([_UNREAD if key in refused else read[key] for key in keys] if refused else
                       list(map(read.__getitem__, keys)))
    names = [col.key for col in mapping.values()]
    return [(idx + 1, {name: v for name, v in zip(names, values, strict=True) if v is not _UNREAD} if errs else
             dict(zip(names, values, strict=True)), errs)
            for (idx, _row), values, errs in zip(rows, zip(*columns, strict=True), errors, strict=True)]


_UNREAD = object()  # a cell parse_rows() could not read: not among the row's values


def _error(row, column, value, message):
    return {"row": row, "column": column, "value": "" if value is None else str(value), "message": str(message)}


def _messages(exc) -> list[tuple[str | None, str]]:
    if isinstance(exc, RowError):
        return list(exc.errors.items())
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return [(field, " ".join(msgs)) for field, msgs in exc.message_dict.items()]
        return [(None, " ".join(exc.messages))]
    return [(None, str(exc))]


def run_import(actor, data: bytes, filename: str, kind_name: str, *, dry_run=False, only_valid=False,
               progress=None, crs=None) -> dict:
    """Import `data` as `kind_name` for `actor`; returns the summary (see the module docstring).

    `progress(stage, done, total)` hears how far it got: "checking", "applying", then "writing".
    `crs` names the coordinate system of 经度/纬度 for a file without a 坐标系 column (WGS84, GCJ02, BD09).
    """
    with bulk.many_objects():
        return _run_import(actor, data, filename, kind_name, dry_run=dry_run, only_valid=only_valid,
                           progress=progress, crs=crs)


def _run_import(actor, data, filename, kind_name, *, dry_run, only_valid, progress, crs) -> dict:
    kind = copy.copy(get_kind(kind_name))  # a kind keeps look-ups and pending rows for one run
    if crs:
        try:
            kind.crs = geo.system_of(crs)
        except geo.UnknownSystem:
            raise ValueError(_("Unknown coordinate system “%(crs)s”; use WGS84, GCJ02 or BD09.") % {"crs": crs}) \
                from None
    try:
        grid = read_grid(data, filename)
        header_idx, mapping, header_texts, extra = locate_header(grid, kind)
    except UnreadableFile as exc:
        return _summary("unreadable", kind, filename, errors=[_error(None, None, None, str(exc))])
    warnings = [_error(header_idx + 1, None, "、".join(extra), _("Columns ignored (not in the standard): %(columns)s")
                       % {"columns": "、".join(extra)})] if extra else []
    records = parse_rows(grid, kind, header_idx, mapping, header_texts)
    del grid  # the cells are read: 100,000 rows of them need not stay alive while the rows are applied
    if not records:
        return _summary("unreadable", kind, filename, errors=[_error(None, None, None, _("The file has no data rows."))],
                        warnings=warnings)
    by_key = {col.key: header_texts[i] for i, col in mapping.items()}
    errors = [e for _row, _v, errs in records for e in errs]
    counts: Counter = Counter()
    kind.prepare(actor, [v for _row, v, errs in records if not errs])
    report = progress or (lambda stage, done, total: None)
    today = timezone.localdate()
    checked = bool(quality.rules_for(kind.object_type))
    touched = []  # the objects the applied rows name (created, updated or unchanged): their warnings are kept
    breaks = []  # the rules each of them breaks

    def register(batch=None):  # the register follows the records written: a problem found is kept, one fixed resolved
        quality.sync(kind.object_type, objects=touched, batch=batch,
                     broken={obj.pk: rules for obj, rules in zip(touched, breaks, strict=True)})

    def warn(row_no, obj) -> list:
        """The row's warnings listed; the rules its record breaks (the register is synced from them)."""
        found = quality.row_warnings(kind.object_type, obj, today)
        for rule, value in found:
            warnings.append(_error(row_no, by_key.get(rule.field) or rule.column, value,
                                   rule.text({"value": value or "—"})))
        return [rule for rule, _value in found]

    def refuse(row_no, values, exc):
        for field, message in _messages(exc):
            column = by_key.get(field) or (kind.column(field).header if field in
                                           {c.key for c in kind.columns} else None)
            errors.append(_error(row_no, column, values.get(field) if field else None, message))

    with transaction.atomic(), kind.writing():
        built, seen_keys = [], {}
        for done, (row_no, values, row_errors) in enumerate(records, start=1):
            if done % 500 == 0:
                report("checking", done, len(records))
            if row_errors:
                continue
            try:
                target = kind.build(actor, values)
                key = target["key"]
                if key in seen_keys:
                    raise RowError({None: _("Same record as row %(row)s.") % {"row": seen_keys[key]}})
            except (RowError, ValidationError, PermissionDenied) as exc:
                refuse(row_no, values, exc)
                continue
            seen_keys[key] = row_no
            built.append((row_no, values, target))
        kind.check(actor, [target for _row, _v, target in built])
        report("checking", len(records), len(records))
        # The batch exists before anything is written: the audit rows of the changes carry it and their
        # row (one history for the audit log and undo: history.py). A dry run or a refused file rolls it back.
        batch = ImportBatch.objects.create(
            kind=kind.name, actor=actor if getattr(actor, "pk", None) else None,
            actor_name=getattr(actor, "username", "system"), file_name=filename[:255],
            file_hash=hashlib.sha256(data).hexdigest(), org_code=_home(actor))
        changes = 0
        with audit.importing(batch.pk, kind.history_types()) as history:
            for done, (row_no, values, target) in enumerate(built, start=1):
                if done % 500 == 0:
                    report("applying", done, len(built))
                # A row that writes now gets a savepoint, so its failure undoes only itself; a row the
                # kind only checks here (written in bulk by finish()) needs none.
                sid = transaction.savepoint() if kind.writes_now(target) else None
                history.row = row_no  # what a row that writes now audits is that row's
                try:
                    action, obj = kind.apply(actor, target)
                except (RowError, ValidationError, PermissionDenied) as exc:
                    if sid is not None:
                        transaction.savepoint_rollback(sid)
                    refuse(row_no, values, exc)
                    continue
                finally:
                    history.row = None
                if sid is not None:
                    transaction.savepoint_commit(sid)
                if checked:
                    breaks.append(warn(row_no, obj))
                    touched.append(obj)
                counts[action] += 1
                if action != "unchanged":
                    changes += 1
                    history.mark(obj, row_no)  # finish() audits it: the audit row names this row
            report("applying", len(built), len(built))
            errors.sort(key=lambda e: (e["row"] or 0))
            warnings.sort(key=lambda e: (e["row"] or 0))
            if dry_run or (errors and not only_valid):
                transaction.set_rollback(True)
                status = "dry_run" if dry_run else "failed"
                return _summary(status, kind, filename, counts, errors, warnings)
            try:
                report("writing", 0, 1)  # the rows a kind writes together (finish) and the batch
                kind.finish(actor)
            except (ValidationError, PermissionDenied) as exc:
                transaction.set_rollback(True)
                return _summary("failed", kind, filename, counts, [_error(None, None, None, message)
                                                                  for _field, message in _messages(exc)], warnings)
            if not changes:
                # Nothing changed (e.g. the same file again): no batch, nothing to undo, no audit row.
                batch.delete()
                register()
                return _summary("partial" if errors else "applied", kind, filename, counts, errors, warnings)
            batch.counts = {k: counts.get(k, 0) for k in ("created", "updated", "unchanged")}
            batch.errors, batch.warnings = errors, warnings
            batch.save(update_fields=["counts", "errors", "warnings"])
            audit.record(actor, "import.apply", batch, {}, {"kind": kind.name, "file": batch.file_name,
                                                            "hash": batch.file_hash, **batch.counts,
                                                            "errors": len(errors), "warnings": len(warnings)},
                         org_code=batch.org_code)
        register(batch)
        report("writing", 1, 1)
        return _summary("partial" if errors else "applied", kind, filename, counts, errors, warnings, batch)


def _home(actor) -> str:
    prefixes = scope_prefixes(actor, "view")
    if not isinstance(prefixes, set) or not prefixes:
        return ""
    return min(prefixes, key=len)


def undo_batch(actor, batch: ImportBatch) -> ImportBatch:
    """Put back what a batch changed (newest change first), in one transaction, audited."""
    if batch.state == ImportBatch.State.UNDONE:
        raise ValidationError(_("This import has already been undone."))
    kind = get_kind(batch.kind)
    with bulk.many_objects(), transaction.atomic(), kind.writing():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        changes = import_history.newest_first(import_history.changes(batch, kind))
        kind.undo_many(actor, changes)
        # Deleted or put back: checked again.
        quality.sync(kind.object_type, ids=[c.object_id for c in changes if c.object_type == kind.object_type])
        batch.state, batch.undone_at = ImportBatch.State.UNDONE, timezone.now()
        batch.save(update_fields=["state", "undone_at"])
        audit.record(actor, "import.undo", batch, {"state": "applied"}, {"state": "undone"}, org_code=batch.org_code)
    return batch
