"""Personal data (docs/security.md): reporters' phones left out of exports unless the handling office asks
(audited, the phone never in the log), and removed from finished events after the retention."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from townbrain.core.models import AuditEntry
from townbrain.core.scope import SYSTEM

from .. import cli, services
from ..models import Event

pytestmark = pytest.mark.django_db
PHONE = "13812341234"


def _csv(response):
    assert response.status_code == 200, response.content
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.fixture
def client_for(client_for):
    def login(name):
        client = client_for(name)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return login


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_exports_leave_the_reporter_out_by_default(client_for, report, fmt):
    report(reporter_name="王明")
    content = client_for("xiaoshan").get("/events/", {"open": "true", "export": fmt}).content
    assert b"13812341234" not in content and "王明".encode() not in content and b"138****1234" not in content
    assert not AuditEntry.objects.filter(action="personal.export").exists()


def test_the_handling_office_asks_for_contacts_and_is_audited(client_for, report, people):
    event = report(reporter_name="王明")
    rows = _csv(client_for("xiaoshan").get("/events/", {"open": "true", "export": "csv", "personal": "1"}))
    assert [(r["No."], r["Reporter"], r["Reporter's phone"]) for r in rows] == [(str(event.pk), "王明", PHONE)]
    entry = AuditEntry.objects.get(action="personal.export")
    assert (entry.actor, entry.object_type, entry.org_code) == (people["xiaoshan"], "event", "330109")
    assert entry.changes["format"] == [None, "csv"] and "personal=1" in entry.changes["query"][1]
    assert PHONE not in json.dumps(entry.changes)
    # A viewer (no change right anywhere) may not ask.
    assert client_for("guali_viewer").get("/events/", {"export": "csv", "personal": "1"}).status_code == 403
    assert AuditEntry.objects.filter(action="personal.export").count() == 1


def _finish(event, days_ago):
    Event.objects.filter(pk=event.pk).update(status="closed", closed_at=timezone.now() - timedelta(days=days_ago))


def test_purge_blanks_phones_of_events_finished_before_the_retention(report, settings, people):
    settings.PERSONAL_DATA_RETENTION_DAYS = 30
    old, recent, still_open = report(), report(), report()
    _finish(old, 31)
    _finish(recent, 29)
    rejected = report()
    services.take_step(people["guali"], rejected, "reject", "不属于受理范围")
    Event.objects.filter(pk=rejected.pk).update(closed_at=None, updated=timezone.now() - timedelta(days=40))
    assert services.purge_due().count() == 2
    assert cli.purge_command(dry_run=True).startswith("2 events")
    assert Event.objects.filter(reporter_phone=PHONE).count() == 4  # a dry run changes nothing
    assert json.loads(cli.purge_command(as_json=True)) == {"events": 2, "days": 30, "dry_run": False}
    phones = dict(Event.objects.values_list("pk", "reporter_phone"))
    assert phones == {old.pk: "", rejected.pk: "", recent.pk: PHONE, still_open.pk: PHONE}
    rows = AuditEntry.objects.filter(action="personal.purge")
    assert sorted(rows.values_list("object_id", flat=True)) == sorted([str(old.pk), str(rejected.pk)])
    assert all(r.changes == {"reporter_phone": ["***", None]} for r in rows)
    # Idempotent; a shorter retention reaches the recent one.
    assert services.purge_reporter_contacts(SYSTEM) == 0
    assert services.purge_reporter_contacts(SYSTEM, days=0) == 1


def test_purge_is_for_system_administrators(report, people):
    with pytest.raises(PermissionDenied):
        services.purge_reporter_contacts(people["hangzhou"], dry_run=True)
