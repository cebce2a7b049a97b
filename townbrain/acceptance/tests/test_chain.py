"""The approval chain town → county → city → province, who may act, returns, submit rules, frozen, audit."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction

from townbrain.core.models import AuditEntry
from townbrain.indicators.models import DataElement, DataValue

from .. import services
from ..models import Acceptance, ChecklistItem, Stage, Step
from .conftest import answer_all


def test_checklist_from_binding_criteria_and_ten_facilities(acceptance, scheme):
    binding = list(scheme.criteria.filter(binding=True).order_by("order", "id").values_list("code", flat=True))
    items = list(acceptance.items.all())
    assert [i.code for i in items if i.group == ChecklistItem.Group.BINDING] == binding
    facilities = [i.label for i in items if i.group == ChecklistItem.Group.FACILITY]
    assert facilities == ["快速交通通道", "集中供水系统", "污水处理设施", "生活垃圾处理设施", "综合文化站", "达标学校",
                          "卫生院", "商贸综合体", "公园绿地", "便民服务中心"]
    assert acceptance.stage == Stage.TOWN and acceptance.scheme_version == scheme.version
    assert acceptance.snapshot["code"] == scheme.code
    assert acceptance.grade_names == ["样板", "基本达标", "不达标"]
    row = AuditEntry.objects.get(action="acceptance.open")
    assert row.org_code == "330109113" and row.actor_name == "hangzhou" and row.changes["checklist_items"] == [None, len(items)]


def test_values_read_from_the_indicators_and_refreshed(enrolled, users, meili, tree):
    element = DataElement.objects.get(code="sewage_treatment_rate")
    DataValue.objects.create(element=element, org_unit_id="330109113", period="2022", number=96)
    acceptance = services.open_acceptance(users["guali"], meili, tree["330109113"], 2022)
    sewage = acceptance.items.get(code="sewage")
    assert sewage.value == 96 and sewage.value_met is True and sewage.unit == "%"
    assert acceptance.items.get(code="garbage").value is None  # no value yet
    DataValue.objects.filter(element=element).update(number=60)
    services.refresh_values(users["guali"], acceptance)
    sewage.refresh_from_db()
    assert sewage.value == 60 and sewage.value_met is False  # below pass_points: fails the binding item
    row = AuditEntry.objects.get(action="acceptance.refresh")
    assert row.changes["sewage.value"] == [[96.0, True], [60.0, False]]


def test_programme_without_facility_list_gets_only_binding_criteria(acceptance, settings, enrolled, users, meili,
                                                                    tree):
    settings.ACCEPTANCE_FACILITIES = {"other": [{"code": "x", "name": "X"}]}
    second = services.open_acceptance(users["jiande"], meili, tree["330182100"], 2022)
    assert set(second.items.values_list("group", flat=True)) == {ChecklistItem.Group.BINDING}


def test_whole_chain(acceptance, users):
    answer_all(users["guali"], acceptance)
    services.submit(users["guali"], acceptance, "自评完成")
    assert acceptance.stage == Stage.COUNTY
    services.approve(users["xiaoshan"], acceptance, "初审通过")
    assert acceptance.stage == Stage.CITY
    services.approve(users["hangzhou"], acceptance)
    assert acceptance.stage == Stage.PROVINCE
    services.sign_off(users["zhejiang"], acceptance, "样板", "验收通过")
    acceptance.refresh_from_db()
    assert acceptance.stage == Stage.SIGNED and acceptance.outcome == "样板" and acceptance.frozen
    assert acceptance.frozen_at is not None
    steps = list(acceptance.steps.values_list("action", "from_stage", "to_stage", "actor_name", "comment"))
    assert steps == [("submit", "town", "county", "guali", "自评完成"), ("approve", "county", "city", "xiaoshan", "初审通过"),
                     ("approve", "city", "province", "hangzhou", ""),
                     ("sign_off", "province", "signed", "zhejiang", "验收通过")]
    actions = list(AuditEntry.objects.filter(object_type="acceptance", object_id=str(acceptance.pk))
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["acceptance.open", "acceptance.submit", "acceptance.approve", "acceptance.approve",
                       "acceptance.sign_off"]
    last = AuditEntry.objects.filter(action="acceptance.sign_off").get()
    assert last.changes["stage"] == ["province", "signed"] and last.changes["outcome"] == ["", "样板"]
    assert last.org_code == "330109113"
    assert AuditEntry.objects.filter(action="checklist.assess").count() == acceptance.items.count()


@pytest.mark.parametrize(("stage", "refused", "allowed"), [
    ("town", ["xiaoshan", "hangzhou", "zhejiang", "guali_viewer", "dayang", "jiande"], "guali"),
    ("county", ["guali", "hangzhou", "zhejiang", "jiande"], "xiaoshan"),
    ("city", ["guali", "xiaoshan", "zhejiang"], "hangzhou"),
    ("province", ["guali", "xiaoshan", "hangzhou", "guizhou"], "zhejiang"),
])
def test_only_the_level_of_the_stage_acts(acceptance, users, stage, refused, allowed):
    Acceptance.objects.filter(pk=acceptance.pk).update(stage=stage)
    acceptance.refresh_from_db()
    act = {"town": lambda u: services.refresh_values(u, acceptance),
           "county": lambda u: services.approve(u, acceptance),
           "city": lambda u: services.approve(u, acceptance),
           "province": lambda u: services.sign_off(u, acceptance, "基本达标")}[stage]
    for name in refused:
        with pytest.raises(PermissionDenied):
            act(users[name])
        assert not services.may_act(users[name], acceptance)
    assert not Step.objects.exists()
    assert services.may_act(users[allowed], acceptance) and services.may_act(users["admin"], acceptance)
    act(users[allowed])


def test_wrong_level_message_names_the_office(acceptance, users):
    Acceptance.objects.filter(pk=acceptance.pk).update(stage=Stage.COUNTY)
    acceptance.refresh_from_db()
    with pytest.raises(PermissionDenied, match="County 330109"):
        services.approve(users["hangzhou"], acceptance)


def test_return_needs_a_comment_and_goes_back_to_the_town(acceptance, users):
    answer_all(users["guali"], acceptance)
    services.submit(users["guali"], acceptance)
    for blank in ("", "   "):
        with pytest.raises(ValidationError) as exc:
            services.return_for_correction(users["xiaoshan"], acceptance, blank)
        assert "comment" in exc.value.message_dict
    assert Acceptance.objects.get(pk=acceptance.pk).stage == Stage.COUNTY
    services.return_for_correction(users["xiaoshan"], acceptance, "污水处理设施缺运行记录")
    acceptance.refresh_from_db()
    assert acceptance.stage == Stage.RETURNED
    step = acceptance.steps.last()
    assert (step.action, step.comment, step.to_stage) == ("return", "污水处理设施缺运行记录", "returned")
    assert AuditEntry.objects.get(action="acceptance.return").changes["comment"] == [None, "污水处理设施缺运行记录"]
    # The town corrects and submits again; the county may not act while it is with the town.
    with pytest.raises(PermissionDenied):
        services.approve(users["xiaoshan"], acceptance)
    item = acceptance.items.first()
    services.self_assess_item(users["guali"], item, ChecklistItem.Answer.NOT_MET, "整改中")
    services.submit(users["guali"], acceptance)
    assert acceptance.stage == Stage.COUNTY


def test_return_from_city_and_province(acceptance, users):
    answer_all(users["guali"], acceptance)
    services.submit(users["guali"], acceptance)
    services.approve(users["xiaoshan"], acceptance)
    services.return_for_correction(users["hangzhou"], acceptance, "市级：补充照片")
    assert acceptance.stage == Stage.RETURNED
    services.submit(users["guali"], acceptance)
    services.approve(users["xiaoshan"], acceptance)
    services.approve(users["hangzhou"], acceptance)
    services.return_for_correction(users["zhejiang"], acceptance, "省级：补充台账")
    assert acceptance.stage == Stage.RETURNED


def test_submit_refused_naming_unanswered_items(acceptance, users):
    items = list(acceptance.items.all())
    for item in items[:-2]:
        services.self_assess_item(users["guali"], item, ChecklistItem.Answer.MET)
    with pytest.raises(ValidationError) as exc:
        services.submit(users["guali"], acceptance)
    message = " ".join(exc.value.messages)
    assert items[-1].label in message and items[-2].label in message and items[0].label not in message
    assert Acceptance.objects.get(pk=acceptance.pk).stage == Stage.TOWN
    assert not Step.objects.exists() and not AuditEntry.objects.filter(action="acceptance.submit").exists()


def test_bad_answers_and_wrong_stage(acceptance, users):
    item = acceptance.items.first()
    with pytest.raises(ValidationError, match="met, not met or not applicable"):
        services.self_assess_item(users["guali"], item, "maybe")
    with pytest.raises(ValidationError, match="stage"):
        services.approve(users["admin"], acceptance)  # approve is no action of the town's stage
    with pytest.raises(ValidationError, match="Choose the outcome"):
        Acceptance.objects.filter(pk=acceptance.pk).update(stage=Stage.PROVINCE)
        acceptance.refresh_from_db()
        services.sign_off(users["zhejiang"], acceptance, "优秀")
    assert not AuditEntry.objects.filter(action__startswith="checklist").exists()


def test_reviewer_verdict(acceptance, users):
    answer_all(users["guali"], acceptance)
    services.submit(users["guali"], acceptance)
    item = acceptance.items.first()
    services.review_item(users["xiaoshan"], item, ChecklistItem.Verdict.DISAGREE, "数据与台账不符")
    item.refresh_from_db()
    assert (item.verdict, item.verdict_stage, item.verdict_by_name) == ("disagree", "county", "xiaoshan")
    with pytest.raises(PermissionDenied):
        services.self_assess_item(users["guali"], item, ChecklistItem.Answer.MET)  # the town's turn is over
    assert AuditEntry.objects.get(action="checklist.review").changes["verdict"] == ["", "disagree"]


def _signed(acceptance, users):
    answer_all(users["guali"], acceptance)
    services.submit(users["guali"], acceptance)
    services.approve(users["xiaoshan"], acceptance)
    services.approve(users["hangzhou"], acceptance)
    services.sign_off(users["zhejiang"], acceptance, "基本达标")
    return acceptance


def test_frozen_refuses_every_service(acceptance, users):
    from .conftest import image_bytes, upload

    _signed(acceptance, users)
    rows = AuditEntry.objects.count()
    item = acceptance.items.first()
    attempts = [
        lambda: services.self_assess_item(users["admin"], item, ChecklistItem.Answer.NOT_MET),
        lambda: services.review_item(users["admin"], item, ChecklistItem.Verdict.AGREE),
        lambda: services.refresh_values(users["admin"], acceptance),
        lambda: services.add_evidence(users["admin"], acceptance, upload(image_bytes(), "a.png")),
        lambda: services.submit(users["admin"], acceptance),
        lambda: services.approve(users["admin"], acceptance),
        lambda: services.return_for_correction(users["admin"], acceptance, "再看看"),
        lambda: services.sign_off(users["admin"], acceptance, "样板"),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError, match="frozen"):
            attempt()
    assert AuditEntry.objects.count() == rows


def test_frozen_refused_at_model_save(acceptance, users):
    _signed(acceptance, users)
    acceptance.outcome = "样板"
    with pytest.raises(PermissionError):
        acceptance.save()
    item = acceptance.items.first()
    item.answer = "not_met"
    with pytest.raises(PermissionError):
        item.save()
    with pytest.raises(PermissionError):
        item.delete()
    with pytest.raises(PermissionError):
        Step(acceptance=acceptance, from_stage="signed", to_stage="town", action="return", actor_name="x").save()
    with pytest.raises(PermissionError):
        acceptance.delete()
    assert Acceptance.objects.get(pk=acceptance.pk).outcome == "基本达标"
    # … and so does the database (migration 0002), past the models.
    for attempt in (lambda: Acceptance.objects.filter(pk=acceptance.pk).update(outcome="样板"),
                    lambda: acceptance.items.update(answer="not_met"),
                    lambda: Step.objects.bulk_create([Step(acceptance=acceptance, from_stage="signed", to_stage="town",
                                                           action="return", actor_name="x")])):
        with pytest.raises(DatabaseError), transaction.atomic():
            attempt()
    assert Acceptance.objects.get(pk=acceptance.pk).outcome == "基本达标"
    assert not acceptance.items.filter(answer="not_met").exists()


def test_the_database_lets_an_open_acceptance_change(acceptance, users):
    # the triggers fire only for a frozen acceptance: the chain up to the sign-off writes freely
    assert Acceptance.objects.filter(pk=acceptance.pk).update(outcome="") == 1
    assert acceptance.items.update(note="y") == acceptance.items.count()


def test_open_refused_outside_area_and_for_bad_input(enrolled, users, meili, tree, acceptance):
    with pytest.raises(PermissionDenied):
        services.open_acceptance(users["guali"], meili, tree["330182107"], 2022)
    with pytest.raises(ValidationError, match="already has an acceptance"):
        services.open_acceptance(users["guali"], meili, tree["330109113"], 2022)
    with pytest.raises(ValidationError, match="not a town"):
        services.open_acceptance(users["admin"], meili, tree["330109"], 2022)
    with pytest.raises(ValidationError, match="not enrolled"):
        services.open_acceptance(users["admin"], meili, tree["520111100"], 2022)
    with pytest.raises(ValidationError, match="no official assessment scheme"):
        services.open_acceptance(users["admin"], meili, tree["330182107"], 2030)
    assert Acceptance.objects.count() == 1


def test_open_for_an_area(enrolled, users, meili):
    result = services.open_acceptances(users["xiaoshan"], meili, 2022, "330109")
    assert sorted(a.town_id for a in result["opened"]) == ["330109001", "330109113"]
    again = services.open_acceptances(users["hangzhou"], meili, 2022, "3301")
    assert sorted(a.town_id for a in again["opened"]) == ["330182100", "330182107"] and again["existing"] == 2
    with pytest.raises(PermissionDenied):
        services.open_acceptances(users["xiaoshan"], meili, 2022, "330182")
    assert AuditEntry.objects.filter(action="acceptance.open").count() == 4
