"""Activity types as data (活动类型): matched by name or synonym, unknown words kept under 其他 with a
warning, managed by a province office."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from townbrain.core.models import AuditEntry
from townbrain.core.scope import SYSTEM
from townbrain.exchange.models import DataWarning
from townbrain.exchange.pipeline import run_import
from townbrain.exchange.tests.conftest import xlsx
from townbrain.experts import services
from townbrain.experts.models import ActivityType, ExpertActivity

from .conftest import OWN, make_activity
from .test_exchange import HEADER

pytestmark = pytest.mark.django_db

SEEDED = {"现场指导": ["技术指导", "驻镇指导"], "技术咨询": ["咨询"], "方案评审": ["评审", "项目评审"],
          "专题培训": ["培训", "业务培训"], "调研走访": ["调研", "走访"], "座谈对接": ["座谈", "会议", "对接"], "其他": []}


def test_the_seeded_vocabulary_has_the_offices_words():
    types = {t.name: t for t in ActivityType.objects.all()}
    assert set(types) == set(SEEDED)
    for name, synonyms in SEEDED.items():
        assert set(synonyms) <= set(types[name].words), name
    # The old fixed list's codes are the seeded types' codes: stored activities kept their meaning.
    assert {t.code: t.name for t in types.values()}.items() >= {"site_visit": "现场指导", "review": "方案评审",
                                                                 "training": "专题培训", "other": "其他"}.items()


@pytest.mark.parametrize(("word", "code", "kept"), [
    ("技术咨询", "consulting", ""), ("咨询", "consulting", ""), ("专题培训", "training", ""), ("业务培训", "training", ""),
    ("驻镇指导", "site_visit", ""), ("  现场 指导 ", "site_visit", ""), ("Training", "training", ""),
    ("survey", "survey", ""), ("会议", "meeting", ""), ("其它", "other", ""), ("督查", "other", "督查"),
    ("ＡＢＣ检查", "other", "ABC检查"),
])
def test_matching_by_name_synonym_or_not_at_all(word, code, kept):
    found, word_kept = services.TypeVocabulary().match(word)
    assert (found.code, word_kept) == (code, kept)


def test_an_import_takes_every_word_and_warns_about_the_unknown_ones(users):
    rows = [HEADER,
            ["2020-06-18", OWN, "技术咨询", 1, 0, 0, 2, 1, "王建国"],
            ["2020-06-19", OWN, "专题培训", 0, 2, 0, 0, 0, "李明"],
            ["2020-06-20", OWN, "督查", 0, 1, 0, 1, 0, "李明"]]
    summary = run_import(users["guali"], xlsx(rows), "a.xlsx", "expert_activities")
    assert summary["status"] == "applied" and summary["errors"] == [] and summary["counts"]["created"] == 3
    assert [(w["row"], w["column"], w["value"]) for w in summary["warnings"]] == [(4, "活动类型", "督查")]
    types = dict(ExpertActivity.objects.values_list("date", "activity_type_id"))
    assert types == {date(2020, 6, 18): "consulting", date(2020, 6, 19): "training", date(2020, 6, 20): "other"}
    odd = ExpertActivity.objects.get(date=date(2020, 6, 20))
    assert (odd.type_word, odd.type_label) == ("督查", "其他（督查）")
    assert DataWarning.objects.get().rule == "activity_type_unknown"
    again = run_import(users["guali"], xlsx(rows), "a.xlsx", "expert_activities")
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 3, "deleted": 0}


def test_a_new_synonym_moves_the_kept_words_and_resolves_their_warnings(users, client_for):
    rows = [HEADER, ["2020-06-20", OWN, "督查", 0, 1, 0, 1, 0, "李明"]]
    run_import(users["guali"], xlsx(rows), "a.xlsx", "expert_activities")
    review = ActivityType.objects.get(code="review")
    services.save_activity_type(users["zhejiang"], review, synonyms=review.synonyms + "、督查")
    activity = ExpertActivity.objects.get()
    assert (activity.activity_type_id, activity.type_word) == ("review", "")
    assert AuditEntry.objects.filter(action="activitytype.update").exists()
    client_for("guali").get(reverse("quality-list"))  # the list brings the register up to date
    assert DataWarning.objects.get().resolved_at is not None


def test_only_a_province_office_keeps_the_vocabulary(users, client_for):
    with pytest.raises(PermissionDenied):
        services.save_activity_type(users["hangzhou"], None, code="inspection", name="督导检查")
    url = reverse("activity-type-list")
    assert client_for("guali").get(url).status_code == 200  # everyone may read the words
    assert client_for("hangzhou").post(url, {"op": "add", "code": "inspection", "name": "督导检查",
                                             "order": 80}).status_code == 403
    response = client_for("zhejiang").post(url, {"op": "add", "code": "inspection", "name": "督导检查",
                                                 "synonyms": "督查、检查", "active": "on", "order": 80})
    assert response.status_code == 302
    assert ActivityType.objects.get(code="inspection").words == ["督查", "检查"]


def test_a_word_means_one_type_and_other_stays(users):
    with pytest.raises(ValidationError) as exc:
        services.save_activity_type(users["zhejiang"], None, code="x", name="新类型", synonyms="评审")
    assert "方案评审" in str(exc.value)
    with pytest.raises(ValidationError):
        services.save_activity_type(users["admin"], ActivityType.objects.get(code="other"), active=False)


def test_retired_types_are_not_offered_but_still_read(users):
    survey = ActivityType.objects.get(code="survey")
    services.save_activity_type(users["zhejiang"], survey, active=False)
    from townbrain.experts.forms import ActivityForm

    assert "survey" not in [c for c, _n in ActivityForm().fields["activity_type"].choices]
    assert services.TypeVocabulary().match("走访")[0].code == "survey"


def test_services_and_api_read_type_words_like_an_import(users, api_for):
    activity = make_activity(OWN, activity_type="咨询")
    assert activity.activity_type_id == "consulting"
    api = api_for("guali")
    created = api.post("/api/expert-activities/", {"town": OWN, "date": "2020-07-01", "activity_type": "专题培训",
                                                   "resident_planner_count": 1}, format="json")
    assert created.status_code == 201, created.json()
    assert (created.json()["activity_type"], created.json()["type_name"]) == ("training", "专题培训")
    listed = api.get("/api/expert-activities/", {"type": "consulting"}).json()
    assert [a["activity_type"] for a in listed["results"]] == ["consulting"]


def test_summary_api_keeps_its_shape(users, api_for):
    make_activity(OWN, date(2020, 5, 1), activity_type="技术咨询", chief_designer_count=1, problems_found=2,
                  problems_solved=1)
    make_activity(OWN, date(2020, 6, 1), actor=SYSTEM, activity_type="走访", adviser_count=2)
    body = api_for("guali").get("/api/expert-activities/summary/", {"org": OWN, "year": 2020}).json()
    assert body == {"org": OWN, "activities": 2,
                    "person_times": {"chief_designer": 1, "resident_planner": 2, "development_adviser": 2, "total": 5},
                    "problems_found": 2, "problems_solved": 1}
