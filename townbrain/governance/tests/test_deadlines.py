"""Deadlines on the official calendar (国庆 2020 with its 调休), hours for urgent categories, 延期, escalation.

The 2020 National Day holiday (国庆节 + 中秋节) ran Thursday 1 – Thursday 8 October; the working
weekend days swapped for it were Sunday 27 September and Saturday 10 October (State Council notice
国办发明电〔2019〕16号). Every expected date below was counted by hand on that calendar.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command

from townbrain.core.models import AuditEntry

from .. import deadlines, services
from ..models import Event, Notification, Step

SH = ZoneInfo("Asia/Shanghai")


def at(*args):
    return datetime(*args, tzinfo=SH)


def test_working_days_across_national_day_2020():
    assert deadlines.is_workday(date(2020, 9, 27))  # Sunday, 调休 working day
    assert deadlines.is_workday(date(2020, 10, 10))  # Saturday, 调休 working day
    assert not deadlines.is_workday(date(2020, 10, 5))  # Monday in the holiday
    # Dispatched Wed 30 Sep, 3 working days: Fri 9 Oct (1), Sat 10 Oct (2, 调休), Mon 12 Oct (3).
    assert deadlines.due(at(2020, 9, 30, 16, 0), days=3) == at(2020, 10, 12, 23, 59, 59)
    # Dispatched Sat 26 Sep (a rest day), 1 working day: Sunday 27 Sep is worked.
    assert deadlines.due(at(2020, 9, 26, 10, 0), days=1) == at(2020, 9, 27, 23, 59, 59)
    # 5 working days from Fri 25 Sep: Sun 27, Mon 28, Tue 29, Wed 30, then Fri 9 Oct.
    assert deadlines.due(at(2020, 9, 25, 9, 0), days=5) == at(2020, 10, 9, 23, 59, 59)
    # Without the 调休 Saturday it would have been Mon 12 Oct: the package's calendar is really used.
    assert deadlines.workdays_between(date(2020, 9, 30), date(2020, 10, 12)) == 3


def test_hours_are_clock_hours_even_on_holidays():
    assert deadlines.due(at(2020, 10, 1, 9, 30), hours=24) == at(2020, 10, 2, 9, 30)


def test_a_deadline_after_utc_midnight_uses_the_local_day():
    # 01:00 on 30 Sep in Shanghai is still 29 Sep in UTC; the start day is the local one.
    start = datetime(2020, 9, 29, 17, 0, tzinfo=ZoneInfo("UTC"))
    assert deadlines.due(start, days=1) == at(2020, 10, 9, 23, 59, 59)


@pytest.mark.django_db
def test_the_clock_starts_at_dispatch_and_extension_moves_it(report, people):
    actor = people["guali"]
    event = report(at=at(2020, 9, 20, 10, 0))
    services.take_step(actor, event, "accept", "收到", at=at(2020, 9, 28, 9, 0))
    assert event.deadline is None  # accepting does not start the clock
    services.take_step(actor, event, "dispatch", "派城管", at=at(2020, 9, 30, 16, 0))
    assert event.deadline == at(2020, 10, 12, 23, 59, 59)  # 占道经营: 3 working days
    services.take_step(actor, event, "extend", "需协调", days=2, at=at(2020, 10, 12, 9, 0))
    assert event.deadline == at(2020, 10, 12, 23, 59, 59) and event.extension_pending  # asked, not yet granted
    # Approved above (the county) after the old deadline: moved on from it, Tue 13 (1), Wed 14 (2).
    services.take_step(people["xiaoshan"], event, "approve", "同意", at=at(2020, 10, 13, 9, 0))
    assert event.deadline == at(2020, 10, 14, 23, 59, 59) and not event.extension_pending
    step = Step.objects.get(event=event, step="extend")
    assert step.detail["days"] == 2
    with pytest.raises(services.ValidationError):  # after the deadline no extension
        services.take_step(actor, event, "extend", "太晚", days=1, at=at(2020, 10, 15, 9, 0))


@pytest.mark.django_db
def test_urgent_category_counts_hours(report, people, urgent):
    actor = people["guali"]
    event = report(cat=urgent, description="河道有污水直排")
    services.take_step(actor, event, "accept", "", at=at(2020, 10, 1, 8, 0))
    services.take_step(actor, event, "dispatch", "", at=at(2020, 10, 1, 8, 30))
    assert event.deadline == at(2020, 10, 2, 8, 30)


@pytest.mark.django_db
def test_closing_late_is_flagged(report, people):
    actor = people["guali"]
    event = report(at=at(2020, 9, 29, 10, 0))
    for step, when in [("accept", at(2020, 9, 29, 11)), ("dispatch", at(2020, 9, 30, 16)),
                       ("handle", at(2020, 10, 13, 9)), ("feedback", at(2020, 10, 13, 10)),
                       ("verify", at(2020, 10, 13, 11)), ("close", at(2020, 10, 13, 12))]:
        services.take_step(actor, event, step, "", at=when)
    assert event.closed_on_time is False and event.is_overdue()


@pytest.mark.django_db
def test_escalation_reminds_then_supervises_once(report, people, settings, django_capture_on_commit_callbacks):
    settings.TOWNBRAIN_EVENTS_SUPERVISE_AFTER = 3
    actor = people["guali"]
    event = report(at=at(2020, 9, 29, 10, 0))
    services.take_step(actor, event, "accept", "", at=at(2020, 9, 29, 11))
    services.take_step(actor, event, "dispatch", "", at=at(2020, 9, 30, 16))  # due Mon 12 Oct 23:59:59
    Notification.objects.all().delete()
    mail.outbox.clear()
    assert services.escalate(now=at(2020, 10, 12, 22, 0)) == {"reminded": 0, "supervised": 0}
    # Just past midnight it is overdue, but the 催办 goes "the day after": 13 Oct counts.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.escalate(now=at(2020, 10, 13, 8, 0)) == {"reminded": 1, "supervised": 0}
    reminded = set(Notification.objects.filter(kind="remind").values_list("user__username", flat=True))
    assert reminded == {"guali", "guali_office"}  # the town's office (editors and office admins of 瓜沥镇)
    assert services.escalate(now=at(2020, 10, 13, 9, 0)) == {"reminded": 0, "supervised": 0}  # idempotent
    # 督办 after 3 working days past the deadline: 13, 14, 15 Oct → on Thu 15 Oct, to 萧山区's office.
    assert services.escalate(now=at(2020, 10, 14, 9, 0)) == {"reminded": 0, "supervised": 0}
    with django_capture_on_commit_callbacks(execute=True):
        assert services.escalate(now=at(2020, 10, 15, 9, 0)) == {"reminded": 0, "supervised": 1}
    supervised = set(Notification.objects.filter(kind="supervise").values_list("user__username", flat=True))
    assert supervised == {"xiaoshan", "xiaoshan_office"}
    assert services.escalate(now=at(2020, 10, 16, 9, 0)) == {"reminded": 0, "supervised": 0}
    assert [s.step for s in Step.objects.filter(event=event)][-2:] == ["remind", "supervise"]
    assert AuditEntry.objects.filter(action="event.supervise", org_code="330109113").count() == 1
    # E-mail through Django's backend to those with an address.
    recipients = sorted(r for m in mail.outbox for r in m.to)
    assert recipients == ["office@guali.example", "office@xiaoshan.example"]
    assert Event.objects.get(pk=event.pk).supervised_at is not None


@pytest.mark.django_db
def test_escalate_management_command_is_idempotent(report, people, capsys):
    actor = people["guali"]
    event = report()
    services.take_step(actor, event, "accept", "", at=at(2020, 9, 29, 11))
    services.take_step(actor, event, "dispatch", "", at=at(2020, 9, 30, 16))
    call_command("escalate_events", "--json")
    first = capsys.readouterr().out
    call_command("escalate_events", "--json")
    second = capsys.readouterr().out
    assert first.strip() == '{"reminded": 1, "supervised": 1}'
    assert second.strip() == '{"reminded": 0, "supervised": 0}'
    assert AuditEntry.objects.get(action="event.remind").source == "cli"


@pytest.mark.django_db
def test_bell_counts_unread_and_marks_read(report, people, client):
    actor = people["guali"]
    event = report()
    services.take_step(actor, event, "accept", "")
    services.take_step(actor, event, "dispatch", "", to="guali")
    client.force_login(people["guali"])
    page = client.get("/notifications/")
    assert page.status_code == 200
    assert 'id="bell-count">1<' in page.content.decode()
    client.post("/notifications/")
    assert 'id="bell-count"' not in client.get("/notifications/").content.decode()
