"""Concurrent edits that lose nothing: optimistic locking by a version number.

A record people edit (a project, an org unit's profile, an assessment scheme, an acceptance) has a
`version`, raised by one by its service on every audited change. A form carries the version it was
opened at (a hidden field), an API client the ETag of its GET (`If-Match`). The service, holding
the row locked (`select_for_update`), calls `expect_version(obj, expected, entries)`: when the
version moved meanwhile it raises `Conflict` and saves nothing.

What changed since comes from the audit log, not from the client: each audited change moved the
version by one (or, when its `changes` hold `"version": [a, b]`, by b - a), so the newest entries of
the record that account for `current - expected` versions are the changes the editor has not seen.
`Conflict` names their fields (in the reader's language), who made the last one and when, and the
values they left.
"""

import re

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

_TAG = re.compile(r'^\s*(?:W/)?"?v?(\d+)"?\s*$')


def etag(version) -> str:
    """The ETag of a record at `version` (weak: the representation also holds figures that move
    without an edit, e.g. a project's reported investment)."""
    return f'W/"{int(version)}"'


def parse_version(value):
    """The version a client or a form sent: an int, `"3"`, `W/"3"`; None for none or `*`; raises
    ValidationError for anything else."""
    if value is None or value == "" or value == "*":
        return None
    if isinstance(value, int):
        return value
    match = _TAG.match(str(value))
    if not match:
        raise ValidationError(_("“%(value)s” is not a version of this record.") % {"value": value}, code="version")
    return int(match.group(1))


def if_match_versions(header: str | None) -> list[int] | None:
    """The versions an `If-Match` header accepts; None when it accepts any (absent, or `*`)."""
    if not header or header.strip() == "*":
        return None
    versions = []
    for part in header.split(","):
        if part.strip():
            versions.append(parse_version(part))
    return versions


def _label(model, name: str) -> str:
    try:
        return str(model._meta.get_field(name).verbose_name)
    except (FieldDoesNotExist, AttributeError):
        return name


def _join(labels) -> str:
    return ("、" if (get_language() or "").startswith("zh") else ", ").join(labels)


class Conflict(ValidationError):
    """The record changed since the editor read it. A ValidationError (forms and the CLI show its
    message); the API answers 412 with `changed_fields`.

    `changes` is {field: [value the editor saw, value now]} merged over the changes missed,
    `labels` {field: its name in the reader's language}, `by`/`at` who made the last one and when.
    """

    def __init__(self, obj, expected: int, current: int, changes: dict, labels: dict, by: str = "", at=None):
        self.obj, self.expected, self.current = obj, expected, current
        self.changes, self.labels, self.by, self.at = changes, labels, by, at
        self.changed_fields = list(changes)
        self.etag = etag(current)
        params = {"object": obj._meta.verbose_name, "actor": by or _("someone"),
                  "time": timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else "—",
                  "fields": _join(labels.get(f, f) for f in changes)}
        if changes:
            message = _("This %(object)s was changed by %(actor)s at %(time)s: %(fields)s. "
                        "Reload it and save again.") % params
        else:
            message = _("This %(object)s was changed by %(actor)s at %(time)s. Reload it and save again.") % params
        super().__init__(message, code="conflict")

    def theirs(self) -> list[tuple[str, str]]:
        """(field label, the value it has now, as text) for each changed field: what the other person left."""
        from .audit_labels import value_label

        rows = []
        for key, (_before, after) in self.changes.items():
            value = value_label(self.obj._meta.model_name, key, after) if ": " not in key else after
            if value is None or value == "":
                text = "—"
            elif isinstance(value, bool):
                text = _("yes") if value else _("no")
            else:
                text = str(value)
            rows.append((self.labels.get(key, key), text))
        return rows


def changes_since(entries, missing: int, own_type: str | None = None) -> tuple[dict, dict, object]:
    """({field: [before, after]}, {field: label}, the newest entry) over the newest `entries`
    (an AuditEntry queryset of the record) that account for `missing` versions. A change of
    another object type than `own_type` (a scheme's criterion) is keyed "<object>: <field>"."""
    if missing <= 0:
        return {}, {}, None
    picked, counted = [], 0
    for entry in entries.order_by("-time", "-id")[:missing]:
        picked.append(entry)
        moved = (entry.changes or {}).get("version")
        try:
            counted += max(int(moved[1]) - int(moved[0]), 1)
        except (TypeError, ValueError, IndexError):
            counted += 1
        if counted >= missing:
            break
    merged, labels = {}, {}
    for entry in reversed(picked):  # oldest first: the first "before", the last "after"
        own = own_type is None or entry.object_type == own_type
        for name, pair in (entry.changes or {}).items():
            if name in ("version", "updated"):
                continue
            key = name if own else f"{entry.object_repr}: {name}"
            before, after = (list(pair) + [None, None])[:2] if isinstance(pair, list | tuple) else (None, pair)
            merged[key] = [merged[key][0] if key in merged else before, after]
            labels.setdefault(key, key)
    return merged, labels, (picked[0] if picked else None)


def entries_of(obj, *others):
    """The audit entries of `obj` (and of `others`: (object_type, ids) pairs of its parts, e.g. a
    scheme's criteria), for changes_since()."""
    from django.db.models import Q

    from .models import AuditEntry

    q = Q(object_type=obj._meta.model_name, object_id=str(obj.pk))
    for object_type, ids in others:
        q |= Q(object_type=object_type, object_id__in=[str(i) for i in ids])
    return AuditEntry.objects.filter(q)


def expect_version(obj, expected, entries=None, *, labels=None) -> None:
    """Raise Conflict unless `obj` (read under lock) is still at the version `expected` (None: no check).

    `entries`: the audit entries telling what changed (default: those of `obj` itself); `labels`:
    {field: label} beside the model's verbose names.
    """
    expected = parse_version(expected)
    if expected is None or obj.version == expected:
        return
    changes, _keys, last = changes_since(entries if entries is not None else entries_of(obj),
                                         obj.version - expected, obj._meta.model_name)
    names = {}
    for key in changes:
        field = key.rsplit(": ", 1)[-1]
        label = (labels or {}).get(field) or _label(type(obj), field)
        names[key] = f"{key.rsplit(': ', 1)[0]}: {label}" if ": " in key else label
    raise Conflict(obj, expected, obj.version, changes, names,
                   by=last.actor_name if last else "", at=last.time if last else None)
