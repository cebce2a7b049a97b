import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from python_calamine import CalamineWorkbook

from townbrain.exchange.models import ImportBatch
from townbrain.projects.models import Project
from townbrain.testing.cli import run_cli

from .conftest import xlsx

pytestmark = pytest.mark.django_db


def _upload(api, data, name="p.xlsx", **fields):
    return api.post("/api/imports/", {"file": SimpleUploadedFile(name, data), "kind": "projects", **fields},
                    format="multipart")


def test_api_dry_run_apply_undo(api_for, users, project_rows):
    api = api_for("guali")
    plan = _upload(api, xlsx(project_rows), dry_run="true")
    assert plan.status_code == 200 and plan.json()["status"] == "dry_run"
    assert set(plan.json()) >= {"status", "counts", "errors", "id"}
    done = _upload(api, xlsx(project_rows))
    assert done.status_code == 201 and done.json()["counts"]["created"] == 2
    batch_id = done.json()["id"]
    assert api.get(f"/api/imports/{batch_id}/").json()["counts"]["created"] == 2
    # another town's user cannot see or undo it
    assert api_for("dayang").post(f"/api/imports/{batch_id}/undo/").status_code == 404
    undone = api.post(f"/api/imports/{batch_id}/undo/")
    assert undone.status_code == 200 and undone.json()["state"] == "undone"
    assert not Project.objects.exists()
    assert api.post(f"/api/imports/{batch_id}/undo/").status_code == 400  # already undone


def test_api_errors_and_refusals(api_for, users, project_rows, settings):
    api = api_for("guali")
    bad = [row[:] for row in project_rows]
    bad[2][5] = "一千"
    failed = _upload(api, xlsx(bad))
    assert failed.status_code == 400
    error = failed.json()["errors"][0]
    assert error == {"row": 3, "column": "总投资(万元)", "value": "一千", "message": error["message"]}
    assert "一千" in error["message"]
    assert _upload(api, b"MZ\x90\x00", name="virus.exe").status_code == 400
    settings.IMPORT_MAX_BYTES = 10
    too_big = _upload(api, xlsx(project_rows))
    assert too_big.status_code == 400 and too_big.json()["status"] == "unreadable"
    assert not ImportBatch.objects.exists()


def test_standard_and_template(api_for, users):
    api = api_for("guali")
    kinds = api.get("/api/standard/").json()["kinds"]
    assert set(kinds) >= {"projects", "progress"}
    assert "项目编号" in kinds["projects"]["required"]
    template = api.get("/api/standard/projects/template.xlsx")
    assert template.status_code == 200
    import io

    rows = CalamineWorkbook.from_filelike(io.BytesIO(template.content)).get_sheet_by_index(0).to_python()
    assert rows[0][:3] == ["项目编号", "项目名称", "乡镇代码"] and rows[1][0] == "HZ2020-0001"
    assert api.get("/api/standard/nothing/").status_code == 404


_cli = run_cli  # the exchange tests' name for it


@pytest.mark.django_db(transaction=False)
def test_cli_import_exit_codes_and_json(tmp_path, project_rows, divisions_home):
    home = divisions_home
    good = tmp_path / "p.xlsx"
    good.write_bytes(xlsx(project_rows))
    dry = _cli("import", str(good), "--kind", "projects", "--dry-run", "--json", home=home)
    assert dry.returncode == 0, dry.stderr
    summary = json.loads(dry.stdout)
    assert summary["status"] == "dry_run" and summary["counts"]["created"] == 2
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx(project_rows + [["X", "", "330109113", "meili", "", 1, 1, "", "谋划"]]))
    out = _cli("import", str(bad), "--kind", "projects", "--json", home=home)
    assert out.returncode == 1 and json.loads(out.stdout)["errors"][0]["row"] == 4
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"PK\x03\x04 not really")
    assert _cli("import", str(junk), "--kind", "projects", "--json", home=home).returncode == 2
    applied = _cli("import", str(good), "--kind", "projects", "--json", home=home)
    assert applied.returncode == 0 and json.loads(applied.stdout)["counts"]["created"] == 2
    exported = tmp_path / "out.xlsx"
    assert _cli("export", "--kind", "projects", "--org", "3301", "--format", "xlsx", "--output", str(exported),
                home=home).returncode == 0
    again = _cli("import", str(exported), "--kind", "projects", "--json", home=home)
    assert json.loads(again.stdout)["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "deleted": 0}
