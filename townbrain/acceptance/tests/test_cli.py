"""`townbrain acceptance open|list`."""

import json

from click.testing import CliRunner

from townbrain.cli import main
from townbrain.core.models import AuditEntry

from ..models import Acceptance


def run(*args):
    return CliRunner().invoke(main, ["acceptance", *args], catch_exceptions=False)


def test_open_and_list(enrolled, users):
    result = run("open", "--programme", "meili", "--year", "2022", "--org", "3301")
    assert result.exit_code == 0, result.output
    assert "4 acceptances opened, 0 were open already." in result.output and "瓜沥镇" in result.output
    rows = AuditEntry.objects.filter(action="acceptance.open")
    assert rows.count() == 4 and set(rows.values_list("source", flat=True)) == {"cli"}
    again = run("open", "--programme", "meili", "--year", "2022", "--org", "3301")
    assert "0 acceptances opened, 4 were open already." in again.output

    data = json.loads(run("list", "--programme", "meili", "--year", "2022", "--json").output)
    assert [r["town"] for r in data["results"]] == ["330109001", "330109113", "330182100", "330182107"]
    first = data["results"][0]
    assert first["stage"] == "town" and first["unanswered"] == first["items"] > 10
    scoped = json.loads(run("list", "--programme", "meili", "--year", "2022", "--json", "--as", "jiande").output)
    assert [r["town"] for r in scoped["results"]] == ["330182100", "330182107"]
    text = run("list", "--programme", "meili", "--year", "2022", "--org", "330109").output
    assert "瓜沥镇" in text and "大洋镇" not in text and "2 acceptances." in text


def test_open_as_a_user_is_scoped(enrolled, users):
    result = CliRunner().invoke(main, ["acceptance", "open", "--programme", "meili", "--year", "2022", "--org",
                                       "330182", "--as", "guali"])
    assert result.exit_code == 1 and "townbrain: error:" in result.output and "outside your area" in result.output
    assert not Acceptance.objects.exists()
    ok = run("open", "--programme", "meili", "--year", "2022", "--org", "330109", "--as", "xiaoshan")
    assert ok.exit_code == 0 and Acceptance.objects.count() == 2
    assert set(AuditEntry.objects.filter(action="acceptance.open").values_list("actor_name", flat=True)) == {"xiaoshan"}


def test_errors_are_one_line(enrolled):
    result = CliRunner().invoke(main, ["acceptance", "open", "--programme", "nope", "--year", "2022", "--org", "33"])
    assert result.exit_code == 1 and "no programme with code nope" in result.output
    result = CliRunner().invoke(main, ["acceptance", "open", "--programme", "meili", "--year", "2022", "--org", "12x"])
    assert result.exit_code == 1 and result.output.startswith("townbrain: error:")
