"""Briefings (工作简报): the cockpit's figures as xlsx, docx and PDF, from the CLI, the API and the page.

The figures are held to `/api/rollups/` for the same unit, month and programme: each format is
read back (openpyxl, python-docx, pdftotext) and compared with what the API answers. PDF and
chart rendering take a second or two each, so the tests share a handful of renders.
"""

import io
import re
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from urllib.parse import quote

import openpyxl
import pytest
from click.testing import CliRunner
from django.urls import reverse
from django.utils import translation

from townbrain.cli import main
from townbrain.cockpit import figures
from townbrain.cockpit.figures import Cockpit
from townbrain.core.models import OrgUnit
from townbrain.core.numbers import amount, percent
from townbrain.core.panels import Card, Chart, Panel, PanelData, Series, Table
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme
from townbrain.projects import services
from townbrain.projects.tests.test_projects import make_project
from townbrain.reports import briefing
from townbrain.reports.make_template import make as make_template

OWN, OTHER = "330109113", "330182107"
ROLLUP_FIGURES = ("planned_to_start", "started", "start_rate", "investment_plan", "investment_done",
                  "investment_rate", "laggards")


@pytest.fixture
def ledger(users):
    """By the end of September 2020: 瓜沥镇 three projects due, two started (one reported);
    城厢街道 one started; 大洋镇 two due, one started. So 萧山区 3 of 4 (75.0%), 杭州市 4 of 6 (66.7%)."""
    def started(town, name, start, cumulative):
        project = make_project(town, name=name, status="started", actual_start=start)
        services.report_progress(SYSTEM, project, "202009", cumulative_investment=Decimal(cumulative),
                                 progress_percent=Decimal("40"), status="started")
        return project

    started(OWN, "瓜沥镇美丽街区", date(2020, 3, 10), "150")
    started(OWN, "瓜沥镇农贸市场", date(2020, 4, 2), "33")
    make_project(OWN, name="瓜沥镇文化礼堂", planned_start=date(2020, 6, 1))
    started("330109001", "城厢街道公园", date(2020, 4, 1), "120")
    started(OTHER, "大洋镇污水管网", date(2020, 5, 1), "80")
    make_project(OTHER, name="大洋镇游客中心", planned_start=date(2020, 8, 1))


def rollup(api_for, user, org, period="202009"):
    response = api_for(user).get("/api/rollups/", {"org": org, "period": period, "programme": "meili"})
    assert response.status_code == 200, response.content
    return response.json()


def zh_cockpit(user, code, period="202009"):
    with translation.override("zh-hans"):
        return figures.build(user, OrgUnit.objects.get(code=code), Programme.objects.get(code="meili"), period)


def card_labels(cockpit) -> dict:
    """Card key -> label of the projects panel (the figures /api/rollups/ answers)."""
    panel, data = next((p, d) for p, d in cockpit.sections if p.key == "projects")
    return {c.key: c.label for c in data.cards}


