"""Deadlines as data: day N of the following month, moved past holidays by the official calendar (调休)."""

from datetime import date

import pytest

from townbrain.core import workdays
from townbrain.core.scope import SYSTEM
from townbrain.reporting import services
from townbrain.reporting.deadlines import Deadlines, by_rule, deadline_for, working_days_late
from townbrain.reporting.models import Kind

pytestmark = pytest.mark.django_db


def test_national_day_2020_moves_the_september_deadline(settings, meili):
    settings.REPORT_DEADLINE_DAY = 5
    # 5 October 2020 is inside the 国庆 holiday (1–8 October): the next working day is Friday the 9th.
    assert deadline_for(meili, "202009") == date(2020, 10, 9)
    # Saturday 10 October is a 调休 working day: a deadline on the 10th stays there ...
    assert by_rule(10, "202009") == date(2020, 10, 10)
    # ... and one on Sunday the 11th moves to Monday the 12th.
    assert by_rule(11, "202009") == date(2020, 10, 12)
    # An ordinary month: 5 November 2020 is a Thursday.
    assert deadline_for(meili, "202010") == date(2020, 11, 5)
    # December's reports are due in January of the next year (5 January 2021, a Tuesday).
    assert deadline_for(meili, "202012") == date(2021, 1, 5)


def test_late_days_count_working_days_only():
    # Due 9 October, in on Monday the 12th: Saturday the 10th (调休) and Monday count, Sunday does not.
    assert working_days_late(date(2020, 10, 9), date(2020, 10, 12)) == 2
    assert working_days_late(date(2020, 10, 9), date(2020, 10, 9)) == 0
    assert working_days_late(date(2020, 10, 9), date(2020, 9, 30)) == 0
    assert workdays.is_workday(date(2020, 9, 27))  # Sunday before the holiday, 调休


def test_rules_per_programme_and_kind_and_overrides(settings, meili, users):
    settings.REPORT_DEADLINE_DAY = 5
    services.set_deadline_rule(users["admin"], None, 8)  # every programme
    assert deadline_for(meili, "202011") == date(2020, 12, 8)
    services.set_deadline_rule(users["admin"], meili, 3)
    assert deadline_for(meili, "202011") == date(2020, 12, 3)
    # Indicator values have their own rule (none yet: the every-programme default of the setting).
    assert Deadlines().due(meili.pk, "2020Q3", Kind.VALUES) == date(2020, 10, 9)
    # One period brought forward by the province.
    services.set_deadline_override(users["admin"], meili, "202011", date(2020, 11, 30), "省系统提前关闭")
    assert deadline_for(meili, "202011") == date(2020, 11, 30)
    assert deadline_for(meili, "202010") == date(2020, 11, 3)


def test_only_system_administrators_set_deadlines(meili, users):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.set_deadline_rule(users["hangzhou"], meili, 3)
    services.set_deadline_rule(SYSTEM, meili, 3)
