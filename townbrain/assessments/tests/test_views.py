"""Pages: schemes (import, copy, edit a criterion), runs (start, freeze, what-if, compare), results with why."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from townbrain.assessments import services
from townbrain.assessments.models import Criterion, Result, Run, Scheme
from townbrain.core.scope import SYSTEM


@pytest.fixture
def client_for(client_for, settings):
    """The project's client_for, reading pages in English (the source strings)."""

    def login(name):
        client = client_for(name)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client
    return login


@pytest.fixture
def meili_scheme(enrolled, values):
    values("sewage_treatment_rate", {"330109113": 96, "330109001": 90, "330182107": 75}, aggregation="average")
    return services.load_fixture_schemes(SYSTEM)[0]


def test_scheme_pages(meili_scheme, client_for):
    client = client_for("guali")
    page = client.get(reverse("assessment-scheme-list"))
    assert page.status_code == 200 and "美丽城镇建设评价办法" in page.content.decode()
    assert "Import a scheme" not in page.content.decode() and "导入" not in page.content.decode()
    detail = client.get(reverse("assessment-scheme-detail", args=[meili_scheme.code])).content.decode()
    assert "城镇生活污水处理率" in detail and "功能便民环境美" in detail and "一票否决" in detail
    exported = client.get(reverse("assessment-scheme-detail", args=[meili_scheme.code]), {"export": "yaml"})
    assert exported["Content-Type"].startswith("application/yaml")
    assert b"code: meili-pingjia" in exported.content
    assert client.get(reverse("assessment-scheme-copy", args=[meili_scheme.code])).status_code == 403
    criterion = meili_scheme.criteria.get(code="sewage")
    assert client.get(reverse("assessment-criterion-edit", args=[criterion.pk])).status_code == 403


def test_admin_edits_a_criterion(meili_scheme, client_for):
    client = client_for("admin")
    criterion = meili_scheme.criteria.get(code="sewage")
    url = reverse("assessment-criterion-edit", args=[criterion.pk])
    form = client.get(url)
    assert form.status_code == 200 and "95 - 6" in form.content.decode()
    response = client.post(url, {"name": "污水处理率", "formula": "#{sewage_treatment_rate}", "method": "bands",
                                 "points": "6", "weight": "2", "bands": "90 - 6\n70 90 3", "binding": "on",
                                 "veto": "基本达标", "pass_points": "3"})
    assert response.status_code == 302, response.content.decode()[:2000]
    criterion = Criterion.objects.get(pk=criterion.pk)
    assert criterion.weight == 2 and criterion.veto == "基本达标"
    assert criterion.params == {"bands": [{"min": 90, "max": None, "points": 6}, {"min": 70, "max": 90, "points": 3}],
                                "pass_points": 3}
    bad = client.post(url, {"name": "x", "formula": "#{sewage_treatment_rate}", "method": "bands", "points": "6",
                            "weight": "1", "bands": "90 6"})
    assert bad.status_code == 200 and "min max points" in bad.content.decode()
    worse = client.post(url, {"name": "x", "formula": "#{nowhere}", "method": "pass_fail", "points": "6",
                              "weight": "1"})
    assert worse.status_code == 200 and "nowhere" in worse.content.decode()


def test_admin_imports_and_copies(meili_scheme, client_for):
    client = client_for("admin")
    text = services.export_scheme(meili_scheme).replace("code: meili-pingjia", "code: meili-upload", 1)
    response = client.post(reverse("assessment-scheme-list"),
                           {"file": SimpleUploadedFile("s.yaml", text.encode(), "application/yaml")})
    assert response.status_code == 302 and Scheme.objects.filter(code="meili-upload").exists()
    bad = client.post(reverse("assessment-scheme-list"), {"file": SimpleUploadedFile("s.yaml", b"code: [")})
    assert bad.status_code == 200 and "line" in bad.content.decode()
    copied = client.post(reverse("assessment-scheme-copy", args=[meili_scheme.code]))
    assert copied.status_code == 302
    assert Scheme.objects.get(code="meili-pingjia-draft").status == "draft"


def test_run_pages(meili_scheme, client_for):
    client = client_for("zhejiang")
    assert client.get(reverse("assessment-run-create")).status_code == 200
    response = client.post(reverse("assessment-run-create"), {"scheme": meili_scheme.code, "year": 2020})
    assert response.status_code == 302
    run = Run.objects.get()
    page = client.get(run.get_absolute_url()).content.decode()
    assert "瓜沥镇" in page and "大洋镇" in page and "grade-distribution" in page
    listing = client.get(reverse("assessment-run-list")).content.decode()
    assert f"#{run.pk}" in listing or str(run.pk) in listing
    csv = client.get(reverse("assessment-result-list"), {"run": run.pk, "export": "csv"})
    assert csv.status_code == 200 and "瓜沥镇" in csv.content.decode("utf-8-sig")
    # What-if from a draft, then freeze the official run.
    draft = services.copy_scheme(SYSTEM, meili_scheme)
    services.update_criterion(SYSTEM, draft.criteria.get(code="sewage"), binding=False)
    response = client.post(run.get_absolute_url(), {"op": "what_if", "scheme": draft.code, "note": "试算"})
    assert response.status_code == 302 and "?with=" in response["Location"]
    compare = client.get(response["Location"]).content.decode()
    assert 'id="comparison"' in compare
    assert client.post(run.get_absolute_url(), {"op": "freeze"}).status_code == 302
    assert Run.objects.get(pk=run.pk).frozen
    assert client.post(run.get_absolute_url(), {"op": "delete"}).status_code == 403
    # A town user sees the province's run, with only its own result.
    town = client_for("guali").get(run.get_absolute_url()).content.decode()
    assert "瓜沥镇" in town and "大洋镇" not in town
    assert client_for("guali").post(run.get_absolute_url(), {"op": "freeze"}).status_code == 403


def test_result_page_explains_every_criterion(meili_scheme, client_for):
    run = services.start_run(SYSTEM, meili_scheme, 2020)
    own = Result.objects.get(run=run, town_id="330109113")
    page = client_for("guali").get(reverse("assessment-result-detail", args=[own.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "城镇生活污水处理率" in text and "96" in text and "一票否决" in text
    assert "No value" in text
    other = Result.objects.get(run=run, town_id="330182107")
    assert client_for("guali").get(reverse("assessment-result-detail", args=[other.pk])).status_code == 404
