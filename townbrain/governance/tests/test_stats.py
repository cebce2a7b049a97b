"""Statistics on hand-checked fixtures, and the cockpit panel.

October 2020 in 萧山区 (category 占道经营, 3 working days; deadlines counted on the 2020 calendar):

| event | town | story | counts as |
|---|---|---|---|
| E1 | 瓜沥镇 | reported 9 Oct 10:00, dispatched 9 Oct (due 14 Oct), closed 12 Oct 10:00, 满意 | closed on time, 72 h |
| E2 | 瓜沥镇 | reported 10 Oct 09:00, dispatched 10 Oct (调休 Saturday; due 14 Oct), closed 16 Oct 09:00, 基本满意 | closed late, 144 h |
| E3 | 城厢街道 | reported 12 Oct, dispatched 12 Oct (due 15 Oct), still being handled | open past the deadline |
| E4 | 城厢街道 | reported 20 Oct, not accepted yet | received only |
| E5 | 瓜沥镇 | reported 21 Oct, 不予受理 | received only |
| E8 | 瓜沥镇 | reported 5 Oct, closed on time, 不满意 → 重办 25 Oct (due 28 Oct), open | open past the deadline, reopened |
| E6 | 瓜沥镇 | reported 2 Nov | outside the month, inside the year |
| E7 | 大洋镇 | reported 9 Oct, closed | outside 萧山区 |

萧山区 202010: received 6, accepted 4 (E1 E2 E3 E8), closed 2, on time 1, open overdue 2 (E3 E8) →
按期办结率 1 ÷ (2 + 2) = 25.0 %; reviewed 3 (E1 E2 E8), satisfied 2 → 满意率 66.7 %; average 上报→结案
(72 + 144) ÷ 2 = 108.0 h; 重办率 1 ÷ (2 + 1) = 33.3 %.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from townbrain.cli import main
from townbrain.core import doctor, panels
from townbrain.core.models import OrgUnit

from .. import cells, services, stats
from ..models import Event, EventCategory, EventCell

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2020, 11, 10, 12, 0, tzinfo=SH)


def at(*args):
    return datetime(*args, tzinfo=SH)


def run(actor, event, *steps):
    for step, when, extra in steps:
        services.take_step(actor, event, step, step, at=when, **extra)


def through_close(start_day, close_at):
    y, m, d = start_day
    return [("accept", at(y, m, d, 9, 30), {}), ("dispatch", at(y, m, d, 10, 30), {}),
            ("handle", close_at.replace(hour=close_at.hour - 3), {}),
            ("feedback", close_at.replace(hour=close_at.hour - 2), {}),
            ("verify", close_at.replace(hour=close_at.hour - 1), {}), ("close", close_at, {})]


@pytest.fixture
def fixtures(report, people):
    a = people["xiaoshan_office"]
    e1 = report(at=at(2020, 10, 9, 10, 0))
    run(a, e1, *through_close((2020, 10, 9), at(2020, 10, 12, 10, 0)),
        ("review", at(2020, 10, 13, 9), {"verdict": "satisfied"}))
    e2 = report(at=at(2020, 10, 10, 9, 0))
    run(a, e2, *through_close((2020, 10, 10), at(2020, 10, 16, 9, 0)),
        ("review", at(2020, 10, 17, 9), {"verdict": "basically_satisfied"}))
    e3 = report(town="330109001", actor="xiaoshan", at=at(2020, 10, 12, 8, 0))
    run(a, e3, ("accept", at(2020, 10, 12, 8, 30), {}), ("dispatch", at(2020, 10, 12, 9, 0), {}),
        ("handle", at(2020, 10, 13, 9, 0), {}))
    report(town="330109001", actor="xiaoshan", at=at(2020, 10, 20, 8, 0))  # E4
    e5 = report(at=at(2020, 10, 21, 8, 0))
    run(a, e5, ("reject", at(2020, 10, 21, 9, 0), {}))
    e8 = report(at=at(2020, 10, 5, 8, 0))
    run(a, e8, *through_close((2020, 10, 9), at(2020, 10, 14, 12, 0)),
        ("review", at(2020, 10, 25, 9), {"verdict": "dissatisfied"}))
    report(at=at(2020, 11, 2, 8, 0))  # E6
    e7 = report(town="330182107", actor="dayang", at=at(2020, 10, 9, 10, 0))
    run(people["dayang"], e7, *through_close((2020, 10, 9), at(2020, 10, 12, 10, 0)))
    assert e1.closed_on_time and e2.closed_on_time is False and e8.status == "dispatched"
    return {"e1": e1, "e2": e2, "e3": e3, "e8": e8}


EXPECTED_XIAOSHAN = {"received": 6, "accepted": 4, "closed": 2, "closed_on_time": 1, "open_overdue": 2,
                     "on_time_rate": 25.0, "satisfaction_rate": 66.7, "avg_hours": 108.0}


@pytest.mark.django_db
def test_figures_of_a_county_month(fixtures):
    figures = stats.for_area(Event.objects.all(), "330109", "202010", now=NOW)
    assert {k: figures[k] for k in EXPECTED_XIAOSHAN} == EXPECTED_XIAOSHAN
    assert figures["reopen_rate"] == 33.3


@pytest.mark.django_db
def test_figures_of_a_town_and_a_year(fixtures):
    town = stats.for_area(Event.objects.all(), "330109113", "202010", now=NOW)
    # 瓜沥镇: E1 E2 E5 E8 → closed 2, on time 1, overdue 1 (E8) → 1 ÷ 3.
    assert (town["received"], town["closed"], town["open_overdue"], town["on_time_rate"]) == (4, 2, 1, 33.3)
    year = stats.for_area(Event.objects.all(), "330109", "2020", now=NOW)
    assert year["received"] == 7  # E6 of November joins


@pytest.mark.django_db
def test_before_the_deadlines_pass_nothing_is_overdue(fixtures):
    early = stats.for_area(Event.objects.all(), "330109", "202010", now=at(2020, 10, 15, 12, 0))
    # On 15 Oct at noon E3 (due 15 Oct 23:59:59) is not late yet; E8 was still closed then but reads as it is now.
    assert early["open_overdue"] == 0 and early["on_time_rate"] == 50.0


@pytest.mark.django_db
def test_stats_api_scoped(api_for, fixtures):
    response = api_for("xiaoshan").get("/api/events/stats/?org=330109&period=202010")
    assert response.status_code == 200
    data = response.json()
    # Real time is long past every 2020 deadline, so the figures equal the hand-checked ones.
    assert {k: data[k] for k in EXPECTED_XIAOSHAN} == EXPECTED_XIAOSHAN
    assert api_for("guali").get("/api/events/stats/?org=330109&period=202010").status_code == 404
    assert api_for("xiaoshan").get("/api/events/stats/?org=330182&period=202010").status_code == 404
    assert api_for("xiaoshan").get("/api/events/stats/?org=330109&period=2020-10").status_code == 400
    empty = api_for("xiaoshan").get("/api/events/stats/?org=330109&period=201901").json()
    assert empty["received"] == 0 and empty["on_time_rate"] is None


@pytest.mark.django_db
def test_cockpit_panel(fixtures, people):
    panel = next(p for p in panels.panels() if p.key == "governance")
    county = OrgUnit.objects.get(code="330109")
    data = panel.build(panels.Context(people["xiaoshan"], county, None, "202010"))
    cards = {c.key: c.value for c in data.cards}
    assert cards == {"events_received": 6, "events_on_time": 25.0, "events_overdue": 2, "events_satisfaction": 66.7}
    table = data.tables[0]
    assert [row[0] for row in table.rows] == ["城厢街道", "瓜沥镇"]
    assert table.rows[1][1:] == [4, 2, 1, 33.3, 66.7]
    assert sum(data.charts[0].series[0].data) == 6
    # An area without events has no panel; another county's user sees none of 萧山区.
    guizhou = OrgUnit.objects.get(code="52")
    assert panel.build(panels.Context(people["guizhou"], guizhou, None, "202010")) is None
    assert panel.build(panels.Context(people["jiande"], county, None, "202010")) is None


@pytest.mark.django_db
def test_stats_api_by_platform_category_and_children(api_for, fixtures, report):
    other_platform = report(cat=EventCategory.objects.get(code="bm-help-streetlight"), at=at(2020, 10, 3, 9, 0))
    api = api_for("xiaoshan")
    everything = api.get("/api/events/stats/?org=330109&period=202010").json()
    assert everything["received"] == 7 and other_platform.platform == "bianmin"
    zhifa = api.get("/api/events/stats/?org=330109&period=202010&platform=zhifa").json()
    assert {k: zhifa[k] for k in EXPECTED_XIAOSHAN} == EXPECTED_XIAOSHAN
    by_group = api.get("/api/events/stats/?org=330109&period=202010&category=zf-city").json()
    assert by_group["received"] == 6
    assert api.get("/api/events/stats/?org=330109&period=202010&platform=nope").status_code == 400
    children = api.get("/api/events/stats/?org=330109&period=202010&platform=zhifa&children=1").json()["children"]
    assert [(c["org"], c["received"], c["on_time_rate"]) for c in children] == [
        ("330109001", 2, 0.0), ("330109113", 4, 33.3)]


# --- the cells the pages read (cells.py) against the events they stand for --------------------------------

def _cells():
    return {(c.town_id, c.month, c.platform, c.category_id): tuple(getattr(c, f) for f in cells.FIELDS)
            for c in EventCell.objects.all()}


@pytest.mark.django_db
def test_cells_kept_by_every_step_equal_the_events(fixtures, people):
    # The stories above went through report, accept, dispatch … close, review, 不满意 → 重办, reject.
    compared, differ = cells.compare()
    assert compared and differ == []
    e1 = Event.objects.get(pk=fixtures["e1"].pk)
    assert (e1.reviews, e1.reviews_satisfied) == (1, 1)
    e8 = Event.objects.get(pk=fixtures["e8"].pk)
    assert (e8.reviews, e8.reviews_satisfied, e8.reopened) == (1, 0, 1)
    # The upkeep and a rebuild from the events give the same cells.
    kept = _cells()
    assert cells.rebuild() == len(kept)
    assert _cells() == kept
    october = EventCell.objects.filter(town_id="330109113", month=date(2020, 10, 1)).get()
    assert (october.received, october.closed, october.reviewed, october.satisfied, october.took_n) == (4, 2, 3, 2, 2)
    assert october.took == timedelta(hours=72 + 144)


@pytest.mark.django_db
def test_cells_give_the_figures_counted_from_the_events(fixtures, people, report):
    report(cat=EventCategory.objects.get(code="bm-help-streetlight"), at=at(2020, 10, 3, 9, 0))
    user = people["xiaoshan"]
    children = ["330109001", "330109113", "330109114"]
    for org, period, platform, category in [("330109", "202010", "", ""), ("330109", "2020", "", ""),
                                            ("330109113", "202010", "", ""), ("330109", "202010", "zhifa", ""),
                                            ("330109", "202010", "", "zf-city"), ("330109", "202011", "", ""),
                                            ("33", "2020", "", ""), ("330109", "201901", "", "")]:
        for now in (NOW, at(2020, 10, 15, 12, 0)):
            events = stats.events_for(user, platform, category)
            total, parts = stats.area(user, org, period, platform, category, children, now=now)
            assert total == stats.for_area(events, org, period, now=now), (org, period, platform, category)
            for code in children:
                assert parts[code] == stats.for_area(events, code, period, now=now) if code.startswith(org) else \
                    parts[code]["received"] == 0
    # As hand-checked at the top of this file, from the cells.
    total, parts = stats.area(user, "330109", "202010", children=children, now=NOW)
    assert {k: total[k] for k in EXPECTED_XIAOSHAN} == {**EXPECTED_XIAOSHAN, "received": 7}
    # A user sees only the cells of their area: 大洋镇's editor none of 萧山区.
    assert stats.area(people["dayang"], "330109", "202010", now=NOW)[0]["received"] == 0
    assert stats.area(people["dayang"], "330182", "202010", now=NOW)[0]["received"] == 1


@pytest.mark.django_db
def test_imported_and_deleted_events_move_their_cells(people, category):
    town = OrgUnit.objects.get(code="330109113")
    event = services.import_event(people["xiaoshan_office"], town, category, "历史事件", external_id="H-1",
                                  reported_at=at(2020, 3, 2, 9), accepted_at=at(2020, 3, 2, 10),
                                  dispatched_at=at(2020, 3, 2, 11), closed_at=at(2020, 3, 3, 11),
                                  verdict="basically_satisfied")
    assert (event.reviews, event.reviews_satisfied) == (1, 1)
    assert cells.compare()[1] == []
    figures = stats.area(people["xiaoshan"], "330109", "202003")[0]
    assert (figures["received"], figures["closed"], figures["satisfaction_rate"], figures["avg_hours"]) == (
        1, 1, 100.0, 26.0)
    services.delete_imported_event(people["xiaoshan_office"], event)
    assert cells.compare()[1] == []
    assert stats.area(people["xiaoshan"], "330109", "202003")[0]["received"] == 0


@pytest.mark.django_db
def test_doctor_finds_cells_and_review_counts_that_drifted(fixtures):
    check = next(c for c in doctor.checks() if c.name == "event_cells")
    assert check.run(doctor.Options()).status == doctor.OK
    cell = EventCell.objects.filter(town_id="330109113", month=date(2020, 10, 1)).get()
    EventCell.objects.filter(pk=cell.pk).update(closed=cell.closed + 1)
    Event.objects.filter(pk=fixtures["e1"].pk).update(reviews=2)
    outcome = check.run(doctor.Options())
    assert outcome.status == doctor.DRIFT and len(outcome.problems) == 2
    assert "closed" in outcome.problems[0] and f"#{fixtures['e1'].pk}" in outcome.problems[1]
    Event.objects.filter(pk=fixtures["e1"].pk).update(reviews=1)
    result = CliRunner().invoke(main, ["events", "rebuild-stats"])
    assert result.exit_code == 0 and "statistics cells rebuilt" in result.output, result.output
    assert check.run(doctor.Options()).status == doctor.OK
