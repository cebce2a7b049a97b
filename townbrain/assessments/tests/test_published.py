"""Published results (issue 16, item 2): the province's list recorded beside the computed runs —
which towns differ and which criteria cost them points; grade distributions like the bulletins."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from townbrain.assessments import services
from townbrain.assessments import spec as specs
from townbrain.assessments.models import PublishedList, PublishedResult
from townbrain.core.models import AuditEntry
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Enrolment, Programme

GRADES = [{"name": "优秀", "min": 90}, {"name": "合格", "min": 70}, {"name": "警告", "min": 60}, {"name": "降格"}]


@pytest.fixture
def run(tree, values):
    """A frozen 2020 特色小镇 run over 浙江 of four towns: 瓜沥镇 95, 城厢街道 75, 大洋镇 65, 梅城镇 40."""
    tese = Programme.objects.get(code="tese")
    for code in ("330109113", "330109001", "330182107", "330182100"):
        Enrolment.objects.create(town_id=code, programme=tese, year_joined=2016, role=tese.roles.get(code="chuangjian"))
    spec = specs.validate({
        "code": "tese-test", "name": "特色小镇考核", "programme": "tese", "grades": GRADES, "years": [2015, None],
        "groups": [{"code": "g", "name": "指标", "criteria": [
            {"code": "invest", "name": "有效投资", "formula": "#{t_invest}", "method": "linear", "points": 60,
             "zero_at": 0, "full_at": 100},
            {"code": "satisfaction", "name": "满意度", "formula": "#{t_sat}", "method": "linear", "points": 40,
             "zero_at": 0, "full_at": 100}]}],
        "elements": [{"code": "t_invest", "name": "有效投资", "value_type": "number"},
                     {"code": "t_sat", "name": "满意度", "value_type": "number"}]})
    scheme = services.import_scheme(SYSTEM, spec)
    values("t_invest", {"330109113": 95, "330109001": 75, "330182107": 65, "330182100": 40})
    values("t_sat", {"330109113": 95, "330109001": 75, "330182107": 65, "330182100": 40})
    return services.freeze_run(SYSTEM, services.start_run(SYSTEM, scheme, 2020, area="33"))


PUBLISHED = [  # as the province printed it: 大洋镇 graded 合格 (we compute 警告), 梅城镇 by name
    {"town": "330109113", "score": "95", "grade": "优秀", "rank": "1"},
    {"town": "330109001", "score": "75.00", "grade": "合格", "rank": "2"},
    {"town": "330182107", "score": "71.5", "grade": "合格", "rank": "3"},
    {"name": "梅城镇", "score": "40", "grade": "降格", "rank": "4"},
]


def test_record_and_compare(run):
    tese = run.programme
    published = services.record_published(SYSTEM, tese, 2020, PUBLISHED, area="33", title="2020年度特色小镇考核结果")
    assert PublishedResult.objects.filter(published=published).count() == 4
    assert AuditEntry.objects.filter(action="published.record").count() == 1
    result = services.compare_published(SYSTEM, published)
    assert result["published"] == "1 优秀 / 2 合格 / 1 降格"
    assert result["computed"] == "1 优秀 / 1 合格 / 1 警告 / 1 降格"
    assert result["towns"] == 4 and result["runs"] == [run.pk]
    (diff,) = result["differences"]
    assert (diff["town"], diff["published_grade"], diff["computed_grade"]) == ("330182107", "合格", "警告")
    assert diff["score_gap"] == -6.5
    # the criteria that cost 大洋镇 points in the computed run, the costliest first
    assert [(c["criterion"], c["lost"]) for c in diff["criteria"]] == [("invest", 21.0), ("satisfaction", 14.0)]
    assert result["only_published"] == [] and result["only_computed"] == []
    # the same list again: nothing changes, no audit row
    assert services.record_published(SYSTEM, tese, 2020, PUBLISHED, area="33",
                                     title="2020年度特色小镇考核结果").pk == published.pk
    assert AuditEntry.objects.filter(action="published.record").count() == 1
    # a corrected list replaces it
    services.record_published(SYSTEM, tese, 2020, PUBLISHED[:3], area="33", title="更正")
    assert PublishedList.objects.count() == 1 and PublishedResult.objects.count() == 3
    assert services.compare_published(SYSTEM, PublishedList.objects.get())["only_computed"] == ["330182100"]


@pytest.mark.parametrize(("row", "words"), [
    ({"town": "330109113", "grade": "样板"}, "is not a grade"),
    ({"town": "520111100", "grade": "优秀"}, "outside"),
    ({"town": "339999999", "grade": "优秀"}, "there is no town"),
    ({"name": "不存在镇", "grade": "优秀"}, "is not a town of the programme"),
    ({"town": "330109113", "score": "九十", "grade": "优秀"}, "is not a number"),
])
def test_a_wrong_row_saves_nothing(run, row, words):
    with pytest.raises(ValidationError) as info:
        services.record_published(SYSTEM, run.programme, 2020, [PUBLISHED[0] if "name" in row else PUBLISHED[1], row],
                                  area="33")
    assert words in " ".join(info.value.messages)
    assert not PublishedList.objects.exists()


def test_read_a_published_table_with_a_title_row():
    data = ("2020年度特色小镇考核结果\n名次,乡镇,乡镇代码,得分,等级\n1,瓜沥镇,330109113,９５,优秀\n"
            "2,城厢街道,330109001,75,合格\n").encode("gbk")
    rows = services.read_published(data, "结果.csv")
    assert rows[0] == {"rank": "1", "name": "瓜沥镇", "town": "330109113", "score": "95", "grade": "优秀"}
    assert len(rows) == 2
    with pytest.raises(ValidationError, match="No header row"):
        services.read_published(b"a,b\n1,2\n", "x.csv")


def test_api_records_from_a_file_and_scopes_the_comparison(run, api_for):
    url = reverse("api:assessment-run-published", args=[run.pk])
    csv = "乡镇代码,得分,等级\n" + "".join(f"{r.get('town', '330182100')},{r['score']},{r['grade']}\n" for r in PUBLISHED)
    upload = SimpleUploadedFile("published.csv", csv.encode("utf-8-sig"), content_type="text/csv")
    assert api_for("guali").post(url, {"file": upload}, format="multipart").status_code == 403  # a town cannot
    nothing = api_for("guali").get(url).json()  # nothing published yet: the computed side alone
    assert nothing["id"] is None and nothing["published"] == "" and nothing["computed"] == "1 优秀"
    upload.seek(0)
    response = api_for("zhejiang").post(url, {"file": upload, "title": "2020年度考核结果"}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json()["published"] == "1 优秀 / 2 合格 / 1 降格"
    seen = api_for("guali").get(url).json()  # 瓜沥镇 sees only its own line
    assert seen["towns"] == 1 and seen["differences"] == []
    dayang = api_for("dayang").get(url).json()
    assert [d["town"] for d in dayang["differences"]] == ["330182107"]
