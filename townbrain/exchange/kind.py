"""What every exchange kind is made of: its columns, its row errors, and the steps the pipeline calls.

A kind names its columns (Chinese header first, English aliases), turns one row of cells into
service arguments (build), finds the existing object a row refers to, and applies the row
through the app's service functions — the same write path as the UI and the API.
"""

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from . import normalize as n


@dataclass
class Column:
    key: str
    header: str  # the standard (Chinese) header
    aliases: tuple[str, ...] = ()
    parse: Callable[[Any], Any] = n.clean_text
    required: bool = False
    help: Any = ""
    # Offered as a drop-down in the template: a tuple, or a callable read when the template is made
    # (a vocabulary kept as data); open_choices lets the sheet hold other words too (the drop-down only suggests).
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] = ()
    open_choices: bool = False
    example: Any = ""

    def choice_list(self) -> tuple[str, ...]:
        return tuple(self.choices()) if callable(self.choices) else self.choices

    def keys(self) -> set[str]:
        return {n.header_key(h) for h in (self.header, self.key, *self.aliases)}


class RowError(Exception):
    """A row that cannot be imported: {column key: message}."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


@dataclass
class Kind:
    name: str
    label: Any
    columns: list[Column]
    object_type: str
    fields: tuple[str, ...] = field(default_factory=tuple)

    def column(self, key) -> Column:
        return next(c for c in self.columns if c.key == key)

    # Subclasses implement: prepare(actor, rows) for look-ups, build(actor, values) -> a target dict
    # with the row's natural "key" (a second row with the same key is refused),
    # apply(actor, target) -> (action, obj): "created" | "updated" | "unchanged" and the record the row
    # names (what it replaced is not returned: undo reads it from the import's audit rows, history.py),
    # undo(actor, change) (or undo_many for a whole batch)

    def check(self, actor, targets: list) -> None:
        """Check the built rows together before they are applied (a kind whose rules run faster in bulk)."""

    def writes_now(self, target) -> bool:
        """Whether apply() writes this row at once (the pipeline then wraps it in a savepoint)."""
        return True

    def finish(self, actor) -> None:
        """Write what apply() only checked and queued (called once, when the import is applied)."""

    def history_types(self) -> tuple[str, ...]:
        """The records a row that writes at once changes for itself (their audit rows carry the row)."""
        return (self.object_type,)

    def is_creation(self, entry) -> bool:
        """Whether an audit row of this kind's records made the record (its services name creations
        `….create`, or `….import` for a record that only an import makes)."""
        return entry.action.rsplit(".", 1)[-1] in ("create", "import")

    def undo_many(self, actor, changes: list) -> None:
        """Put back a batch's changes, newest first (a kind that can undo many rows at once overrides it)."""
        for change in changes:
            self.undo(actor, change)

    def writing(self):
        """A context around the whole transaction of an import (e.g. the roll-up locks of a bulk writer)."""
        return nullcontext()


def restore(model, before: dict) -> dict:
    """Service arguments that put back a snapshot (foreign keys by id, decimals and dates parsed)."""
    values = {}
    for name, value in before.items():
        f = model._meta.get_field(name)
        if f.is_relation:
            values[name] = f.related_model.objects.get(pk=value) if value is not None else None
        else:
            values[name] = f.to_python(value)
    return values


class BatchKind(Kind):
    """A kind whose app checks rows together and writes them together: batch_for(actor) gives the
    app's batch (the shape of core/records.py: check(items) -> one (object, before, action) or error
    per item, in the file's order; write()). build() puts each row's item in target["item"]; apply()
    answers with the checked result, finish() writes the accepted rows."""

    def batch_for(self, actor):
        raise NotImplementedError

    def check(self, actor, targets):
        self.batch = self.batch_for(actor)
        for target, result in zip(targets, self.batch.check([t["item"] for t in targets]), strict=True):
            target["result"] = result

    def writes_now(self, target) -> bool:
        return False

    def apply(self, actor, target):
        if isinstance(target["result"], Exception):
            raise target["result"]
        obj, _before, action = target["result"]
        return action, obj

    def finish(self, actor) -> None:
        self.batch.write()
