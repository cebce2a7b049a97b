"""An enrolment's history: the consequences of grades (moved to another list, left, flagged),
written by one audited service, once per kind and year, shown by the API."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes import services
from townbrain.programmes.models import EnrolmentEvent, Programme, roles_in_year


@pytest.fixture
def tese_enrolment(tree):
    tese = Programme.objects.get(code="tese")
    return services.enrol_town(SYSTEM, OrgUnit.objects.get(code="330109113"), tese, year_joined=2016,
                               role=tese.roles.get(code="chuangjian"))


def test_role_move_is_audited_and_happens_once(tese_enrolment):
    peiyu = tese_enrolment.programme.roles.get(code="peiyu")
    event = services.record_event(SYSTEM, tese_enrolment, kind="role", year=2021, role=peiyu,
                                  reason="2020 年度考核降格", source="run #1")
    tese_enrolment.refresh_from_db()
    assert tese_enrolment.role == peiyu
    assert (event.role_before.code, event.role_after.code, event.town_id) == ("chuangjian", "peiyu", "330109113")
    entry = AuditEntry.objects.get(action="enrolment.event")
    assert entry.org_code == "330109113" and "role" in entry.changes
    assert services.record_event(SYSTEM, tese_enrolment, kind="role", year=2021, role=peiyu, reason="again") is None
    assert EnrolmentEvent.objects.count() == 1 and AuditEntry.objects.filter(action="enrolment.event").count() == 1
    # the role the town had in each year
    assert roles_in_year(tese_enrolment.programme, 2020) == {"330109113": "chuangjian"}
    assert roles_in_year(tese_enrolment.programme, 2021) == {}


def test_exit_and_flag(tese_enrolment):
    services.record_event(SYSTEM, tese_enrolment, kind="exit", year=2021, reason="淘汰")
    services.record_event(SYSTEM, tese_enrolment, kind="flag", year=2020, reason="两次警告")
    tese_enrolment.refresh_from_db()
    assert (tese_enrolment.exit_year, tese_enrolment.flagged_year, tese_enrolment.flag_reason) == (2020, 2020, "两次警告")
    with pytest.raises(ValidationError):  # cannot leave before the year after joining
        services.record_event(SYSTEM, tese_enrolment, kind="exit", year=2016, reason="x")


def test_wrong_role_or_kind_is_refused(tese_enrolment):
    meili_role = Programme.objects.get(code="meili").roles.first()
    with pytest.raises(ValidationError):
        services.record_event(SYSTEM, tese_enrolment, kind="role", year=2021, role=meili_role, reason="x")
    with pytest.raises(ValidationError):
        services.record_event(SYSTEM, tese_enrolment, kind="upgrade", year=2021, reason="x")
    assert not EnrolmentEvent.objects.exists()


def test_only_who_may_change_the_town(tese_enrolment, users):
    with pytest.raises(PermissionDenied):
        services.record_event(users["dayang"], tese_enrolment, kind="flag", year=2020, reason="x")
    services.record_event(users["guali"], tese_enrolment, kind="flag", year=2020, reason="两次警告")
    assert EnrolmentEvent.objects.count() == 1


def test_api_shows_flag_and_history(tese_enrolment, api_for):
    services.record_event(SYSTEM, tese_enrolment, kind="flag", year=2020, reason="两次警告", source="run #3")
    data = api_for("guali").get(reverse("api:enrolment-detail", args=[tese_enrolment.pk])).json()
    assert data["flagged_year"] == 2020 and data["flag_reason"] == "两次警告"
    assert data["history"] == [{"year": 2020, "kind": "flag", "kind_display": data["history"][0]["kind_display"],
                                "role_before": None, "role_after": None, "reason": "两次警告", "source": "run #3"}]
    # read-only: a PATCH cannot set the flag
    api_for("guali").patch(reverse("api:enrolment-detail", args=[tese_enrolment.pk]), {"flagged_year": 2030},
                           format="json")
    tese_enrolment.refresh_from_db()
    assert tese_enrolment.flagged_year == 2020
