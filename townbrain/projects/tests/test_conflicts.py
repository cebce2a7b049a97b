"""Two people editing one project lose nothing (core/conflicts.py); parallel monthly reports into one
town keep the roll-up cells exact."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection

from townbrain.core.conflicts import Conflict
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme
from townbrain.programmes.services import enrol_town
from townbrain.projects import rollups, services
from townbrain.projects.models import Project
from townbrain.projects.tests.test_projects import make_project

GUALI = "330109113"
POSTGRES_ONLY = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="SQLite runs one writer at a time: nothing runs in parallel")


def updates(project) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="project.update", object_id=str(project.pk)).order_by("id"))


@pytest.mark.django_db
class TestAPI:
    def test_get_answers_an_etag_that_changes_with_a_save(self, tree, api_for):
        project = make_project(GUALI)
        api = api_for("guali")
        first = api.get(f"/api/projects/{project.pk}/")
        assert first.status_code == 200 and first["ETag"] == 'W/"1"'
        saved = api.patch(f"/api/projects/{project.pk}/", {"name": "新名称"}, format="json",
                          HTTP_IF_MATCH=first["ETag"])
        assert saved.status_code == 200, saved.content
        assert saved["ETag"] == 'W/"2"' == api.get(f"/api/projects/{project.pk}/")["ETag"]

    def test_a_stale_if_match_answers_412_naming_the_changed_fields_and_saves_nothing(self, tree, api_for):
        project = make_project(GUALI)
        api = api_for("guali")
        etag = api.get(f"/api/projects/{project.pk}/")["ETag"]
        first = api.patch(f"/api/projects/{project.pk}/", {"total_investment": 1500, "status": "preparing"},
                          format="json", HTTP_IF_MATCH=etag)
        assert first.status_code == 200
        second = api.patch(f"/api/projects/{project.pk}/", {"owner_unit": "镇建设办"}, format="json",
                           HTTP_IF_MATCH=etag, HTTP_ACCEPT_LANGUAGE="en")
        assert second.status_code == 412, second.content
        body = second.json()
        assert sorted(body["changed_fields"]) == ["status", "total_investment"]
        assert body["changes"]["total_investment"] == ["1000", "1500"]
        assert body["changed_by"] == "guali" and body["version"] == 2 and second["ETag"] == 'W/"2"'
        assert "total investment" in body["detail"] and "status" in body["detail"] and "guali" in body["detail"]
        project.refresh_from_db()
        assert project.owner_unit == "" and project.total_investment == Decimal("1500") and project.version == 2
        assert len(updates(project)) == 1  # the refused write left no audit row

    def test_without_if_match_the_write_goes_through_as_before(self, tree, api_for):
        project = make_project(GUALI)
        api = api_for("guali")
        api.patch(f"/api/projects/{project.pk}/", {"name": "一"}, format="json")
        response = api.patch(f"/api/projects/{project.pk}/", {"name": "二"}, format="json")
        assert response.status_code == 200 and response["ETag"] == 'W/"3"'

    def test_put_with_a_stale_if_match_and_a_star(self, tree, api_for):
        project = make_project(GUALI)
        api = api_for("guali")
        url = f"/api/projects/{project.pk}/"
        services.update_project(SYSTEM, project, name="别人改的")
        data = {k: v for k, v in api.get(url).json().items()
                if k not in ("id", "cumulative_investment", "progress_percent", "last_period", "updated", "town_name")}
        stale = api.put(url, {**data, "name": "我的"}, format="json", HTTP_IF_MATCH='"1"')
        assert stale.status_code == 412 and stale.json()["changed_fields"] == ["name"]
        assert api.put(url, {**data, "name": "我的"}, format="json", HTTP_IF_MATCH="*").status_code == 200

    def test_a_malformed_if_match_is_a_400(self, tree, api_for):
        project = make_project(GUALI)
        response = api_for("guali").patch(f"/api/projects/{project.pk}/", {"name": "x"}, format="json",
                                          HTTP_IF_MATCH="yesterday")
        assert response.status_code == 400 and "If-Match" in response.json()

    def test_the_schema_declares_412_and_if_match(self, tree, api_for):
        schema = api_for("guali").get("/api/schema/?format=json").json()
        patch = schema["paths"]["/api/projects/{id}/"]["patch"]
        assert "412" in patch["responses"]
        assert any(p["name"] == "If-Match" and p["in"] == "header" for p in patch["parameters"])


@pytest.mark.django_db
class TestService:
    def test_the_second_save_at_the_same_version_is_refused_with_what_changed(self, tree, users):
        project = make_project(GUALI)
        services.update_project(users["guali"], project, expected_version=1, annual_plan=Decimal("500"))
        with pytest.raises(Conflict) as exc:
            services.update_project(users["xiaoshan"], project, expected_version=1, name="另一个名称")
        assert exc.value.changed_fields == ["annual_plan"] and exc.value.by == "guali"
        assert exc.value.theirs() == [("annual planned investment (10k yuan)", "500")]
        project.refresh_from_db()
        assert project.name != "另一个名称" and project.annual_plan == Decimal("500")

    def test_changes_since_an_older_version_are_merged(self, tree):
        project = make_project(GUALI)
        services.update_project(SYSTEM, project, name="一")
        services.update_project(SYSTEM, project, name="二", owner_unit="镇政府")
        with pytest.raises(Conflict) as exc:
            services.update_project(SYSTEM, project, expected_version=1, annual_plan=Decimal("1"))
        assert exc.value.changes["name"][1] == "二" and exc.value.changes["owner_unit"] == ["", "镇政府"]
        with pytest.raises(Conflict) as exc:
            services.update_project(SYSTEM, project, expected_version=2, annual_plan=Decimal("1"))
        assert set(exc.value.changes) == {"name", "owner_unit"} and exc.value.changes["name"] == ["一", "二"]
        assert services.update_project(SYSTEM, project, expected_version=3, annual_plan=Decimal("1")).version == 4

    def test_a_monthly_report_does_not_move_the_version(self, tree):
        project = make_project(GUALI, status="started", actual_start=date(2020, 3, 1))
        services.report_progress(SYSTEM, project, "202005", month_investment=Decimal("10"),
                                 cumulative_investment=Decimal("10"), progress_percent=Decimal("5"), status="started")
        project.refresh_from_db()
        assert project.version == 1 and project.cumulative_investment == Decimal("10")
        assert services.update_project(SYSTEM, project, expected_version=1, name="改").version == 2

    def test_an_unchanged_save_keeps_the_version(self, tree):
        project = make_project(GUALI)
        assert services.update_project(SYSTEM, project, expected_version=1, name=project.name).version == 1


def _parallel(n, target):
    """Run target(i) in n threads, each on its own connection, started together; the exceptions they raised."""
    barrier, errors = threading.Barrier(n), []

    def run(i):
        try:
            barrier.wait(timeout=30)
            target(i)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer hung (deadlock?)"
    return errors


@POSTGRES_ONLY
@pytest.mark.usefixtures("shipped_data")  # a transactional database with the migrations' programmes
def test_two_people_saving_the_same_version_at_once_one_wins(tree, users):
    project = make_project(GUALI)
    names = ["甲的名称", "乙的名称"]

    def save(i):
        close_old_connections()
        services.update_project(users["guali" if i == 0 else "xiaoshan"], Project.objects.get(pk=project.pk),
                                expected_version=1, name=names[i])

    errors = _parallel(2, save)
    assert len(errors) == 1 and isinstance(errors[0], Conflict), errors
    assert errors[0].changed_fields == ["name"]
    project.refresh_from_db()
    assert project.version == 2 and project.name in names and len(updates(project)) == 1
    assert errors[0].changes["name"][1] == project.name  # the loser is told the winner's value


@POSTGRES_ONLY
@pytest.mark.usefixtures("shipped_data")
def test_twenty_parallel_reports_into_one_town_keep_the_rollups_exact(tree):
    meili = Programme.objects.get(code="meili")
    town = OrgUnit.objects.get(code=GUALI)
    enrol_town(SYSTEM, town, meili, year_joined=2020, role=meili.roles.get(code="yangban"))
    projects = [make_project(GUALI, status="started", actual_start=date(2020, 2, 1), planned_start=date(2020, 2, 1),
                             total_investment=Decimal("1000"), annual_plan=Decimal("800")) for _ in range(20)]

    def report(i):
        close_old_connections()
        services.report_progress(SYSTEM, Project.objects.get(pk=projects[i].pk), "202006",
                                 month_investment=Decimal(f"{10 + i}.25"), cumulative_investment=Decimal(f"{100 + i}.25"),
                                 progress_percent=Decimal(5 + i), status="started")

    assert _parallel(20, report) == []
    for code in (GUALI, "330109", "3301", "33"):
        org = OrgUnit.objects.get(code=code)
        for period in ("202005", "202006", "202007"):
            assert rollups.compute(SYSTEM, org, period, meili) == rollups.compute_from_ledger(SYSTEM, org, period, meili), \
                (code, period)
    june = rollups.compute(SYSTEM, town, "202006", meili)
    assert Decimal(june["investment_done"]) == sum(Decimal(f"{100 + i}.25") for i in range(20))
