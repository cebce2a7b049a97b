"""The period board (bulk approve), the town's submit page, the deadline on the project page, the
cockpit panel, reminders (idempotent) and the timeliness the assessments read."""

from datetime import date, datetime

import pytest
from django.core import mail
from django.utils import timezone

from townbrain.core.models import OrgUnit
from townbrain.core.panels import Context
from townbrain.projects import services as projects
from townbrain.reporting import panels, services, timeliness
from townbrain.reporting.models import Reminder, Status, Submission

from .conftest import figures

pytestmark = pytest.mark.django_db
GUALI, CHENGXIANG, DAYANG = "330109113", "330109001", "330182107"


def submit(users, who, code, meili, period="202009", when=None):
    return services.take_step(users[who], OrgUnit.objects.get(code=code), meili, period, "submit",
                              at=timezone.make_aware(when) if when else None)


def test_board_bulk_approve(users, meili, ledger, client_for):
    submit(users, "guali", GUALI, meili)
    submit(users, "admin", CHENGXIANG, meili)
    client = client_for("xiaoshan")
    url = "/reporting/board/330109/meili/202009/"
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "瓜沥镇" in text and "城厢街道" in text and "大洋镇" not in text and 'id="bulk-approve"' in text
    assert "2020-10-09" in text  # the deadline on the board
    r = client.post(url, {"step": "approve", "towns": [GUALI, CHENGXIANG, DAYANG]})
    assert r.status_code == 302
    assert dict(Submission.objects.values_list("town_id", "status")) == {GUALI: "approved", CHENGXIANG: "approved"}
    assert client.get(url + "?export=csv").content.decode("utf-8-sig").count("\n") == 3
    # A town's own editor sees the board of its county? No: outside its view it is not found.
    assert client_for("guali").get(url).status_code == 404


def test_town_page_shows_what_is_missing_and_submits(users, meili, ledger, client_for):
    client = client_for("guali")
    url = f"/reporting/town/{GUALI}/meili/202009/"
    page = client.get(url).content.decode()
    assert ledger[GUALI].code in page and 'id="submit"' in page  # the started project without a report comes first
    projects.report_progress(users["guali"], ledger[GUALI], "202009", **figures())
    page = client.get(url).content.decode()
    assert "Every started project has its report." in page
    assert client.post(url, {"step": "submit"}).status_code == 302
    assert Submission.objects.get(town_id=GUALI).status == Status.SUBMITTED
    # The town cannot approve itself: the page says why, nothing changes.
    client.post(url, {"step": "approve"})
    assert Submission.objects.get(town_id=GUALI).status == Status.SUBMITTED
    assert client_for("dayang").get(url).status_code == 404


def test_deadline_shown_on_the_project_page(users, meili, ledger, client_for):
    page = client_for("guali").get(f"/projects/{ledger[GUALI].pk}/").content.decode()
    assert "tb-deadline" in page and "due" in page


def test_cockpit_panel_lists_late_towns(users, meili, ledger):
    submit(users, "guali", GUALI, meili, when=datetime(2020, 10, 12, 9))  # 2 working days late
    submit(users, "admin", CHENGXIANG, meili, when=datetime(2020, 10, 9, 9))  # on time
    data = panels.build(Context(user=users["xiaoshan"], org=OrgUnit.objects.get(code="330109"), programme=meili,
                                period="202009"))
    cards = {c.key: c.value for c in data.cards}
    assert cards["on_time_rate"] == 50.0 and cards["late"] == 1 and cards["missing"] == 0
    (table,) = data.tables
    assert table.rows == [["瓜沥镇", "Submitted (已提交)", 2]]


