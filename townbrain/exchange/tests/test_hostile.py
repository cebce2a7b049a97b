"""Hostile and messy files (issue 5, item 6), made for real: each gets a clear message and no write.

Every refusal is checked three ways: the status, the exact message in the active language (Chinese
by default: `says()` compares with the catalogue, and insists on Chinese wherever the catalogue has
the message), and that nothing was written — projects, import batches and audit rows all unchanged.
The files are real: .xls from xlwt, .ods from odfpy and by hand, an xlsx encrypted by msoffcrypto,
formulas from XlsxWriter (with a saved value) and openpyxl (without one), zip bombs built from a real
workbook.
"""

import csv
import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from django.utils.translation import gettext

from townbrain.core.models import AuditEntry
from townbrain.exchange.models import ImportBatch
from townbrain.exchange.pipeline import run_import
from townbrain.exchange.readers import MIB, read_grid
from townbrain.projects.models import Project

from .conftest import HEADER, xlsx

pytestmark = pytest.mark.django_db

CJK = re.compile("[\u4e00-\u9fff]")
ROW = ["GL-001", "瓜沥镇污水管网", "330109113", "meili", "功能便民环境美", 1200, 600, "2020-03-01", "谋划"]
NO_HEADER = "No header row with the required columns %(columns)s in the first %(n)s rows."
REQUIRED = "项目编号、项目名称、乡镇代码、所属计划"


@pytest.fixture(autouse=True)
def chinese():
    """Messages follow the active language; the default one is Chinese."""
    with translation.override("zh-hans"):
        yield


def written():
    return Project.objects.count(), ImportBatch.objects.count(), AuditEntry.objects.count()


def says(message, msgid, **params):
    """`message` is `msgid` in the active language — Chinese whenever the catalogue translates it."""
    template = gettext(msgid)
    assert message == (template % params if params else template)
    if translation.get_language() == "zh-hans" and template != msgid:
        assert CJK.search(template), f"{msgid!r} is not translated into Chinese"


def refused(actor, data, name, msgid=None, *, status="unreadable", kind="projects", **params):
    """Import `data`; it must fail as a whole with `msgid` (when given) and write nothing."""
    before = written()
    summary = run_import(actor, data, name, kind)
    assert summary["status"] == status, summary
    assert summary["id"] is None and summary["counts"]["created"] == summary["counts"]["updated"] == 0
    assert written() == before, "a refused import wrote something"
    if msgid:
        says(summary["errors"][0]["message"], msgid, **params)
    return summary


def imported(actor, data, name, **kw):
    summary = run_import(actor, data, name, "projects", **kw)
    assert summary["errors"] == [] and summary["status"] in ("applied", "dry_run"), summary
    return summary


def csv_bytes(rows, encoding="utf-8") -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode(encoding)


# --- formats -------------------------------------------------------------------------------------


def test_real_xls_from_xlwt(users):
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("项目")
    day = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for r, row in enumerate([HEADER, ROW]):
        for c, value in enumerate(row):
            if c == 7 and r:
                sheet.write(r, c, datetime(2020, 3, 1), day)  # a real date cell
            else:
                sheet.write(r, c, value)
    buf = io.BytesIO()
    book.save(buf)
    data = buf.getvalue()
    assert data.startswith(b"\xd0\xcf\x11\xe0")  # OLE2, the Excel 97-2003 format
    assert imported(users["guali"], data, "项目.xls")["counts"]["created"] == 1
    project = Project.objects.get(code="GL-001")
    assert project.planned_start == date(2020, 3, 1) and project.total_investment == Decimal("1200")
    assert imported(users["guali"], data, "项目.xls")["counts"]["unchanged"] == 1


