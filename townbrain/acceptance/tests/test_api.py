"""API: /api/acceptances/ scoped by town, create, item PATCH, the chain's actions, evidence, frozen."""

import pytest
from django.urls import reverse

from townbrain.core.models import AuditEntry

from ..models import Acceptance, ChecklistItem, Evidence, Stage
from .conftest import PDF, files_under, image_bytes


def url(name, *args):
    return reverse(f"api:acceptance-{name}", args=args)


def test_anonymous_401(acceptance, client):
    assert client.get(url("list")).status_code == 401
    assert client.post(url("submit", acceptance.pk)).status_code == 401


def test_list_scoped_and_filtered(acceptance, other_acceptance, api_for):
    towns = [r["town"] for r in api_for("guali").get(url("list")).json()["results"]]
    assert towns == ["330109113"]
    towns = {r["town"] for r in api_for("hangzhou").get(url("list")).json()["results"]}
    assert towns == {"330109113", "330182107"}
    assert api_for("jiande").get(url("list")).json()["count"] == 1
    data = api_for("hangzhou").get(url("list"), {"under": "330182", "year": 2022, "programme": "meili",
                                                 "stage": "town"}).json()
    assert [r["town"] for r in data["results"]] == ["330182107"]
    assert api_for("hangzhou").get(url("list"), {"stage": "signed"}).json()["count"] == 0
    assert api_for("guali").get(url("detail", other_acceptance.pk)).status_code == 404


def test_detail_has_items_evidence_steps_and_actions(acceptance, api_for):
    data = api_for("guali").get(url("detail", acceptance.pk)).json()
    assert data["stage"] == "town" and data["outcomes"] == ["样板", "基本达标", "不达标"]
    assert data["actions"] == ["answer", "evidence", "refresh", "submit"]
    assert len(data["items"]) == acceptance.items.count() and data["evidence"] == [] and data["steps"] == []
    assert {"code", "label", "group", "value", "value_met", "answer", "verdict"} <= set(data["items"][0])
    assert api_for("xiaoshan").get(url("detail", acceptance.pk)).json()["actions"] == []


def test_create_one_town_and_an_area(enrolled, api_for):
    response = api_for("guali").post(url("list"), {"programme": "meili", "year": 2022, "town": "330109113"},
                                     format="json")
    assert response.status_code == 201, response.content
    assert response.json()["town"] == "330109113" and len(response.json()["items"]) > 10
    refused = api_for("guali").post(url("list"), {"programme": "meili", "year": 2022, "town": "330182107"},
                                    format="json")
    assert refused.status_code == 403
    again = api_for("guali").post(url("list"), {"programme": "meili", "year": 2022, "town": "330109113"},
                                  format="json")
    assert again.status_code == 400 and "已有美丽城镇 2022 年度的验收" in str(again.json())
    area = api_for("hangzhou").post(url("list"), {"programme": "meili", "year": 2022, "area": "3301"}, format="json")
    assert area.status_code == 201 and area.json()["existing"] == 1
    assert sorted(r["town"] for r in area.json()["opened"]) == ["330109001", "330182100", "330182107"]
    assert api_for("xiaoshan").post(url("list"), {"programme": "meili", "year": 2022, "area": "3301"},
                                    format="json").status_code == 403
    assert Acceptance.objects.count() == 4


def test_item_patch_and_the_chain(acceptance, api_for):
    guali = api_for("guali")
    items = list(acceptance.items.all())
    for item in items:
        r = guali.patch(url("item", acceptance.pk, item.pk), {"answer": "met", "note": "好"}, format="json")
        assert r.status_code == 200, r.content
    assert r.json()["answer"] == "met" and r.json()["note"] == "好"
    bad = guali.patch(url("item", acceptance.pk, items[0].pk), {"answer": "maybe"}, format="json")
    assert bad.status_code == 400
    assert api_for("xiaoshan").post(url("submit", acceptance.pk), {}, format="json").status_code == 403
    r = guali.post(url("submit", acceptance.pk), {"comment": "自评完成"}, format="json")
    assert r.status_code == 200 and r.json()["stage"] == "county"
    county = api_for("xiaoshan")
    verdict = county.patch(url("item", acceptance.pk, items[0].pk), {"verdict": "agree", "verdict_note": "属实"},
                           format="json")
    assert verdict.status_code == 200 and verdict.json()["verdict_stage"] == "county"
    no_comment = county.post(url("return", acceptance.pk), {"comment": ""}, format="json")
    assert no_comment.status_code == 400 and "comment" in no_comment.json()
    assert county.post(url("approve", acceptance.pk), {}, format="json").json()["stage"] == "city"
    assert api_for("hangzhou").post(url("approve", acceptance.pk), {}, format="json").json()["stage"] == "province"
    wrong = api_for("zhejiang").post(url("sign-off", acceptance.pk), {"outcome": "优秀"}, format="json")
    assert wrong.status_code == 400 and "outcome" in wrong.json()
    signed = api_for("zhejiang").post(url("sign-off", acceptance.pk), {"outcome": "样板", "comment": "通过"},
                                      format="json").json()
    assert signed["stage"] == "signed" and signed["frozen"] and signed["outcome"] == "样板"
    assert [s["action"] for s in signed["steps"]] == ["submit", "approve", "approve", "sign_off"]
    assert signed["steps"][-1]["actor_name"] == "zhejiang" and signed["steps"][-1]["comment"] == "通过"


