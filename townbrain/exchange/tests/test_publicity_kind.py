"""The exchange kinds `articles`, `article_quotas` and `honours` (宣传与表彰): sheets as offices make them
(a title above the header, synonyms, date cells and typed dates, numeric codes), errors at their row and
column in the user's language, dry runs, idempotence, scope, warnings, undo, the standard and the
export → import round trip."""

import io
import json
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from click.testing import CliRunner
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from python_calamine import CalamineWorkbook

from townbrain.cli import main
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.exchange import quality
from townbrain.exchange.kinds import KINDS
from townbrain.exchange.models import DataWarning, ImportBatch
from townbrain.exchange.pipeline import run_import, undo_batch
from townbrain.publicity import services
from townbrain.publicity.models import Article, Honour, Quota

pytestmark = pytest.mark.django_db

OWN, OTHER, COUNTY = "330109113", "330182107", "330109"

ARTICLE_HEADER = ["发稿日期", "乡镇代码", "媒体级别", "刊发媒体", "稿件标题", "原文链接"]  # synonyms, as offices head them
ARTICLE_ROWS = [
    [datetime(2020, 10, 5), 330109113, "中央级", "人民日报", "瓜沥镇：美丽城镇的样本", "www.people.com.cn/gl.html"],
    ["2020年11月2日", "330109113", "省", "浙江日报", "瓜沥  新农村", "https://zjrb.zjol.com.cn/a"],
    ["2020/12/1", "３３０１０９１１３", "市级媒体", "杭州日报", "萧山瓜沥：一镇一品", None],
    ["2020-12-20", 330109113, "county", "萧山日报", "瓜沥镇的早市", "https://www.xsnet.cn/b"],
]
# Full-width brackets as typed; errors name the header as the pipeline reads it (half-width).
QUOTA_HEADER = ["乡镇代码", "期间", "约稿数（篇）", "最低媒体级别", "备注"]
HONOUR_HEADER = ["表彰类别", "单位代码", "获表彰人", "荣誉称号", "颁发单位", "表彰日期", "事由", "会议/文件"]