def test_reminders_before_and_after_the_deadline_are_sent_once(users, meili, ledger):
    users["guali"].email = "guali@example.org"
    users["guali"].save()
    users["xiaoshan"].email = "xiaoshan@example.org"
    users["xiaoshan"].save()
    # 7 October 2020: September's reports are due on the 9th; 城厢街道 and 瓜沥镇 have not submitted.
    submit(users, "dayang", DAYANG, meili, when=datetime(2020, 10, 7, 9))
    sent = services.remind(date(2020, 10, 7))
    # Before: 瓜沥镇's editor (城厢街道 has no user of its own in the fixtures) for September. Late: August
    # (due 7 September, nobody submitted it), to 瓜沥镇's and 大洋镇's editors and their counties (萧山 twice).
    assert sent == {"before": 1, "late": 5}
    assert services.remind(date(2020, 10, 7)) == {"before": 0, "late": 0}
    before = Reminder.objects.get(stage="before")
    assert before.town_id == GUALI and before.user == users["guali"] and "202009" in before.message
    # After the deadline the town and its county hear of it, once.
    sent = services.remind(date(2020, 10, 13))
    assert sent == {"before": 0, "late": 3} and services.remind(date(2020, 10, 14))["late"] == 0
    assert set(Reminder.objects.filter(stage="late", period="202009").values_list("town_id", "user__username")) == {
        (GUALI, "guali"), (GUALI, "xiaoshan"), (CHENGXIANG, "xiaoshan")}


def test_reminder_mail_goes_after_commit(users, meili, ledger, django_capture_on_commit_callbacks):
    users["guali"].email = "guali@example.org"
    users["guali"].save()
    with django_capture_on_commit_callbacks(execute=True):
        services.remind(date(2020, 10, 7))
    assert [m.to for m in mail.outbox] == [["guali@example.org"]] * 2  # one message per address and reminder
    assert {"202009" in m.subject for m in mail.outbox} == {True, False}  # September before, August late


def test_year_figures_for_assessments(users, meili, ledger):
    submit(users, "guali", GUALI, meili, "202003", datetime(2020, 4, 3, 9))
    submit(users, "guali", GUALI, meili, "202004", datetime(2020, 5, 12, 9))  # due 6 May (after 劳动节): late
    got = timeliness.year_figures(meili, 2020, [GUALI, DAYANG], date(2020, 6, 1))
    # Started in March: March and April due by 1 June (May's deadline is 5 June).
    assert got[GUALI] == {"missing": 0, "late": 1, "on_time_rate": 50.0}
    assert got[DAYANG] == {"missing": 2, "late": 0, "on_time_rate": 0.0}


def test_rollups_header_shows_deadline_and_what_is_approved(users, meili, ledger, client_for):
    submit(users, "guali", GUALI, meili)
    services.take_step(users["xiaoshan"], OrgUnit.objects.get(code=GUALI), meili, "202009", "approve")
    page = client_for("xiaoshan").get("/rollups/", {"org": "330109", "programme": "meili", "period": "202009"})
    text = page.content.decode()
    assert "tb-deadline" in text and "2020-10-09" in text
    assert "Approved: 1 of 2 towns; the rest provisional" in text


def test_exports_and_other_pages_show_the_deadline(users, meili, ledger, client_for, settings):
    settings.REPORT_DEADLINE_DAY = 5
    submit(users, "guali", GUALI, meili)
    client = client_for("xiaoshan")
    # The board's export: the deadline and the days left, on every row.
    lines = client.get("/reporting/board/330109/meili/202009/?export=csv").content.decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    assert header[3:5] == ["Deadline", "Days left"]
    days_left = (date(2020, 10, 9) - timezone.localdate()).days
    assert all(line.split(",")[3:5] == ["2020-10-09", str(days_left)] for line in lines[1:])
    # The warnings page: the cycle's deadline (9 October after 国庆), not the bare 5th of the month.
    text = client.get("/warnings/", {"org": "330109", "programme": "meili", "period": "202009"}).content.decode()
    assert "tb-deadline" in text and "202009 due 2020-10-09" in text and "by 2020-10-09" in text
    # Data entry of indicator values: a quarter's deadline by the values' rule.
    services.set_deadline_rule(users["admin"], None, 15, kind="values")
    text = client_for("guali").get(f"/org/{GUALI}/values/2020Q3/").content.decode()
    assert "tb-deadline" in text and "2020Q3 due 2020-10-15" in text


