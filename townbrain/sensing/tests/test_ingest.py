import datetime as dt
import json

import pytest
from django.db import connection
from django.utils import translation

from townbrain.sensing import ingest, storage
from townbrain.sensing.models import Aggregate, Reading, Sensor

from .conftest import T0, items


def post(client, token, body):
    return client.post("/api/ingest/", data=json.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Device {token}", HTTP_ACCEPT_LANGUAGE="en")


def test_batch_stored_duplicates_and_rejects_by_index(client, sensor):
    batch = items([1.0, 2.0, 3.0])
    batch.append(dict(batch[1]))  # an exact duplicate inside the batch
    batch.append({"ts": "2026-03-01T09:00:00", "value": 1})  # no offset
    batch.append({"ts": "yesterday", "value": 1})
    batch.append({"ts": T0.isoformat(), "value": "high"})
    batch.append("not an object")
    r = post(client, sensor.token, {"sensor": sensor.code, "readings": batch})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["stored"] == 3 and body["duplicates"] == 1
    assert [x["index"] for x in body["rejected"]] == [4, 5, 6, 7]
    assert "offset" in body["rejected"][0]["message"]
    # The same batch again: everything already there.
    again = post(client, sensor.token, {"sensor": sensor.code, "readings": batch[:3]}).json()
    assert again == {"stored": 0, "duplicates": 3, "rejected": []}
    assert Reading.objects.filter(sensor_id=sensor.pk).count() == 3
    s = Sensor.objects.get(pk=sensor.pk)
    assert s.readings_stored == 3 and s.bad_payloads == 4 and s.last_value == 3.0


def test_late_and_out_of_order_readings_are_kept_and_aggregated(sensor):
    ingest.ingest(sensor, items([5.0, 7.0], start=T0 + dt.timedelta(hours=1)))
    late = ingest.ingest(sensor, items([1.0, 3.0], start=T0))  # an hour older than what came before
    assert late.stored == 2
    s = Sensor.objects.get(pk=sensor.pk)
    assert s.last_value == 7.0  # the newest reading stays the last one
    hours = {a.bucket: a for a in Aggregate.objects.filter(sensor=sensor, grain="h")}
    assert len(hours) == 2
    first = hours[T0.astimezone(dt.UTC)]
    assert (first.count, first.sum, first.min, first.max, first.last) == (2, 4.0, 1.0, 3.0, 3.0)
    day = Aggregate.objects.get(sensor=sensor, grain="d")
    assert (day.count, day.sum, day.min, day.max, day.last) == (4, 16.0, 1.0, 7.0, 7.0)
    # the day is the local (Asia/Shanghai) day: 2026-03-01 00:00 +08:00
    assert day.bucket == dt.datetime(2026, 2, 28, 16, 0, tzinfo=dt.UTC)
    # a duplicate does not count twice in the aggregates
    ingest.ingest(sensor, items([1.0], start=T0))
    assert Aggregate.objects.get(sensor=sensor, grain="d").count == 4


def test_token_auth(client, sensor, other_sensor):
    body = {"sensor": sensor.code, "readings": items([1.0])}
    assert client.post("/api/ingest/", data=json.dumps(body), content_type="application/json").status_code == 401
    assert post(client, "wrong", body).status_code == 401
    assert post(client, other_sensor.token, body).status_code == 403
    assert post(client, sensor.token, "[1,2]").status_code == 400
    r = client.post("/api/ingest/", data=b"{not json", content_type="application/json",
                    HTTP_AUTHORIZATION=f"Device {sensor.token}")
    assert r.status_code == 400
    assert post(client, sensor.token, {"sensor": sensor.code, "readings": "x"}).json()["rejected"][0]["index"] is None
    # only the hash is stored
    assert sensor.token not in Sensor.objects.filter(pk=sensor.pk).values_list("token_hash", flat=True)[0]


def test_future_and_non_finite_values_rejected(sensor):
    result = ingest.ingest(sensor, [{"ts": "2099-01-01T00:00:00+08:00", "value": 1},
                                    {"ts": T0.isoformat(), "value": float("nan")},
                                    {"ts": T0.isoformat(), "value": True}])
    assert result.stored == 0 and [r["index"] for r in result.rejected] == [0, 1, 2]


def test_retention_drops_raw_keeps_aggregates(sensor, settings):
    old = dt.datetime(2025, 1, 10, tzinfo=dt.UTC)
    ingest.ingest(sensor, items([1.0, 2.0], start=old))
    ingest.ingest(sensor, items([3.0], start=T0))
    settings.TOWNBRAIN_READINGS_RETENTION_DAYS = 30
    now = T0 + dt.timedelta(days=1)
    storage.drop_old(now)
    assert list(Reading.objects.filter(sensor_id=sensor.pk).values_list("value", flat=True)) == [3.0]
    assert Aggregate.objects.filter(sensor=sensor, bucket__lt=T0 - dt.timedelta(days=30)).count() == 2
    # and a reading older than what is kept is refused, not stored into a dropped month
    with translation.override("en"):
        result = ingest.ingest(sensor, items([9.0], start=old), now=now)
    assert result.stored == 0 and "older" in result.rejected[0]["message"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="partitioning is PostgreSQL's")
def test_postgres_partitions_and_brin(sensor):
    ingest.ingest(sensor, items([1.0], start=T0) + items([2.0], start=T0 + dt.timedelta(days=40)))
    names = [n for n, _m in storage.partitions()]
    assert "sensing_reading_p202603" in names and "sensing_reading_p202604" in names
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = 'sensing_reading'")
        assert cursor.fetchone()[0] == "p"  # partitioned
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'sensing_reading_ts_brin'")
        assert "brin" in cursor.fetchone()[0]
    made = storage.maintain(T0)
    assert "sensing_reading_p202605" in made["created_partitions"]


def test_the_quick_check_agrees_with_parse_item():
    """`check` handles the usual reading inline and leaves the rest to `parse_item`: both give the same."""
    now = T0 + dt.timedelta(days=1)
    batch = [
        {"ts": "2026-03-01T08:00:00+08:00", "value": 1},  # an int
        {"ts": "2026-03-01T00:00:01Z", "value": 2.5},  # Z
        {"ts": " 2026-03-01T08:00:02+08:00 ", "value": 3.0},  # spaces: parse_item strips them
        {"ts": "2026-03-01T08:00:03.250+08:00", "value": -0.0},
        {"ts": (now + ingest.FUTURE_SLACK).isoformat(), "value": 4.0},  # just within the slack
        {"ts": (now + ingest.FUTURE_SLACK + dt.timedelta(seconds=1)).isoformat(), "value": 5.0},  # beyond it
        {"ts": "2026-03-01T08:00:04", "value": 6.0},  # no offset
        {"ts": "2026-03-01T08:00:05+08:00", "value": float("inf")},
        {"ts": "2026-03-01T08:00:06+08:00", "value": False},
        {"ts": "2026-03-01T08:00:07+08:00", "value": "7"},
        {"ts": 1, "value": 1.0},
        ["2026-03-01T08:00:08+08:00", 1.0],
        {"ts": "2026-03-01T08:00:09+08:00", "value": 10 ** 400},  # an integer no float holds
        {"ts": "0001-01-01T00:00:00+08:00", "value": 1.0},  # before the first UTC instant
    ]
    good, rejected, duplicates = ingest.check(batch, now)
    slow_good, slow_rejected = [], []
    for index, item in enumerate(batch):
        try:
            slow_good.append(ingest.parse_item(item, now, storage.cutoff(now)))
        except ValueError as exc:
            slow_rejected.append({"index": index, "message": str(exc)})
    assert good == slow_good and rejected == slow_rejected and duplicates == 0
    assert [r["index"] for r in rejected] == [5, 6, 7, 8, 9, 10, 11, 12, 13]
    assert all(ts.tzinfo == dt.UTC and type(v) is float for ts, v in good)


def test_aggregates_as_summarised(sensor, other_sensor):
    """The aggregates kept with the insert (on PostgreSQL summed by the server) are those `summarise`
    gives, across a local day's boundary, added to what was there, duplicates not counted."""
    start = dt.datetime(2026, 3, 1, 15, 40, tzinfo=dt.UTC)  # 23:40 in Shanghai: the batch spans two local days
    values = [(i * 37 % 101) / 4 for i in range(120)]
    first = [(sensor.pk, start + dt.timedelta(seconds=30 * i), v) for i, v in enumerate(values[:70])]
    first += [(other_sensor.pk, start + dt.timedelta(seconds=45 * i), -v) for i, v in enumerate(values)]
    second = [(sensor.pk, start + dt.timedelta(seconds=30 * i), v) for i, v in enumerate(values)][50:]
    assert len(storage.insert_aggregated(first)) == len(first)
    assert len(storage.insert_aggregated(second)) == len(second) - 20  # 20 stored already
    expected = storage.summarise(first + second[20:])
    got = {(a.sensor_id, a.grain, a.bucket): [a.count, a.sum, a.min, a.max, a.last_ts, a.last]
           for a in Aggregate.objects.filter(sensor__in=[sensor, other_sensor])}
    assert got.keys() == expected.keys() and len(got) == (2 + 2) + (3 + 2)  # hours and local days of each
    for key, (n, total, lo, hi, last_ts, last) in expected.items():
        assert got[key][0] == n and got[key][1] == pytest.approx(total)
        assert got[key][2:] == [lo, hi, last_ts, last], key