def _ods_by_hand(rows) -> bytes:
    """The smallest ODS LibreOffice writes: mimetype first and stored, content.xml, the manifest."""
    cells = []
    for row in rows:
        out = []
        for v in row:
            if isinstance(v, int | float):
                out.append(f'<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p>'
                           "</table:table-cell>")
            else:
                out.append(f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>')
        cells.append("<table:table-row>" + "".join(out) + "</table:table-row>")
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
        '<office:spreadsheet><table:table table:name="项目">' + "".join(cells)
        # what LibreOffice writes after the data: a million empty rows, which must not count
        + '<table:table-row table:number-rows-repeated="1048570"><table:table-cell '
          'table:number-columns-repeated="1024"/></table:table-row>'
        + "</table:table></office:spreadsheet></office:body></office:document-content>")
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        zf.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        zf.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _ods_by_odfpy(rows) -> bytes:
    odf = pytest.importorskip("odf.opendocument")
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = odf.OpenDocumentSpreadsheet()
    table = Table(name="项目")
    for row in rows:
        tr = TableRow()
        for v in row:
            cell = (TableCell(valuetype="float", value=v) if isinstance(v, int | float)
                    else TableCell(valuetype="string"))
            cell.addElement(P(text=str(v)))
            tr.addElement(cell)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    buf = io.BytesIO()
    doc.write(buf)
    return buf.getvalue()


@pytest.mark.parametrize("make", [_ods_by_hand, _ods_by_odfpy], ids=["by-hand", "odfpy"])
def test_real_ods(users, make):
    data = make([HEADER, ROW, ["GL-002", "瓜沥镇农贸市场", 330109113, "meili", "", "1,500", 500, "2020/4/1", "前期"]])
    summary = imported(users["guali"], data, "项目.ods")
    assert summary["counts"]["created"] == 2
    assert Project.objects.get(code="GL-002").town_id == "330109113"


def test_encrypted_xlsx(users):
    msoffcrypto = pytest.importorskip("msoffcrypto")
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(xlsx([HEADER, ROW]))).encrypt("mima123", out)
    data = out.getvalue()
    assert data.startswith(b"\xd0\xcf\x11\xe0")  # Excel wraps an encrypted xlsx in an OLE2 container
    assert msoffcrypto.OfficeFile(io.BytesIO(data)).is_encrypted()
    refused(users["guali"], data, "加密.xlsx",
            "The workbook is password-protected; save it without a password and try again.")


@pytest.mark.parametrize("keep", [0.97, 0.5, 0.1])
def test_truncated_xlsx(users, keep):
    data = xlsx([HEADER, ROW] * 20)
    refused(users["guali"], data[:int(len(data) * keep)], "断了.xlsx",
            "The file is damaged or truncated (not a complete xlsx/ods archive).")


# A real (tiny) PDF: text only, so its first 4 KB have no NUL byte to give it away.
PDF = (b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>>"
       b" endobj\n3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]>> endobj\ntrailer <</Root 1 0 R>>\n"
       b"%%EOF\n")
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
       b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.mark.parametrize("data", [PDF, PNG, b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(100),
                                  b"MZ\x90\x00\x03" + bytes(100)], ids=["pdf", "png", "jpeg", "exe"])
def test_not_a_spreadsheet_renamed_xlsx(users, data):
    refused(users["guali"], data, "项目表.xlsx", "This is not a spreadsheet: use .xlsx, .xls, .ods, .csv or .json.")


def test_web_page_saved_as_xls(users):
    html = ("<html><head><meta charset='utf-8'></head><body><table><tr><td>项目编号</td><td>项目名称</td></tr>"
            "<tr><td>GL-001</td><td>瓜沥镇污水管网</td></tr></table></body></html>").encode()
    refused(users["guali"], html, "导出.xls", "This file is a web page or Excel 2003 XML saved under a spreadsheet "
            "name; open it in Excel or WPS and save it as .xlsx.")