def pdf_text(path_or_bytes, first=None, last=None) -> str:
    assert shutil.which("pdftotext"), "pdftotext is missing: run scripts/install-system-deps.sh (poppler-utils)"
    args = ["pdftotext", "-enc", "UTF-8"]
    if first:
        args += ["-f", str(first), "-l", str(last or first)]
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else open(path_or_bytes, "rb").read()
    return subprocess.run([*args, "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def squeeze(text: str) -> str:
    """Text without whitespace: pdftotext breaks lines where the layout does."""
    return "".join(text.split())


# --- the figures, in each format, equal /api/rollups/ ----------------------------------------------


def test_pdf_from_the_cli_holds_the_title_unit_and_start_rate_of_the_api(api_for, ledger, users, tmp_path):
    expected = rollup(api_for, "hangzhou", "3301")
    assert expected["start_rate"] == 66.7 and expected["planned_to_start"] == 6
    out = tmp_path / "hangzhou.pdf"
    result = CliRunner().invoke(main, ["report", "--org", "3301", "--period", "202009", "--programme", "meili",
                                       "--format", "pdf", "--output", str(out), "--as", "hangzhou"])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    text = squeeze(pdf_text(data))
    cockpit = zh_cockpit(users["hangzhou"], "3301")
    assert squeeze(cockpit.title) in text and "杭州市" in text
    # 开工率 exactly as the cockpit's card writes it, and the card is the API's figure.
    assert percent(expected["start_rate"]) == "66.7%" and "66.7%" in text
    for key in ("planned_to_start", "started", "laggards"):
        assert amount(expected[key]) in text
    assert percent(expected["investment_rate"]) in text
    # The children's table: each county's 开工率 as the API has it.
    for child in expected["children"]:
        if child["planned_to_start"]:
            assert squeeze(child["name"]) in text and percent(child["start_rate"]) in text

    # The CJK font named in the CSS is embedded (a subset), so the PDF reads the same anywhere.
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, check=True, text=True).stdout
    cjk = [line for line in fonts.splitlines() if "Noto-Sans-CJK-SC" in line or "NotoSansCJKsc" in line]
    assert cjk, fonts
    assert all(line.split()[-5] == "yes" for line in cjk), fonts  # the "emb" column


def test_xlsx_figures_equal_the_api(api_for, ledger, users):
    expected = rollup(api_for, "xiaoshan", "330109")
    cockpit = zh_cockpit(users["xiaoshan"], "330109")
    book = openpyxl.load_workbook(io.BytesIO(briefing.render(cockpit, "xlsx")))
    overview = book.worksheets[0]
    assert overview["A1"].value == cockpit.title and "萧山区" in overview["B3"].value
    labels = card_labels(cockpit)
    values = {row[1].value: row[2] for row in overview.iter_rows(min_row=9) if row[1].value}
    for key in ROLLUP_FIGURES:
        cell = values[labels[key]]
        if key.endswith("rate"):  # stored as a fraction, shown with the cockpit's one decimal
            assert cell.number_format == "0.0%" and round(cell.value * 100, 1) == expected[key], key
        else:
            assert cell.value == round(float(expected[key])), key
    assert expected["start_rate"] == 75.0

    # One sheet per section; the children's table with its header frozen and numbers right-aligned.
    titles = [str(p.title)[:31] for p, _d in cockpit.sections]
    assert book.sheetnames[1:] == titles
    sheet = book[titles[[p.key for p, _d in cockpit.sections].index("projects")]]
    assert sheet.freeze_panes is not None
    header_row = int(re.match(r"[A-Z]+(\d+)", sheet.freeze_panes).group(1)) - 1
    header = [c.value for c in sheet[header_row] if c.value]
    table = next(t for t in dict(cockpit.sections)[next(p for p, _d in cockpit.sections
                                                       if p.key == "projects")].tables)
    assert header == [str(c) for c in table.columns]
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=header_row + 1, max_row=header_row + len(table.rows))}
    for child in expected["children"]:
        if child["planned_to_start"]:
            row = rows[child["name"]]
            assert row[1].value == child["planned_to_start"] and row[2].value == child["started"]
            assert round(row[3].value * 100, 1) == child["start_rate"] and row[3].alignment.horizontal == "right"
    assert sheet._charts or any(ws._charts for ws in book.worksheets)  # native charts over the data


def test_docx_from_an_offices_own_template(api_for, ledger, users, settings, tmp_path):
    """An office swaps the letterhead by dropping its template in; units below it use it too."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn

    settings.HOME = tmp_path
    own = make_template(tmp_path / "briefing-templates" / "3301.docx")
    document = docx.Document(str(own))
    letterhead = next(p for p in document.paragraphs if "××办公室" in p.text)
    letterhead.runs[0].text = "杭州市美丽城镇建设办公室"
    document.save(str(own))

    expected = rollup(api_for, "xiaoshan", "330109")
    cockpit = zh_cockpit(users["xiaoshan"], "330109")
    assert briefing.template_for(cockpit.org) == own
    rendered = docx.Document(io.BytesIO(briefing.render(cockpit, "docx")))
    paragraphs = [p.text for p in rendered.paragraphs]
    assert "杭州市美丽城镇建设办公室" in paragraphs and cockpit.title in paragraphs
    assert not any("{{" in p or "{%" in p for p in paragraphs)
    labels = card_labels(cockpit)
    cards = {row.cells[0].text: row.cells[1].text for table in rendered.tables for row in table.rows}
    assert cards[labels["start_rate"]] == percent(expected["start_rate"]) == "75.0%"
    assert cards[labels["planned_to_start"]].startswith(amount(expected["planned_to_start"]))
    assert cards[labels["investment_done"]].startswith(amount(expected["investment_done"]))
    # The children's table repeats its header row on every page; charts are pictures.
    table = next(t for p, d in cockpit.sections if p.key == "projects" for t in d.tables)
    children = next(t for t in rendered.tables if [c.text for c in t.rows[0].cells] == [str(c) for c in table.columns])
    assert children.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert [c.text for c in children.rows[1].cells] == [str(v) for v in table.rows[0]]
    numbers = [c.paragraphs[0].alignment for c in children.rows[1].cells]
    assert numbers == [WD_ALIGN_PARAGRAPH.RIGHT if n else None for n in table.numeric]
    assert len(rendered.inline_shapes) == sum(len(d.charts) for _p, d in cockpit.sections)
    # Another county keeps the default letterhead.
    assert briefing.template_for(OrgUnit.objects.get(code="52")) == briefing.DEFAULT_DOCX


def test_a_long_table_repeats_its_header_on_every_page(tree):
    """Rendered generically: any panel's table, however long, pages with its header on each page."""
    panel = Panel("long", "长表", 1, lambda ctx: None)
    rows = [[f"第{i}行", amount(i * 1000), percent(i / 3)] for i in range(1, 121)]
    data = PanelData(cards=[Card("n", "条数", amount(len(rows)), "个")],
                     tables=[Table("t", "很长的表", ["名称", "金额（万元）", "比例"], rows, numeric=[False, True, True])],
                     charts=[Chart("c", "图", "bar", ["甲", "乙"], [Series("数", [1, 2], "个")])])
    cockpit = Cockpit(org=OrgUnit.objects.get(code="3301"), programme=None, period="202009", rollup=None,
                      sections=[(panel, data)])
    pdf = briefing.render(cockpit, "pdf")
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True,
                                                             check=True).stdout.decode()).group(1))
    assert pages >= 3
    for page in range(2, pages + 1):
        text = pdf_text(pdf, page)
        assert "金额（万元）" in text and "比例" in text, page
    assert "第120行" in pdf_text(pdf, pages)


