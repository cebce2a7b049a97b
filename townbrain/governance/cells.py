"""The statistics' cells (EventCell): each event's share of the figures, kept current on every write.

An event adds to one cell, keyed by its town, the month it was reported in (local time), its platform
and its category — none of which changes after the report. What it adds is a function of the event
row alone (`share()`): 1 received; 1 accepted once accepted; closed, closed on time, the time it took
(上报 → 结案) while closed; reopened; its 回访 counters (Event.reviews, kept with the steps). Every
service that writes an event takes its share before and after and moves the difference in the same
transaction (`move()`), so the cells always equal a GROUP BY over the events: `compare()` checks that
(`townbrain doctor`), `rebuild()` recomputes it (`townbrain events rebuild-stats`).

Open past the deadline depends on the clock, not on a write: the statistics count it live (stats.py).
"""

from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Left, TruncMonth
from django.utils import timezone

from .models import DONE, Event, EventCell

# The counters of a cell, in the order of share() and of the upsert's columns.
COUNTS = ("received", "accepted", "closed", "closed_on_time", "reopened", "reopened_open", "reviewed", "satisfied",
          "took_n")
FIELDS = (*COUNTS, "took")
KEY = ("town_id", "month", "platform", "category_id")


def month_of(moment):
    """The first day of the month of `moment` in the site's time zone (settings.TIME_ZONE), as the periods."""
    return timezone.localtime(moment, timezone.get_default_timezone()).date().replace(day=1)


def share(event) -> tuple[tuple, tuple]:
    """(key, figures) of one event as it stands: what it adds to its cell."""
    done = event.status in DONE
    took = done and event.closed_at is not None
    figures = (1, int(event.accepted_at is not None), int(done), int(done and event.closed_on_time is True),
               int(event.reopened > 0), int(event.reopened > 0 and not done), event.reviews, event.reviews_satisfied,
               int(took), (event.closed_at - event.reported_at) if took else timedelta(0))
    return (event.town_id, month_of(event.reported_at), event.platform, event.category_id), figures


def move(before, after) -> None:
    """Move an event's share from `before` to `after` (each a share() or None: created, deleted)."""
    deltas = {}
    for sign, taken in ((-1, before), (1, after)):
        if taken is None:
            continue
        key, figures = taken
        current = deltas.setdefault(key, [0] * len(COUNTS) + [timedelta(0)])
        for i, value in enumerate(figures):
            current[i] += sign * value
    for key, delta in sorted(deltas.items()):
        if any(delta):
            _upsert(key, delta)


def add(event) -> None:
    move(None, share(event))


def remove(event) -> None:
    move(share(event), None)


def _upsert(key, delta) -> None:
    table = connection.ops.quote_name(EventCell._meta.db_table)
    took = EventCell._meta.get_field("took").get_db_prep_value(delta[-1], connection)
    month = EventCell._meta.get_field("month").get_db_prep_value(key[1], connection)
    columns = ", ".join((*KEY, *FIELDS))
    updates = ", ".join(f"{f} = {table}.{f} + excluded.{f}" for f in FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * (len(KEY) + len(FIELDS)))}) "
            f"ON CONFLICT (town_id, month, category_id, platform) DO UPDATE SET {updates}",
            [key[0], month, key[2], key[3], *delta[:-1], took])


# --- from the events: the reference, a rebuild, the comparison -------------------------------------------

def from_events(events=None):
    """The cells as a GROUP BY over `events` (default: all) would give them: a values() queryset."""
    done = Q(status__in=DONE)
    took = done & Q(closed_at__isnull=False)
    events = Event.objects.all() if events is None else events
    return (events.order_by().annotate(month=TruncMonth("reported_at", output_field=EventCell._meta.get_field("month"),
                                                 tzinfo=timezone.get_default_timezone()))
            .values("town_id", "month", "platform", "category_id")
            .annotate(received=Count("pk"), accepted=Count("pk", filter=Q(accepted_at__isnull=False)),
                      closed=Count("pk", filter=done), closed_on_time=Count("pk", filter=done & Q(closed_on_time=True)),
                      reopened_n=Count("pk", filter=Q(reopened__gt=0)),
                      reopened_open=Count("pk", filter=Q(reopened__gt=0) & ~done),
                      reviewed=Sum("reviews", default=0), satisfied=Sum("reviews_satisfied", default=0),
                      took_n=Count("pk", filter=took),
                      took=Sum(ExpressionWrapper(F("closed_at") - F("reported_at"), output_field=DurationField()),
                               filter=took)))


def rebuild() -> int:
    """Recompute every cell from the events (a repair; the services keep them). Returns the cells written."""
    rows = from_events()
    sql, params = rows.query.sql_with_params()
    table = connection.ops.quote_name(EventCell._meta.db_table)
    with transaction.atomic():
        # Writers wait while the cells are rebuilt (they would move shares of a table being replaced).
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        EventCell.objects.all().delete()
        with connection.cursor() as cursor:
            # The GROUP BY as a subquery, its columns taken by name in the order the INSERT lists them.
            cursor.execute(f"INSERT INTO {table} ({', '.join((*KEY, *FIELDS))}) "
                           f"SELECT town_id, month, platform, category_id, received, accepted, closed, closed_on_time, "
                           f"reopened_n, reopened_open, reviewed, satisfied, took_n, coalesce(took, %s) FROM ({sql}) s",
                           [EventCell._meta.get_field("took").get_db_prep_value(timedelta(0), connection), *params])
    return EventCell.objects.count()


def _normal(row) -> tuple:
    took = row["took"] or timedelta(0)
    return (*(row[f] or 0 for f in COUNTS), took)


def prefixes() -> list[str]:
    """The province codes the events and the cells are under: compare() and the doctor go one at a time."""
    def of(model):
        return model.objects.order_by().annotate(p=Left("town_id", 2)).values_list("p", flat=True).distinct()

    return sorted(set(of(Event)) | set(of(EventCell)))


def compare(limit=None):
    """(cells compared, [(key, stored, expected)] for each cell that differs from the events), one province
    at a time so that a national table never has to be held at once."""
    zero = (0,) * len(COUNTS) + (timedelta(0),)
    compared, differ = 0, []
    for prefix in prefixes():
        expected = {}
        for row in from_events(Event.objects.filter(town__code__startswith=prefix)).iterator(chunk_size=5000):
            row["reopened"] = row.pop("reopened_n")
            expected[(row["town_id"], row["month"], row["platform"], row["category_id"])] = _normal(row)
        stored = {}
        for row in EventCell.objects.filter(town__code__startswith=prefix).values(*KEY, *FIELDS).iterator(chunk_size=5000):
            stored[(row["town_id"], row["month"], row["platform"], row["category_id"])] = _normal(row)
        keys = set(expected) | set(stored)
        compared += len(keys)
        for key in sorted(keys, key=str):
            have, want = stored.get(key, zero), expected.get(key, zero)
            if have != want:
                differ.append((key, have, want))
                if limit and len(differ) >= limit:
                    return compared, differ
    return compared, differ