@pytest.mark.parametrize("data", [b"", b"  \r\n\r\n  ", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"],
                         ids=["0-bytes", "blank", "bom", "bom-newline"])
def test_empty_file(users, data):
    refused(users["guali"], data, "空.xlsx", "The file is empty.")


def test_empty_workbook_and_title_only(users):
    refused(users["guali"], xlsx([]), "空表.xlsx", NO_HEADER, columns=REQUIRED, n=10)
    refused(users["guali"], xlsx([["瓜沥镇2020年美丽城镇建设项目表"]]), "标题.xlsx", NO_HEADER, columns=REQUIRED, n=10)
    refused(users["guali"], xlsx([HEADER]), "表头.xlsx", "The file has no data rows.")


def test_header_row_missing(users):
    refused(users["guali"], xlsx([ROW, ["GL-002", "瓜沥镇农贸市场", "330109113", "meili"]]), "无表头.xlsx", NO_HEADER,
            columns=REQUIRED, n=10)
    # only some headers: the message names the ones that are missing
    refused(users["guali"], xlsx([["项目编号", "项目名称", "状态"], ["GL-001", "x", "谋划"]]), "缺列.xlsx", NO_HEADER,
            columns="乡镇代码、所属计划", n=10)


def test_header_in_row_three_under_a_merged_title(users):
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.merge_range(0, 0, 0, len(HEADER) - 1, "瓜沥镇2020年美丽城镇建设项目表")
    sheet.write_row(1, 0, ["填报单位：瓜沥镇", None, None, None, None, None, None, "单位：万元"])
    sheet.write_row(2, 0, HEADER)
    sheet.write_row(3, 0, ROW)
    book.close()
    summary = imported(users["guali"], buf.getvalue(), "项目.xlsx")
    assert summary["counts"]["created"] == 1
    # errors are numbered as the spreadsheet shows them: the data row is row 4
    bad = xlsx([["瓜沥镇2020年项目表"], [], HEADER, ROW[:5] + ["一千二"] + ROW[6:]])
    summary = refused(users["guali"], bad, "项目.xlsx", status="failed")
    assert (summary["errors"][0]["row"], summary["errors"][0]["column"]) == (4, "总投资(万元)")


@pytest.mark.parametrize(("merge", "row", "first", "last"), [((0, 0, 0, 1, "项目编号"), 1, "A", "B"),
                                                            ((2, 4, 2, 6, "投资"), 3, "E", "G")])
def test_merged_header_cells(users, merge, row, first, last):
    rows = [HEADER, ROW] if row == 1 else [["项目表"], [], HEADER, ROW]
    refused(users["guali"], xlsx(rows, merge=merge), "合并.xlsx", "Header cells in row %(row)s, columns "
            "%(first)s–%(last)s are merged; unmerge them so each column has its own header.", row=row, first=first,
            last=last)


def test_formulas_with_saved_values_are_read_by_value(users):
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, ROW)
    sheet.write_formula(1, 5, "=G2*2", None, 1200)  # 总投资 = 2 × 年度计划, saved as Excel does
    sheet.write_formula(1, 1, '="瓜沥镇"&"污水管网"', None, "瓜沥镇污水管网")
    book.close()
    imported(users["guali"], buf.getvalue(), "公式.xlsx")
    project = Project.objects.get(code="GL-001")
    assert project.total_investment == Decimal("1200") and project.name == "瓜沥镇污水管网"


