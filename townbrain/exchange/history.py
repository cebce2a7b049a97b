"""An import's history is its audit rows: each change a file row made is audited by the service
that made it, tagged with the import and the row (core/audit.py importing()). The import's page
lists those rows and undo reads them back — one history, not an audit row and a copy of it.

A record a row changed may have several audit rows in the import (a deal created, then its funds
set); its change is read as one: created when its first row made it, else updated, with the values
its first row replaced. Personal data is kept in the audit log as a marker only (audit.PERSONAL_FIELDS);
no import kind undoes a change to such a field.
"""

from dataclasses import dataclass

from django.utils.translation import pgettext_lazy

from townbrain.core.models import AuditEntry

ACTIONS = {"created": pgettext_lazy("import action", "Created"), "updated": pgettext_lazy("import action", "Updated")}


@dataclass
class Change:
    """What one file row did to one record, with the values it replaced (None when it created it)."""

    row: int
    action: str  # "created" | "updated"
    object_type: str
    object_id: str
    object_repr: str
    before: dict | None
    last_id: int  # the record's newest audit row in the import: undo goes newest first

    def action_label(self):
        return ACTIONS[self.action]


def entries(batch):
    """The audit rows of the records `batch`'s rows changed, in the file's order (a record's own oldest
    first): a batch writes them in its own order, not the file's."""
    return AuditEntry.objects.filter(import_batch=batch.pk, import_row__isnull=False).order_by("import_row", "id")


def changes(batch, kind, limit: int | None = None) -> list[Change]:
    """One Change per record the import changed, in the order of the file (row, then first write);
    `limit`: read only the first so many audit rows (a page shows the start of a large import)."""
    by_record: dict[tuple, Change] = {}
    # Named tuples, not model instances: an undo reads every row of its import (100,000 and more).
    rows = entries(batch).values_list("id", "action", "object_type", "object_id", "object_repr", "changes",
                                      "import_row", named=True)
    for e in (rows[:limit] if limit is not None else rows.iterator()):
        key = (e.object_type, e.object_id)
        change = by_record.get(key)
        if change is None:
            created = kind.is_creation(e)
            by_record[key] = Change(e.import_row, "created" if created else "updated", e.object_type, e.object_id,
                                    e.object_repr, None if created else {}, e.id)
            change = by_record[key]
        else:
            change.last_id = e.id
        if change.before is not None:
            for name, (old, _new) in e.changes.items():
                change.before.setdefault(name, old)  # the value the import found, not one it wrote itself
    return sorted(by_record.values(), key=lambda c: (c.row, c.last_id))


def newest_first(changes_: list[Change]) -> list[Change]:
    return sorted(changes_, key=lambda c: -c.last_id)
