"""Org units and the audit log through the generic cases."""

from townbrain.core import audit
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.testing.cases import APITests, ViewTests


class TestOrgUnitAPI(APITests):
    basename = "orgunit"
    lookup = "code"
    supported = {"update"}
    update_data = {"population": 123456}

    def make(self, town_code):
        return OrgUnit.objects.get(code=town_code)


class TestOrgUnitViews(ViewTests):
    list_url_name = "orgunit-list"
    detail_url_name = "orgunit-detail"
    lookup = "code"
    text_of = staticmethod(lambda unit: unit.name)

    def make(self, town_code):
        return OrgUnit.objects.get(code=town_code)


def _audit_row(town_code):
    unit = OrgUnit.objects.get(code=town_code)
    return audit.record(SYSTEM, "orgunit.update", unit, {"notes": ""}, {"notes": f"note {town_code}"},
                        org_code=town_code)


class TestAuditAPI(APITests):
    basename = "audit"
    supported = set()  # read-only by design: rows can never be created, edited or deleted via the API

    def make(self, town_code):
        return _audit_row(town_code)


class TestAuditViews(ViewTests):
    list_url_name = "audit-list"
    detail_url_name = "orgunit-history"
    text_of = staticmethod(lambda entry: entry.changes["notes"][1])

    def make(self, town_code):
        return _audit_row(town_code)

    def test_detail_other_404(self, client_for):
        # The audit log has no page per row; its per-object page is the org unit's history.
        own, other = self.make("330109113"), self.make("330182107")
        client = client_for("guali")
        assert "note 330109113" in client.get(f"/org/{own.object_id}/history/").content.decode()
        assert client.get(f"/org/{other.object_id}/history/").status_code == 404


def test_audit_row_immutable(db, tree):
    entry = _audit_row("330109113")
    import pytest

    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
