"""Division codes in URLs are read the way people write them (codes.normalize), on the API and the pages."""

import pytest

from townbrain.core.models import OrgUnit

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
GUALI = "330109113"
PADDED = "330109113000"
FULLWIDTH = "３３０１０９１１３"


@pytest.mark.parametrize("written", [PADDED, FULLWIDTH, "３３０１０９１１３０００"])
def test_api_detail_finds_the_unit_however_the_code_is_written(api_for, written):
    response = api_for("guali").get(f"/api/orgunits/{written}/")
    assert response.status_code == 200, response.content
    assert response.json()["code"] == GUALI


def test_api_patch_with_the_padded_code_edits_the_unit(api_for):
    response = api_for("guali").patch(f"/api/orgunits/{PADDED}/", {"population": 123456}, format="json")
    assert response.status_code == 200, response.content
    assert OrgUnit.objects.get(code=GUALI).population == 123456


@pytest.mark.parametrize("written, reason", [
    ("33x01", "may contain digits only"),
    ("3301091130001", "has 13 digits"),
    ("0330109113", "cannot start with 0"),
])
def test_api_malformed_code_is_404_saying_why(api_for, written, reason):
    response = api_for("admin").get(f"/api/orgunits/{written}/", **EN)
    assert response.status_code == 404
    assert reason in response.json()["detail"]


def test_api_padded_code_of_another_town_is_still_404(api_for):
    assert api_for("guali").get("/api/orgunits/330182107000/").status_code == 404
    assert api_for("guali").patch("/api/orgunits/330182107000/", {"population": 1}, format="json").status_code == 404


@pytest.mark.parametrize("suffix", ["", "edit/", "history/"])
@pytest.mark.parametrize("written", [PADDED, FULLWIDTH])
def test_pages_redirect_to_the_canonical_url(client_for, written, suffix):
    response = client_for("guali").get(f"/org/{written}/{suffix}", {"sort": "-name"})
    assert response.status_code == 302
    assert response["Location"] == f"/org/{GUALI}/{suffix}?sort=-name"


def test_page_canonical_code_is_not_redirected(client_for):
    assert client_for("guali").get(f"/org/{GUALI}/").status_code == 200


def test_page_malformed_code_is_404(client_for):
    assert client_for("admin").get("/org/33x01/").status_code == 404
    assert client_for("admin").get("/org/3301091130001/history/").status_code == 404


def test_page_padded_code_of_another_town_ends_in_404(client_for):
    response = client_for("guali").get("/org/330182107000/", follow=True)
    assert response.status_code == 404
    assert "大洋镇" not in response.content.decode()