def office_book(header, rows, title="2020年宣传工作统计表") -> bytes:
    """A workbook as a county clerk makes it: a merged title and the reporting unit above the header."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.append(["填报单位：萧山区瓜沥镇"])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


FIRST = 4  # the first data row as the sheet shows it (title, unit, header above)


def cli(*args):
    return CliRunner().invoke(main, list(args))


def test_kinds_are_registered_with_the_standard_and_templates_import(users, api_for):
    assert [c.header for c in KINDS["articles"].columns] == ["发布日期", "乡镇代码", "媒体级别", "媒体名称", "标题", "链接"]
    assert [c.header for c in KINDS["article_quotas"].columns] == ["乡镇代码", "期间", "约稿数(篇)", "最低媒体级别", "备注"]
    assert [c.header for c in KINDS["honours"].columns] == HONOUR_HEADER
    api = api_for("guali")
    assert set(api.get("/api/standard/").json()["kinds"]) >= {"articles", "article_quotas", "honours"}
    schema = api.get("/api/standard/honours/").json()
    assert schema["required"] == ["表彰类别", "单位代码", "颁发单位", "表彰日期"]
    assert "获奖者" in schema["properties"]["获表彰人"]["x-aliases"]
    for kind in ("articles", "article_quotas", "honours"):
        template = api.get(f"/api/standard/{kind}/template.xlsx")
        assert template.status_code == 200
        rows = CalamineWorkbook.from_filelike(io.BytesIO(template.content)).get_sheet_by_index(0).to_python()
        assert rows[0] == [c.header for c in KINDS[kind].columns]
        # The template's example row is a valid row of the standard.
        plan = run_import(users["guali"], template.content, f"{kind}.xlsx", kind, dry_run=True)
        assert plan["status"] == "dry_run" and plan["errors"] == [] and plan["counts"]["created"] == 1, plan


def test_articles_from_an_office_sheet_then_again_unchanged(users):
    data = office_book(ARTICLE_HEADER, ARTICLE_ROWS)
    first = run_import(users["guali"], data, "稿件.xlsx", "articles")
    assert first["status"] == "applied" and first["counts"]["created"] == 4, first["errors"]
    got = {a.outlet: a for a in Article.objects.all()}
    assert {k: a.level for k, a in got.items()} == {"人民日报": "central", "浙江日报": "provincial", "杭州日报": "city",
                                                    "萧山日报": "county"}
    assert got["人民日报"].published_on == date(2020, 10, 5)
    assert got["人民日报"].link == "https://www.people.com.cn/gl.html"  # read as the form reads it
    assert got["人民日报"].title == "瓜沥镇：美丽城镇的样本"  # full-width punctuation kept as written
    assert got["浙江日报"].title == "瓜沥 新农村"
    assert AuditEntry.objects.filter(action="article.create").count() == 4  # through the service, audited
    audit_rows = AuditEntry.objects.count()
    again = run_import(users["guali"], data, "稿件.xlsx", "articles")
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 4, "deleted": 0} and again["id"] is None
    assert AuditEntry.objects.count() == audit_rows and ImportBatch.objects.count() == 1
    # A later sheet adds the missing link and corrects a level: the natural key finds the articles.
    later = [row[:] for row in ARTICLE_ROWS]
    later[2][5], later[3][2] = "https://hzdaily.hangzhou.com.cn/c", "市"
    third = run_import(users["guali"], office_book(ARTICLE_HEADER, later), "稿件-更正.xlsx", "articles")
    assert third["counts"] == {"created": 0, "updated": 2, "unchanged": 2, "deleted": 0}, third["errors"]
    assert Article.objects.get(outlet="萧山日报").level == "city"
    undo_batch(users["guali"], ImportBatch.objects.get(pk=third["id"]))
    assert Article.objects.get(outlet="萧山日报").level == "county" and Article.objects.get(outlet="杭州日报").link == ""
    undo_batch(users["guali"], ImportBatch.objects.get(pk=first["id"]))
    assert not Article.objects.exists()


def test_bad_rows_are_reported_at_their_row_and_column_in_chinese(users):
    rows = [
        ["2020-10-05", "330109999", "中央", "人民日报", "无此乡镇", ""],
        ["2020-13-01", OWN, "中央", "人民日报", "日期不对", ""],
        ["2020-10-05", OWN, "网络媒体", "今日头条", "级别不明", ""],
        ["2020-10-05", OTHER, "省", "浙江日报", "别人的镇", ""],
        ARTICLE_ROWS[0],
    ]
    with translation.override("zh-hans"):
        result = run_import(users["guali"], office_book(ARTICLE_HEADER, rows), "稿件.xlsx", "articles")
        unknown = _("There is no org unit with code %(code)s.") % {"code": "330109999"}
        outside = _("%(name)s (%(code)s) is outside your area.") % {"name": "大洋镇", "code": OTHER}
    assert unknown == "不存在区划代码为 330109999 的行政单元。" and "辖区" in outside  # the catalogue's Chinese
    assert result["status"] == "failed" and result["counts"]["created"] == 1  # what would have been done
    by_row = {e["row"]: e for e in result["errors"]}
    assert set(by_row) == {FIRST, FIRST + 1, FIRST + 2, FIRST + 3}
    assert (by_row[FIRST]["column"], by_row[FIRST]["message"]) == ("乡镇代码", unknown)
    # The column as the file heads it (a synonym of 发布日期), the message in Chinese.
    assert by_row[FIRST + 1]["column"] == "发稿日期" and "2020-13-01" in by_row[FIRST + 1]["message"]
    assert "不是" in by_row[FIRST + 1]["message"]
    assert by_row[FIRST + 2]["column"] == "媒体级别" and by_row[FIRST + 2]["value"] == "网络媒体"
    assert (by_row[FIRST + 3]["column"], by_row[FIRST + 3]["message"]) == ("乡镇代码", outside)
    assert not Article.objects.exists() and not ImportBatch.objects.exists()


def test_an_article_belongs_to_a_town_and_only_valid_rows_can_go_in(users):
    rows = [["2020-10-05", COUNTY, "县", "萧山日报", "全区美丽城镇", ""], ARTICLE_ROWS[0]]
    result = run_import(users["xiaoshan"], office_book(ARTICLE_HEADER, rows), "稿件.xlsx", "articles", only_valid=True)
    assert result["status"] == "partial" and result["counts"]["created"] == 1
    assert [(e["row"], e["column"]) for e in result["errors"]] == [(FIRST, "乡镇代码")]
    assert "town (9-digit code)" in result["errors"][0]["message"]  # the service's own rule
    assert Article.objects.get().town_id == OWN


def test_quotas_periods_counts_warnings_and_fulfilment(users):
    run_import(users["guali"], office_book(ARTICLE_HEADER, ARTICLE_ROWS), "稿件.xlsx", "articles")
    rows = [[330109113, "2020年第四季度", "3篇", "市级", "市委宣传部约稿"],
            [OWN, 202009, 0, None, None],  # a quota of 0: kept, with a warning
            [OWN, "2020S1", "-2", "", ""],  # a negative count: refused
            [OWN, "2020Q5", 2, "", ""],  # no such quarter
            [OWN, "2021", 2, "网络", ""]]  # no such level
    bad = run_import(users["guali"], office_book(QUOTA_HEADER, rows), "约稿.xlsx", "article_quotas")
    assert bad["status"] == "failed"
    assert {(e["row"], e["column"]) for e in bad["errors"]} == {(FIRST + 2, "约稿数(篇)"), (FIRST + 3, "期间"),
                                                                 (FIRST + 4, "最低媒体级别")}
    assert "negative" in next(e["message"] for e in bad["errors"] if e["row"] == FIRST + 2)
    assert not Quota.objects.exists()
    done = run_import(users["guali"], office_book(QUOTA_HEADER, rows[:2]), "约稿.xlsx", "article_quotas")
    assert done["status"] == "applied" and done["counts"]["created"] == 2, done["errors"]
    assert [(w["row"], w["column"], w["value"]) for w in done["warnings"]] == [(FIRST + 1, "约稿数(篇)", "0")]
    q4 = services.with_counted(Quota.objects.filter(period="2020Q4")).get()
    assert (q4.articles, q4.min_level, q4.note) == (3, "city", "市委宣传部约稿")
    assert q4.counted == 3  # 中央, 省, 市 in the quarter count; the 县级 article does not
    assert DataWarning.objects.get(rule="quota_zero", resolved_at__isnull=True).object_id == str(
        Quota.objects.get(period="202009").pk)
    again = run_import(users["guali"], office_book(QUOTA_HEADER, rows[:2]), "约稿.xlsx", "article_quotas")
    assert again["counts"]["unchanged"] == 2 and again["id"] is None
    # The quota made up: the warning resolves.
    fixed = run_import(users["guali"], office_book(QUOTA_HEADER, [[OWN, "2020年9月", 1, "", ""]]), "约稿.xlsx",
                       "article_quotas")
    assert fixed["counts"]["updated"] == 1 and fixed["warnings"] == []
    assert not DataWarning.objects.filter(rule="quota_zero", resolved_at__isnull=True).exists()


def test_honours_any_level_defaults_and_rules(users):
    future = timezone.localdate() + timedelta(days=30)
    rows = [["先进单位", 330109113, "", "美丽城镇建设工作先进集体", "浙江省美丽城镇建设工作领导小组", "2020-12-28",
             "建设成效显著", "浙江省美丽城镇建设推进会"],
            ["先进个人", COUNTY, "王建国", None, "杭州市人民政府", datetime(2020, 12, 28), None, "杭政发〔2020〕12号"],
            ["个人", OWN, "", "", "杭州市人民政府", "2020-12-28", "", ""],  # a person without a name
            ["优秀", OWN, "李明", "", "杭州市人民政府", "2020-12-28", "", ""],  # no such kind
            ["先进集体", OWN, "瓜沥镇人民政府", "", "萧山区人民政府", future, "", ""]]
    bad = run_import(users["xiaoshan"], office_book(HONOUR_HEADER, rows), "表彰.xlsx", "honours")
    assert {(e["row"], e["column"]) for e in bad["errors"]} == {(FIRST + 2, "获表彰人"), (FIRST + 3, "表彰类别")}
    done = run_import(users["xiaoshan"], office_book(HONOUR_HEADER, rows[:2] + rows[4:]), "表彰.xlsx", "honours")
    assert done["status"] == "applied" and done["counts"]["created"] == 3, done["errors"]
    unit = Honour.objects.get(title="美丽城镇建设工作先进集体")
    assert (unit.kind, unit.unit_id, unit.recipient) == ("unit", OWN, "瓜沥镇")  # the org unit itself
    person = Honour.objects.get(recipient="王建国")
    assert (person.kind, person.unit_id, person.title, person.occasion) == ("person", COUNTY, "先进个人",
                                                                            "杭政发〔2020〕12号")
    assert [(w["row"], w["column"]) for w in done["warnings"]] == [(FIRST + 2, "表彰日期")]  # the third row
    assert DataWarning.objects.filter(rule="honour_awarded_future", town_id=OWN).count() == 1
    # The county's honour is outside a town's area.
    refused = run_import(users["guali"], office_book(HONOUR_HEADER, rows[1:2]), "表彰.xlsx", "honours")
    assert refused["status"] == "failed" and "outside your area" in refused["errors"][0]["message"]
    # A changed reason updates the honour the key names; undo puts it back.
    rows[0][6] = "建设成效显著，群众满意"
    changed = run_import(users["xiaoshan"], office_book(HONOUR_HEADER, rows[:1]), "表彰.xlsx", "honours")
    assert changed["counts"]["updated"] == 1
    undo_batch(users["xiaoshan"], ImportBatch.objects.get(pk=changed["id"]))
    unit.refresh_from_db()
    assert unit.reason == "建设成效显著"


def test_cli_dry_run_writes_nothing_and_json_carries_the_warnings(users, tmp_path):
    soon = timezone.localdate() + timedelta(days=10)
    book = tmp_path / "稿件.xlsx"
    book.write_bytes(office_book(ARTICLE_HEADER, [*ARTICLE_ROWS, [soon, OWN, "市", "杭州日报", "即将刊发", ""]]))
    audit_rows = AuditEntry.objects.count()
    dry = cli("import", str(book), "--kind", "articles", "--dry-run", "--json", "--as", "guali")
    assert dry.exit_code == 0, dry.output
    plan = json.loads(dry.output)
    assert plan["status"] == "dry_run" and plan["counts"]["created"] == 5 and plan["id"] is None
    assert not Article.objects.exists() and not ImportBatch.objects.exists() and not DataWarning.objects.exists()
    assert AuditEntry.objects.count() == audit_rows
    done = cli("import", str(book), "--kind", "articles", "--json", "--as", "guali")
    assert done.exit_code == 0, done.output  # warnings are no errors
    summary = json.loads(done.output)
    assert summary["status"] == "applied" and summary["counts"]["created"] == 5
    assert sorted((w["row"], w["column"]) for w in summary["warnings"]) == [
        (FIRST + 2, "原文链接"), (FIRST + 4, "原文链接"), (FIRST + 4, "发稿日期")]
    assert soon.isoformat() in next(w["message"] for w in summary["warnings"] if w["column"] == "发稿日期")
    assert set(DataWarning.objects.filter(resolved_at__isnull=True).values_list("rule", flat=True)) == {
        "article_link_missing", "article_published_future"}
    again = cli("import", str(book), "--kind", "articles", "--json", "--as", "guali")
    assert json.loads(again.output)["counts"]["unchanged"] == 5


def test_cli_scope_refusal(users, tmp_path):
    book = tmp_path / "稿件.xlsx"
    book.write_bytes(office_book(ARTICLE_HEADER, ARTICLE_ROWS[:1]))
    refused = cli("import", str(book), "--kind", "articles", "--json", "--as", "dayang")
    assert refused.exit_code == 1
    errors = json.loads(refused.output)["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(FIRST, "乡镇代码")]
    assert "瓜沥镇 (330109113) is outside your area" in errors[0]["message"]
    assert not Article.objects.exists()


def test_the_import_page_takes_the_publicity_kinds(client_for, users):
    client = client_for("guali")
    upload = SimpleUploadedFile("稿件.xlsx", office_book(ARTICLE_HEADER, ARTICLE_ROWS))
    response = client.post("/imports/upload/", {"kind": "articles", "file": upload})
    assert response.status_code == 302, response.content[:300]
    assert client.post(response["Location"]).status_code == 302
    assert Article.objects.count() == 4 and ImportBatch.objects.get().kind == "articles"


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_export_imports_back_unchanged(users, tmp_path, fmt):
    town = OrgUnit.objects.get(code=OWN)
    run_import(users["guali"], office_book(ARTICLE_HEADER, ARTICLE_ROWS), "稿件.xlsx", "articles")
    run_import(users["guali"], office_book(QUOTA_HEADER, [[OWN, "2020Q4", 3, "市", "约稿"], [OWN, "2021", 12, "", ""]]),
               "约稿.xlsx", "article_quotas")
    # Records entered on the pages: a text a spreadsheet would run as a formula, a reason of two lines.
    services.create(SYSTEM, Article, town=town, level="county", outlet="=萧山发布", published_on=date(2020, 8, 1),
                    title="-瓜沥：早市", link="")
    services.create(SYSTEM, Honour, unit=town, kind="unit", recipient="瓜沥镇人民政府", title="先进集体",
                    issuer="萧山区人民政府", awarded_on=date(2020, 12, 28), reason="第一行\r\n第二行", occasion="")
    services.create(SYSTEM, Honour, unit=OrgUnit.objects.get(code=COUNTY), kind="person", recipient="王建国",
                    title="先进个人", issuer="杭州市人民政府", awarded_on=date(2020, 12, 28))
    counts = {"articles": 5, "article_quotas": 2, "honours": 2}
    for kind, user in (("articles", "guali"), ("article_quotas", "guali"), ("honours", "xiaoshan")):
        out = tmp_path / f"{kind}.{fmt}"
        exported = cli("export", "--kind", kind, "--format", fmt, "--output", str(out), "--as", user)
        assert exported.exit_code == 0, exported.output
        if fmt == "xlsx":
            header = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()[0]
            assert header == [c.header for c in KINDS[kind].columns]
        again = cli("import", str(out), "--kind", kind, "--json", "--as", user)
        summary = json.loads(again.output)
        assert summary["errors"] == [] and summary["counts"] == {
            "created": 0, "updated": 0, "unchanged": counts[kind], "deleted": 0}, (kind, summary)
    # A town's user exports only the town's honour (not the county's), and imports it back unchanged.
    out = tmp_path / f"town-honours.{fmt}"
    assert cli("export", "--kind", "honours", "--format", fmt, "--output", str(out), "--as", "guali").exit_code == 0
    again = json.loads(cli("import", str(out), "--kind", "honours", "--json", "--as", "guali").output)
    assert again["counts"]["unchanged"] == 1 and again["errors"] == []


def test_publicity_rules_agree_in_python_and_the_database_and_show_on_the_quality_list(users, client_for):
    today, town, county = timezone.localdate(), OrgUnit.objects.get(code=OWN), OrgUnit.objects.get(code=COUNTY)
    records = {
        "article": [services.create(SYSTEM, Article, town=town, level="city", outlet="杭州日报", published_on=day,
                                    title=f"稿件 {day}", link=link)
                    for day, link in ((date(2020, 1, 1), ""), (date(2020, 1, 2), "https://a.cn/1"),
                                      (today + timedelta(days=1), "https://a.cn/2"))],
        "quota": [services.create(SYSTEM, Quota, town=town, period=period, articles=owed)
                  for period, owed in (("2020", 0), ("2021", 4))],
        "honour": [services.create(SYSTEM, Honour, unit=unit, kind="unit", recipient=unit.name, title="先进集体",
                                   issuer="省政府", awarded_on=day)
                   for unit, day in ((town, date(2020, 12, 28)), (county, today + timedelta(days=5)))],
    }
    for object_type, objects in records.items():
        model = type(objects[0])
        for rule in quality.rules_for(object_type):
            in_python = {o.pk for o in objects if rule.test(o, today)}
            in_db = set(model.objects.filter(rule.q(today)).values_list("pk", flat=True))
            assert in_python == in_db and in_python, rule.code  # each rule finds one record at least
    # Entered on the pages, not imported: opening the list finds them, scoped like the records.
    town_list = client_for("guali").get("/quality/").content.decode()
    assert "稿件 2020-01-01" in town_list and "瓜沥镇 2020" in town_list and "萧山区 先进集体" not in town_list
    county_list = client_for("xiaoshan").get("/quality/", {"kind": "honour"}).content.decode()
    assert "萧山区 先进集体" in county_list
    # And on the record's own page, as every record's page shows its warnings.
    no_link = records["article"][0]
    page = client_for("guali").get(f"/publicity/articles/{no_link.pk}/").content.decode()
    assert 'id="record-warnings"' in page and "数据质量提示" in page, page[:2000]
    linked = client_for("guali").get(f"/publicity/articles/{records['article'][1].pk}/").content.decode()
    assert "数据质量提示" not in linked