def test_formula_without_saved_value_is_an_empty_cell(users):
    """openpyxl writes formulas without computing them: the cell has no value to import."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(ROW)
    sheet["B2"] = '="瓜沥镇"&"污水管网"'
    buf = io.BytesIO()
    book.save(buf)
    summary = refused(users["guali"], buf.getvalue(), "公式.xlsx", status="failed")
    error = summary["errors"][0]
    assert (error["row"], error["column"], error["value"]) == (2, "项目名称", "")
    says(error["message"], "This column is required.")


# --- messy cells ---------------------------------------------------------------------------------


def test_full_width_digits_and_spaces_in_numbers_codes_and_dates(users):
    rows = [HEADER + ["实际开工日期", "经度"],
            ["ＧＬ－００１", " 瓜沥镇污水管网 ", "３３０ １０９ １１３", " meili ", "功能便民环境美", "１，２００．５",
             "6 0 0万元", "２０２０年３月１日", "开工", "２０２０／３／５", "１２０．４５５"]]
    imported(users["guali"], xlsx(rows), "全角.xlsx")
    p = Project.objects.get()
    assert (p.code, p.name, p.town_id, p.programme.code) == ("GL-001", "瓜沥镇污水管网", "330109113", "meili")
    assert p.total_investment == Decimal("1200.5") and p.annual_plan == Decimal("600")
    assert (p.planned_start, p.actual_start, p.status) == (date(2020, 3, 1), date(2020, 3, 5), "started")
    assert p.longitude == Decimal("120.455")


@pytest.mark.parametrize(("cell", "msgid", "params"), [
    ("一千二", "“%(value)s” is not a number.", {"value": "一千二"}),
    ("12,00", "“%(value)s” is ambiguous: a comma separates thousands only (1,234.5). Write 12.50 for a decimal, "
              "1250 for a whole number.", {"value": "12,00"}),  # a decimal comma? ambiguous
    ("1200元", "“%(value)s” is in 元; amounts are in 万元 (10,000 yuan): divide by 10,000.", {"value": "1200元"}),
    ("-5", "%(value)s is negative; amounts cannot be negative.", {"value": "-5"}),
])
def test_numbers_that_are_wrong_or_ambiguous(users, cell, msgid, params):
    rows = [HEADER, ROW[:5] + [cell] + ROW[6:]]
    summary = refused(users["guali"], xlsx(rows), "数.xlsx", status="failed")
    error = summary["errors"][0]
    assert (error["row"], error["column"], error["value"]) == (2, "总投资(万元)", cell)
    says(error["message"], msgid, **params)


def test_codes_typed_as_numbers(users):
    """Division codes are numbers anyway (a numeric cell, even 3.30109113E+08, is the same code). A project
    code is free text: a cell holding the number 12 reads "12" — Excel has already dropped the zeros of
    "0012" — so offices keep the column as text (the template does)."""
    rows = [HEADER, ["0012", "文本编号", "330109113", "meili", "", 100, 50, "2020-03-01", "谋划"],
            [12, "数字编号", 330109113.0, "meili", "", 100, 50, "2020-03-01", "谋划"],
            ["GL-3", "科学计数", 3.30109113e8, "meili", "", 100, 50, "2020-03-01", "谋划"]]
    imported(users["guali"], xlsx(rows), "编号.xlsx")
    assert set(Project.objects.values_list("code", "town_id")) == {("0012", "330109113"), ("12", "330109113"),
                                                                  ("GL-3", "330109113")}
    # a division code cannot lose its leading digits: one with a leading zero is refused, in Chinese
    bad = [HEADER, ["GL-4", "坏代码", "0012", "meili", "", 100, 50, "2020-03-01", "谋划"]]
    error = refused(users["guali"], xlsx(bad), "编号.xlsx", status="failed")["errors"][0]
    assert (error["row"], error["column"], error["value"]) == (2, "乡镇代码", "0012")
    assert "不能以 0 开头" in error["message"]


@pytest.mark.parametrize("cell", ["2020-09-30", "2020/9/30", "2020年9月30日", "2020.9.30", "20200930", 20200930,
                                  "2020-09-30 00:00:00", "2020/9/30 0:00", "２０２０年９月３０日", 44104, 44104.0,
                                  datetime(2020, 9, 30)])
def test_dates_written_every_common_way(users, cell):
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, ROW)
    if isinstance(cell, datetime):
        sheet.write_datetime(1, 7, cell, book.add_format({"num_format": "yyyy/m/d"}))
    else:
        sheet.write(1, 7, cell)  # 44104 is the Excel serial of 2020-09-30, in a cell without date format
    book.close()
    imported(users["guali"], buf.getvalue(), "日期.xlsx")
    assert Project.objects.get().planned_start == date(2020, 9, 30)


def test_csv_saved_from_excel_with_serial_dates(users):
    rows = [HEADER, ROW[:7] + ["44104"] + ROW[8:], ["GL-002", "农贸市场", "330109113", "meili", "", 10, 5, "44104.0",
                                                   "谋划"]]
    imported(users["guali"], csv_bytes(rows, "gbk"), "excel.csv")
    assert set(Project.objects.values_list("planned_start", flat=True)) == {date(2020, 9, 30)}


@pytest.mark.parametrize("cell", ["2020-13-01", "2020-2-30", "30/9/2020", "9/30/20", "2020年9月", "明年"])
def test_dates_that_are_wrong_or_ambiguous(users, cell):
    summary = refused(users["guali"], xlsx([HEADER, ROW[:7] + [cell] + ROW[8:]]), "日期.xlsx", status="failed")
    error = summary["errors"][0]
    assert (error["row"], error["column"], error["value"]) == (2, "计划开工日期", cell)
    says(error["message"], "“%(value)s” is not a date; write it as 2020-09-30, 2020/9/30 or 2020年9月30日.",
         value=cell)


def test_trailing_blank_rows(users):
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet()
    yellow = book.add_format({"bg_color": "#FFFF00", "border": 1})
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, ROW)
    for r in range(2, 2000):  # formatted but empty, as when a clerk colours whole rows
        sheet.write_blank(r, 0, None, yellow)
        sheet.write_string(r, 1, " ")
    book.close()
    assert imported(users["guali"], buf.getvalue(), "空行.xlsx")["counts"]["created"] == 1
    data = csv_bytes([HEADER, ROW[:1] + ["另一个"] + ROW[2:]]) + b",,,,,,,,\r\n" * 500 + b"\r\n" * 100
    summary = imported(users["guali"], data.replace(b"GL-001", b"GL-002"), "空行.csv")
    assert summary["counts"]["created"] == 1 and Project.objects.count() == 2


# --- limits and bombs ----------------------------------------------------------------------------


def test_rows_beyond_the_configured_limit(users, settings):
    settings.IMPORT_MAX_ROWS = 100
    many = [HEADER] + [[f"GL-{i:04d}", "项目", "330109113", "meili"] for i in range(101)]
    limit = {"limit": "100"}
    for data, name in [(csv_bytes(many), "多.csv"), (xlsx(many), "多.xlsx")]:
        refused(users["guali"], data, name, "The file has more than %(limit)s rows; split it.", **limit)
    # exactly at the limit is fine
    assert imported(users["guali"], xlsx(many[:101]), "100.xlsx", dry_run=True)["counts"]["created"] == 100


def test_a_million_row_csv_against_the_default_limit(users, settings):
    assert settings.IMPORT_MAX_ROWS == 200_000
    body = b"".join(b"P%07d,x,330109113,meili\n" % i for i in range(1_000_001))
    data = "项目编号,项目名称,乡镇代码,所属计划\n".encode() + body
    assert len(data) < settings.IMPORT_MAX_BYTES  # refused for its rows, not its size
    refused(users["guali"], data, "百万行.csv", "The file has more than %(limit)s rows; split it.", limit="200,000")


def test_oversize_upload_through_the_api(api_for, users, settings):
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    data = csv_bytes([HEADER] + [ROW] * 20000)
    assert len(data) > settings.IMPORT_MAX_BYTES
    before = written()
    response = api_for("guali").post("/api/imports/", {"file": SimpleUploadedFile("大.csv", data),
                                                       "kind": "projects"}, format="multipart",
                                     HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "unreadable" and body["id"] is None and written() == before
    says(body["errors"][0]["message"], "The file is %(size).1f MB; the limit is %(limit).0f MB.",
         size=len(data) / MIB, limit=1024 * 1024 / MIB)
    # the reader refuses it on its own too (the CLI and the page go through it)
    refused(users["guali"], data, "大.csv", "The file is %(size).1f MB; the limit is %(limit).0f MB.",
            size=len(data) / MIB, limit=1024 * 1024 / MIB)


def _rebuild(data: bytes, sheet_xml) -> bytes:
    """A real xlsx with its first sheet's XML replaced by what `sheet_xml(original)` writes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with zout.open(info.filename, "w", force_zip64=True) as f:
                    sheet_xml(zin.read(info.filename), f)
            else:
                zout.writestr(info.filename, zin.read(info.filename))
    return out.getvalue()


