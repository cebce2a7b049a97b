"""Two people acting on one acceptance lose nothing: every change raises its version."""

from townbrain.acceptance import services
from townbrain.acceptance.models import Acceptance


def test_item_patch_with_a_stale_if_match_answers_412_and_saves_nothing(acceptance, api_for, users):
    api, v0 = api_for("guali"), acceptance.version
    url = f"/api/acceptances/{acceptance.pk}/"
    etag = api.get(url)["ETag"]
    first, second = list(acceptance.items.all()[:2])
    services.self_assess_item(users["guali"], first, "met", "他人的说明")
    response = api.patch(f"{url}items/{second.pk}/", {"answer": "not_met"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 412, response.content
    body = response.json()
    assert sorted(body["changed_fields"]) == [f"{first}: answer", f"{first}: note"]
    second.refresh_from_db()
    assert second.answer == ""
    fresh = api.patch(f"{url}items/{second.pk}/", {"answer": "not_met"}, format="json",
                      HTTP_IF_MATCH=response["ETag"])
    assert fresh.status_code == 200 and fresh["ETag"] != response["ETag"]
    assert Acceptance.objects.get(pk=acceptance.pk).version == v0 + 2


def test_page_post_at_an_old_version_says_what_changed(acceptance, client_for, users):
    client, v0 = client_for("guali"), acceptance.version
    url = f"/acceptance/{acceptance.pk}/"
    assert f'name="version" value="{v0}"' in client.get(url).content.decode()
    first, second = list(acceptance.items.all()[:2])
    services.self_assess_item(users["guali"], first, "met", "")
    page = client.post(url, {"op": "answer", "item": second.pk, "answer": "met", "version": v0},
                       follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "was changed by guali" in page.content.decode()
    second.refresh_from_db()
    assert second.answer == ""