def test_reminders_ring_the_bell_when_the_governance_app_is_there(users, meili, ledger, client_for):
    from townbrain.governance.models import Notification

    services.remind(date(2020, 10, 7))
    bell = Notification.objects.filter(user=users["guali"], kind="message")
    assert bell.count() == Reminder.objects.filter(user=users["guali"]).count() == 2
    assert {n.event_id for n in bell} == {None} and all(n.url.startswith("/reporting/") for n in bell)
    page = client_for("guali").get("/notifications/").content.decode()
    assert 'id="bell-count"' in page and bell.first().url in page


def test_cockpit_panel_statuses_equal_the_full_rows(users, meili, ledger):
    """The panel reads what towns entered only for the late towns it lists: their statuses are the
    full computation's (entering when reports are in, empty when none)."""
    from townbrain.core.scope import SYSTEM

    projects.report_progress(SYSTEM, ledger[GUALI], "202009", **figures())  # 瓜沥镇 entering, not submitted
    county = OrgUnit.objects.get(code="330109")
    data = panels.build(Context(user=users["xiaoshan"], org=county, programme=meili, period="202009"))
    full = {r.town.name: r for r in timeliness.rows(users["xiaoshan"], county, meili, "202009")}
    (table,) = data.tables
    assert table.rows and {r[0] for r in table.rows} <= set(full)
    assert [r[1] for r in table.rows] == [str(full[r[0]].status_label) for r in table.rows]
    assert {full[r[0]].status for r in table.rows} == {"entering", "empty"}
    cards = {c.key: c.value for c in data.cards}
    assert cards["missing"] == timeliness.summary(list(full.values()))["missing"]


def test_who_owes_enrolled_towns_and_towns_with_projects_in_the_year(users, meili, ledger):
    """A town owes a year's reports when enrolled (and not exited) or when it has a project of the
    programme planned or started by then; rows without town objects hold the same figures."""
    from townbrain.programmes.models import Enrolment
    from townbrain.projects.models import Project

    county = OrgUnit.objects.get(code="330109")
    Enrolment.objects.filter(town_id="330109001").update(exit_year=2020)  # left, its project not due yet:
    Project.objects.filter(town_id="330109001").update(planned_start=date(2021, 3, 1), actual_start=None,
                                                       status="planned")
    assert [t.code for t in timeliness.towns_for(users["xiaoshan"], county, meili, 2020)] == ["330109113"]
    assert [t.code for t in timeliness.towns_for(users["xiaoshan"], county, meili, 2021)] == ["330109001",
                                                                                                "330109113"]
    Project.objects.filter(town_id="330109001").update(planned_start=date(2020, 3, 1))  # … unless a project is due
    assert [t.code for t in timeliness.towns_for(users["xiaoshan"], county, meili, 2020)] == ["330109001",
                                                                                                "330109113"]
    Project.objects.filter(town_id="330109001").update(status="cancelled")  # a cancelled one owes nothing
    assert [t.code for t in timeliness.towns_for(users["xiaoshan"], county, meili, 2020)] == ["330109113"]
    # Outside the user's view nothing is owed to them: 瓜沥镇's editor sees only 瓜沥镇.
    assert [t.code for t in timeliness.towns_for(users["guali"], county, meili, 2020)] == ["330109113"]

    submit(users, "guali", GUALI, meili, when=datetime(2020, 10, 12, 9))
    full = timeliness.rows(users["xiaoshan"], county, meili, "202009", entries=False)
    bare = timeliness.rows(users["xiaoshan"], county, meili, "202009", entries=False, towns=False)
    assert [r.code for r in bare] == [r.town.code for r in full] and all(r.town is None for r in bare)
    assert [(r.status, r.late_days, r.submitted_at) for r in bare] == [(r.status, r.late_days, r.submitted_at)
                                                                       for r in full]