def test_zip_bomb_whose_sheet_inflates_hugely(users, settings):
    settings.IMPORT_MAX_UNZIPPED_BYTES = 20 * 1024 * 1024  # the default is 500 MB; the same check

    def padded(original, f):
        head, tail = original.split(b"<sheetData>")
        f.write(head + b"<sheetData>")
        spaces = b" " * (1 << 20)
        for _ in range(64):
            f.write(spaces)
        f.write(tail)

    bomb = _rebuild(xlsx([HEADER, ROW]), padded)
    assert len(bomb) < 200_000
    summary = refused(users["guali"], bomb, "炸弹.xlsx")
    total = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(bomb)).infolist())
    says(summary["errors"][0]["message"], "The workbook unpacks to %(size).0f MB, more than the server accepts; "
         "it may be a zip bomb.", size=total / MIB)


def test_few_bytes_that_stand_for_billions_of_cells(users):
    """Default limits. A 5 KB xlsx with one cell at XFD100000, or an 800-byte ODS repeating one cell over
    200,000 × 200, would make the reader allocate gigabytes; they are refused before it does."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, ROW)
    sheet.write(99_999, 16_383, "x")
    book.close()
    msgid = ("The sheet reaches row %(rows)s and column %(cols)s, more cells than the server accepts; it may be a "
             "zip bomb, or stray cells far from the table.")
    refused(users["guali"], buf.getvalue(), "远.xlsx", msgid, rows="100,000", cols="16,384")

    ods = _ods_by_hand([HEADER, ROW])
    with zipfile.ZipFile(io.BytesIO(ods)) as zf:
        content = zf.read("content.xml").decode()
    content = content.replace(
        '<table:table-row table:number-rows-repeated="1048570">',
        '<table:table-row table:number-rows-repeated="199998"><table:table-cell table:number-columns-repeated="200" '
        'office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row><table:table-row>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        zf.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    refused(users["guali"], buf.getvalue(), "重复.ods", msgid, rows="200,000", cols="200")


def test_sheet_of_millions_of_rows_is_refused_before_it_is_read(users):
    """A 1.5 MB xlsx holding 320,000 rows: refused without building them."""

    def many_rows(original, f):
        head, tail = original.split(b"</sheetData>")
        f.write(head)
        for start in range(3, 320_003, 16_000):
            f.write(b"".join(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>x</t></is></c></row>' % (r, r)
                             for r in range(start, start + 16_000)))
        f.write(b"</sheetData>" + tail)

    bomb = _rebuild(xlsx([HEADER, ROW]), many_rows)
    refused(users["guali"], bomb, "多.xlsx", "The file has more than %(limit)s rows; split it.", limit="200,000")


def test_messages_in_english(users):
    """The same refusals in English, word for word."""
    with translation.override("en"):
        cases = [
            (b"", "The file is empty."),
            (PDF, "This is not a spreadsheet: use .xlsx, .xls, .ods, .csv or .json."),
            (xlsx([HEADER, ROW])[:300], "The file is damaged or truncated (not a complete xlsx/ods archive)."),
            (xlsx([["瓜沥镇项目表"]]), "No header row with the required columns 项目编号、项目名称、乡镇代码、所属计划 in "
                                       "the first 10 rows."),
            (xlsx([HEADER, ROW], merge=(0, 0, 0, 1, "项目编号")), "Header cells in row 1, columns A–B are merged; "
                                                                   "unmerge them so each column has its own header."),
        ]
        for data, message in cases:
            assert refused(users["guali"], data, "x.xlsx")["errors"][0]["message"] == message
        error = refused(users["guali"], xlsx([HEADER, ROW[:7] + ["2020-13-01"] + ROW[8:]]), "x.xlsx",
                        status="failed")["errors"][0]
        assert error["message"] == "“2020-13-01” is not a date; write it as 2020-09-30, 2020/9/30 or 2020年9月30日."


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_cells_neutralised_against_formula_injection_round_trip(users, fmt):
    """Exports write '-改造 for -改造 (no spreadsheet may run it as a formula); importing the export
    back reads the value, not the apostrophe, so nothing changes (issue 5, items 4 and 7)."""
    from townbrain.exchange.exports import export

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["项目编号", "项目名称", "乡镇代码", "所属计划", "建设单位"])
    sheet.write_row(1, 0, ["GL-1", "=HYPERLINK(\"http://x\")", "330109113", "meili", "+86 瓜沥镇"])
    sheet.write_row(2, 0, ["GL-2", "-改造工程", "330109113", "meili", "@瓜沥镇"])
    book.close()
    imported(users["guali"], buf.getvalue(), "p.xlsx")
    assert Project.objects.get(code="GL-1").name == '=HYPERLINK("http://x")'
    data = export(users["guali"], "projects", fmt)
    if fmt != "json":  # spreadsheets get the apostrophe; JSON is not opened by one
        cells = {c for row in read_grid(data).rows for c in row}
        assert {"'-改造工程", "'@瓜沥镇", "'+86 瓜沥镇"} <= cells
    summary = imported(users["guali"], data, f"导出.{fmt}")
    assert summary["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "deleted": 0}
    assert Project.objects.get(code="GL-2").owner_unit == "@瓜沥镇"
