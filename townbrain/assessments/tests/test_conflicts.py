"""Two administrators editing one scheme lose nothing: the scheme's version is the token."""

import pytest

from townbrain.assessments import services
from townbrain.core.conflicts import Conflict
from townbrain.core.scope import SYSTEM


@pytest.fixture
def scheme(db, users):
    text = (services.FIXTURES / "meili.yaml").read_text(encoding="utf-8")
    return services.import_scheme(SYSTEM, text)


def test_scheme_patch_with_a_stale_if_match_answers_412(scheme, api_for):
    api = api_for("admin")
    url = f"/api/assessment-schemes/{scheme.code}/"
    etag = api.get(url)["ETag"]
    assert etag == f'W/"{scheme.version}"'
    ok = api.patch(url, {"description": "说明"}, format="json", HTTP_IF_MATCH=etag)
    assert ok.status_code == 200 and ok["ETag"] == f'W/"{scheme.version + 1}"' and ok.json()["description"] == "说明"
    stale = api.patch(url, {"name": "另一个名称"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412 and stale.json()["changed_fields"] == ["description"]
    scheme.refresh_from_db()
    assert scheme.name != "另一个名称"
    assert api_for("guali").patch(url, {"name": "x"}, format="json").status_code == 403


def test_a_criterion_changed_meanwhile_is_named(scheme, users):
    criterion = scheme.criteria.first()
    services.update_criterion(users["admin"], criterion, expected_version=scheme.version, weight=2)
    with pytest.raises(Conflict) as exc:
        services.update_scheme(users["admin"], scheme, expected_version=scheme.version, name="新名称")
    assert exc.value.changed_fields == [f"{criterion}: weight"]


def test_criterion_page_shows_the_conflict(scheme, client_for, users):
    criterion = scheme.criteria.first()
    client = client_for("admin")
    url = f"/assessments/criteria/{criterion.pk}/edit/"
    page = client.get(url).content.decode()
    assert f'name="version" value="{scheme.version}"' in page
    services.update_scheme(users["admin"], scheme, description="别人改的说明")
    form = {"version": str(scheme.version), "name": "改名", "method": criterion.method, "points": criterion.points,
            "weight": "1", "formula": criterion.formula, "system": criterion.system}
    response = client.post(url, form, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200 and 'id="conflict"' in html and "别人改的说明" in html
    criterion.refresh_from_db()
    assert criterion.name != "改名"
