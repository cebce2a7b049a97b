"""A sensor's series for a chart, from the table that fits the span asked: raw readings up to two
days (≤ ~2,900 points at one a minute), hourly aggregates up to three months (≤ 2,200 points),
daily aggregates beyond. Aggregated points carry mean, min and max."""

import datetime as dt

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from .models import Aggregate, Reading

RAW_UP_TO = dt.timedelta(days=2)
HOURLY_UP_TO = dt.timedelta(days=92)
SPANS = {"hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1), "week": dt.timedelta(days=7),
         "month": dt.timedelta(days=31), "year": dt.timedelta(days=366)}


def parse_time(text, default):
    """An ISO 8601 time from a query string ('+' may arrive as a space); naive = the local zone."""
    if not text:
        return default
    text = text.strip()
    if "T" in text and " " in text:
        text = text.replace(" ", "+")
    try:
        value = parse_datetime(text)
    except ValueError:
        value = None
    if value is None:
        raise ValueError(_("“%(value)s” is not an ISO 8601 time.") % {"value": text[:40]})
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def grain_for(start, end) -> str:
    span = end - start
    if span <= RAW_UP_TO:
        return "raw"
    return "h" if span <= HOURLY_UP_TO else "d"


def raw(sensor, start, end):
    return Reading.objects.filter(sensor_id=sensor.pk, ts__gte=start, ts__lt=end).order_by("ts")


def series(sensor, start, end, grain: str = "") -> dict:
    grain = grain or grain_for(start, end)
    if grain == "raw":
        points = [{"ts": ts.isoformat(), "value": v} for ts, v in raw(sensor, start, end).values_list("ts", "value")]
    else:
        rows = Aggregate.objects.filter(sensor=sensor, grain=grain, bucket__gte=start, bucket__lt=end).order_by(
            "bucket").values_list("bucket", "count", "sum", "min", "max")
        points = [{"ts": b.isoformat(), "value": round(s / n, 4), "min": lo, "max": hi, "count": n}
                  for b, n, s, lo, hi in rows]
    return {"sensor": sensor.code, "unit": sensor.unit, "grain": grain, "from": start.isoformat(),
            "to": end.isoformat(), "points": points}
