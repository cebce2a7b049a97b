"""Pages: the list (counts by stage, exports), the detail page with its forms, opening acceptances."""

import io

from django.urls import reverse

from townbrain.core.models import AuditEntry

from .. import services
from ..models import Acceptance, ChecklistItem, Evidence, Stage
from .conftest import answer_all, image_bytes


def test_list_is_scoped_with_counts_by_stage(acceptance, other_acceptance, users, client_for):
    answer_all(users["guali"], acceptance)
    services.submit(users["guali"], acceptance)
    page = client_for("hangzhou").get(reverse("acceptance-list"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "瓜沥镇" in text and "大洋镇" in text
    counts = {s["stage"]: s["count"] for s in page.context["stage_counts"]}
    assert counts["town"] == 1 and counts["county"] == 1 and counts["signed"] == 0
    filtered = client_for("hangzhou").get(reverse("acceptance-list"), {"stage": "county"})
    assert "大洋镇" not in "".join(str(c["value"]) for row in filtered.context["rows"] for c in row)
    assert {s["stage"]: s["count"] for s in filtered.context["stage_counts"]}["town"] == 1  # counts ignore stage
    own = client_for("guali").get(reverse("acceptance-list")).content.decode()
    assert "瓜沥镇" in own and "大洋镇" not in own


def test_exports_are_scoped(acceptance, other_acceptance, client_for):
    csv = client_for("guali").get(reverse("acceptance-list"), {"export": "csv"})
    text = csv.content.decode("utf-8-sig")
    assert csv.content.startswith(b"\xef\xbb\xbf") and "330109113" in text and "330182107" not in text
    xlsx = client_for("jiande").get(reverse("acceptance-list"), {"export": "xlsx"})
    from openpyxl import load_workbook

    cells = [c.value for row in load_workbook(io.BytesIO(xlsx.content)).active.iter_rows() for c in row]
    assert "330182107" in cells and "330109113" not in cells


def test_detail_page_for_the_town(acceptance, client_for):
    page = client_for("guali").get(reverse("acceptance-detail", args=[acceptance.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "十个一" in text and "快速交通通道" in text and 'name="op" value="answer"' in text
    assert 'value="submit"' in text and "frozen-banner" not in text
    assert client_for("dayang").get(reverse("acceptance-detail", args=[acceptance.pk])).status_code == 404
    county = client_for("xiaoshan").get(reverse("acceptance-detail", args=[acceptance.pk])).content.decode()
    assert 'value="answer"' not in county and 'value="approve"' not in county  # not the county's turn yet


def test_page_chain_with_answers_evidence_and_return(acceptance, users, client, settings):
    client.force_login(users["guali"])
    page = reverse("acceptance-detail", args=[acceptance.pk])
    for item in acceptance.items.all():
        assert client.post(page, {"op": "answer", "item": item.pk, "answer": "met", "note": ""}).status_code == 302
    assert not acceptance.items.filter(answer="").exists()
    from django.core.files.uploadedfile import SimpleUploadedFile

    item = acceptance.items.first()
    client.post(page, {"op": "evidence", "item": item.pk, "file": SimpleUploadedFile("p.png", image_bytes())})
    evidence = Evidence.objects.get()
    shown = client.get(page).content.decode()
    assert reverse("acceptance-evidence", args=[evidence.pk]) in shown and "<img" in shown
    refused = client.post(page, {"op": "evidence", "file": SimpleUploadedFile("x.svg", b"<svg></svg>")}, follow=True)
    assert "SVG" in refused.content.decode() and Evidence.objects.count() == 1
    client.post(page, {"op": "submit", "comment": "请审核"})
    assert Acceptance.objects.get(pk=acceptance.pk).stage == Stage.COUNTY
    assert client.post(page, {"op": "submit"}).status_code == 403  # no longer the town's turn

    client.force_login(users["xiaoshan"])
    response = client.post(page, {"op": "return", "comment": ""}, follow=True)
    assert "退回时须填写备注" in response.content.decode()
    assert Acceptance.objects.get(pk=acceptance.pk).stage == Stage.COUNTY
    client.post(page, {"op": "return", "comment": "补充运行台账"})
    assert Acceptance.objects.get(pk=acceptance.pk).stage == Stage.RETURNED
    timeline = client.get(page).content.decode()
    assert "补充运行台账" in timeline and "退回整改" in timeline


def test_page_sign_off_freezes(acceptance, users, client):
    answer_all(users["guali"], acceptance)
    services.submit(users["guali"], acceptance)
    services.approve(users["xiaoshan"], acceptance)
    services.approve(users["hangzhou"], acceptance)
    client.force_login(users["zhejiang"])
    page = reverse("acceptance-detail", args=[acceptance.pk])
    assert 'value="sign_off"' in client.get(page).content.decode()
    client.post(page, {"op": "sign_off", "outcome": "基本达标", "comment": "通过"})
    acceptance.refresh_from_db()
    assert acceptance.frozen and acceptance.outcome == "基本达标"
    text = client.get(page).content.decode()
    assert "frozen-banner" in text and 'value="answer"' not in text
    client.force_login(users["admin"])
    rows = AuditEntry.objects.count()
    response = client.post(page, {"op": "answer", "item": acceptance.items.first().pk, "answer": "not_met"},
                           follow=True)
    assert "已签发并锁定，不能再修改" in response.content.decode() and AuditEntry.objects.count() == rows
    assert ChecklistItem.objects.filter(answer="not_met").count() == 0


def test_open_form(enrolled, client_for):
    client = client_for("hangzhou")
    form = reverse("acceptance-open")
    assert client.get(form).status_code == 200
    response = client.post(form, {"programme": "meili", "year": 2022, "area": "330182"})
    assert response.status_code == 302
    assert sorted(Acceptance.objects.values_list("town_id", flat=True)) == ["330182100", "330182107"]
    refused = client_for("guali").post(form, {"programme": "meili", "year": 2022, "area": "330182"})
    assert refused.status_code == 403 and Acceptance.objects.count() == 2
    bad = client.post(form, {"programme": "meili", "year": 2022, "area": "99x"})
    assert bad.status_code == 200 and bad.context["form"].errors["area"]


def test_navigation_links_the_list(users, client_for):
    page = client_for("guali").get(reverse("home"), follow=True).content.decode()
    assert f'href="{reverse("acceptance-list")}"' in page


def test_audit_log_and_history_pages_show_the_trail(acceptance, users, client_for):
    from .conftest import upload

    answer_all(users["guali"], acceptance)
    services.add_evidence(users["guali"], acceptance, upload(image_bytes(), "a.png"))
    services.refresh_values(users["guali"], acceptance)
    services.submit(users["guali"], acceptance, "请审核")
    services.return_for_correction(users["xiaoshan"], acceptance, "补充")
    client = client_for("guali")
    audit = client.get(reverse("audit-list"))
    assert audit.status_code == 200 and "退回验收整改" in audit.content.decode()  # the action, by its label
    history = client.get(reverse("object-history", args=["acceptance", acceptance.pk]))
    assert history.status_code == 200 and "补充" in history.content.decode()
    assert client_for("jiande").get(reverse("object-history", args=["acceptance", acceptance.pk])).status_code == 404