def test_frozen_refuses_every_change_through_the_api(acceptance, api_for, settings):
    Acceptance.objects.filter(pk=acceptance.pk).update(stage=Stage.SIGNED, frozen=True, outcome="样板")
    admin = api_for("admin")
    item = acceptance.items.first()
    rows = AuditEntry.objects.count()
    attempts = [
        admin.patch(url("item", acceptance.pk, item.pk), {"answer": "not_met"}, format="json"),
        admin.post(url("submit", acceptance.pk), {}, format="json"),
        admin.post(url("approve", acceptance.pk), {}, format="json"),
        admin.post(url("return", acceptance.pk), {"comment": "x"}, format="json"),
        admin.post(url("sign-off", acceptance.pk), {"outcome": "不达标"}, format="json"),
        admin.post(url("refresh", acceptance.pk)),
        admin.post(url("evidence", acceptance.pk), {"file": _file(PDF, "a.pdf")}, format="multipart"),
    ]
    for response in attempts:
        assert response.status_code == 400, response.content
        assert "已签发并锁定" in str(response.json())  # the default language is Chinese
    assert AuditEntry.objects.count() == rows and files_under(settings.MEDIA_ROOT) == []
    assert ChecklistItem.objects.get(pk=item.pk).answer == ""


def _file(data, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_evidence_upload_list_download_delete(acceptance, api_for, settings):
    guali = api_for("guali")
    item = acceptance.items.first()
    r = guali.post(url("evidence", acceptance.pk), {"file": _file(image_bytes("JPEG"), "现场.jpg"), "item": item.pk},
                   format="multipart")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["content_type"] == "image/jpeg" and body["item"] == item.pk and body["original_name"] == "现场.jpg"
    listed = guali.get(url("evidence", acceptance.pk)).json()
    assert [e["id"] for e in listed] == [body["id"]]
    download = guali.get(body["url"])
    assert download.status_code == 200 and download["X-Content-Type-Options"] == "nosniff"
    bad = guali.post(url("evidence", acceptance.pk), {"file": _file(b"<html><script>x</script></html>", "a.jpg")},
                     format="multipart")
    assert bad.status_code == 400 and "HTML" in str(bad.json()["file"])
    assert api_for("xiaoshan").post(url("evidence", acceptance.pk), {"file": _file(PDF, "a.pdf")},
                                    format="multipart").status_code == 403
    assert len(files_under(settings.MEDIA_ROOT)) == 1
    assert api_for("dayang").get(body["url"]).status_code == 404
    assert api_for("dayang").delete(body["url"]).status_code == 404
    assert guali.delete(body["url"]).status_code == 204
    assert not Evidence.objects.exists()


def test_get_on_actions_shows_the_acceptance(acceptance, api_for):
    for name in ("submit", "approve", "return", "sign-off", "refresh"):
        response = api_for("guali").get(url(name, acceptance.pk))
        assert response.status_code == 200 and response.json()["id"] == acceptance.pk


@pytest.mark.django_db
def test_openapi_schema_documents_the_actions(client):
    schema = client.get(reverse("api:schema"), {"format": "json"}).json()
    paths = schema["paths"]
    for path in ("/api/acceptances/", "/api/acceptances/{id}/submit/", "/api/acceptances/{id}/sign-off/",
                 "/api/acceptances/{id}/items/{item_pk}/", "/api/acceptances/{id}/evidence/",
                 "/api/acceptances/{id}/evidence/{evidence_pk}/"):
        assert path in paths, sorted(p for p in paths if "accept" in p)
    assert "multipart/form-data" in paths["/api/acceptances/{id}/evidence/"]["post"]["requestBody"]["content"]
