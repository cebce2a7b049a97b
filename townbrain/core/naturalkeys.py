"""The natural keys a batch's records hold (an activity's town, date, type and names; an article's town,
date, outlet and title), so a batch refuses a record that would take a key another record holds — a
stored one, or one the batch created or moved earlier — as one service call after another would.

A key a stored record moves away from stays held for the rest of the batch: the batch writes its rows
together, and a new row written beside the old one would meet it in the database's unique constraint.

The batch reads the stored records' keys once per group of items (`add_stored`), as the batch holds
them; `take()` then answers each record in order without a query.
"""


class NaturalKeys:
    def __init__(self):
        self._held: dict[tuple, object] = {}  # key -> a stored record's id, or the new record itself

    def add_stored(self, key: tuple, pk) -> None:
        """A stored record's key (read once; a key taken since stays taken)."""
        self._held.setdefault(key, pk)

    def take(self, key: tuple, holder) -> bool:
        """Give `key` to `holder` (a stored record's id, or a new record) unless another holds it: False then."""
        other = self._held.get(key)
        if other is not None and other is not holder and other != holder:
            return False
        self._held[key] = holder
        return True