# --- the CLI --------------------------------------------------------------------------------------


def report(*args):
    return CliRunner().invoke(main, ["report", *args])


def test_cli_refuses_with_one_line(ledger, tmp_path):
    out = tmp_path / "x.xlsx"
    unknown = report("--org", "339999", "--period", "202009", "--format", "xlsx", "--output", str(out))
    assert unknown.exit_code == 1 and unknown.output.startswith("townbrain: error:"), unknown.output
    assert "339999" in unknown.output and len(unknown.output.strip().splitlines()) == 1
    outside = report("--org", OTHER, "--period", "202009", "--format", "xlsx", "--output", str(out), "--as", "guali")
    assert outside.exit_code == 1 and "outside your area" in outside.output
    empty = report("--org", OWN, "--period", "201901", "--format", "xlsx", "--output", str(out))
    assert empty.exit_code == 1 and "瓜沥镇" in empty.output and "2019" in empty.output
    assert not out.exists()
    # Without --programme: the unit's default programme; as the system, any unit.
    ok = report("--org", OTHER, "--period", "202009", "--format", "xlsx", "--output", str(out))
    assert ok.exit_code == 0, ok.output
    assert openpyxl.load_workbook(out).worksheets[0]["A1"].value == zh_cockpit(SYSTEM, OTHER).title


# --- the API and the page -------------------------------------------------------------------------


def test_api_download_and_refusals(api_for, ledger):
    api = api_for("guali")
    ok = api.get("/api/briefings/", {"org": OWN, "period": "202009", "programme": "meili", "format": "xlsx"})
    assert ok.status_code == 200 and ok["Content-Type"] == briefing.FORMATS["xlsx"]
    assert ok["Content-Disposition"].startswith("attachment; filename*=utf-8''" + quote("瓜沥镇"))
    book = openpyxl.load_workbook(io.BytesIO(ok.content))
    assert "瓜沥镇" in book.worksheets[0]["B3"].value

    outside = api.get("/api/briefings/", {"org": OTHER, "period": "202009", "format": "pdf"})
    unknown = api.get("/api/briefings/", {"org": "330109199", "period": "202009", "format": "pdf"})
    assert outside.status_code == unknown.status_code == 404
    assert "大洋镇" not in outside.content.decode()
    bad = api.get("/api/briefings/", {"org": OWN, "period": "202009", "format": "doc"})
    assert bad.status_code == 400 and "format" in bad.json()
    assert api.get("/api/briefings/", {"format": "pdf"}).json().keys() == {"org"}
    assert "period" in api.get("/api/briefings/", {"org": OWN, "period": "2020-13", "format": "pdf"}).json()
    assert "programme" in api.get("/api/briefings/", {"org": OWN, "programme": "nope", "format": "pdf"}).json()
    assert api.get("/api/briefings/", {"org": OWN, "period": "201901", "format": "pdf"}).status_code == 404


def test_page_download(client_for, ledger):
    client = client_for("guali")
    ok = client.get(reverse("briefing-download", args=[OWN, "xlsx"]), {"programme": "meili", "period": "202009"})
    assert ok.status_code == 200 and ok["Content-Type"] == briefing.FORMATS["xlsx"]
    assert client.get(reverse("briefing-download", args=[OTHER, "xlsx"])).status_code == 404
    assert client.get(reverse("briefing-download", args=[OWN, "txt"])).status_code == 404
    assert client.get(reverse("briefing-download", args=[OWN, "xlsx"]), {"period": "201901"}).status_code == 404


@pytest.mark.parametrize("text, number, fmt", [
    ("1,892", 1892, "#,##0"), ("97.0%", 0.97, "0.0%"), ("66.7%", 0.667, "0.0%"), ("86.37", 86.37, "0.00"),
    ("1,234.50", 1234.5, "#,##0.00"), ("—", "—", None), ("2020-03-01", "2020-03-01", None), (7, 7, "#,##0"),
])
def test_xlsx_keeps_the_cockpits_figures_as_numbers(text, number, fmt):
    assert briefing.as_number(text) == (number, fmt)
