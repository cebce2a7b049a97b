import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from python_calamine import CalamineWorkbook

from townbrain.exchange.models import ImportBatch
from townbrain.projects.models import Project

from .conftest import xlsx

pytestmark = pytest.mark.django_db


def _upload(client, data, name="p.xlsx"):
    response = client.post("/imports/upload/", {"kind": "projects", "file": SimpleUploadedFile(name, data)})
    assert response.status_code == 302, response.content[:300]
    return response["Location"].rstrip("/").rsplit("/", 1)[-1]


def test_upload_plan_apply_undo_through_the_pages(client_for, users, project_rows):
    client = client_for("guali")
    assert client.get("/imports/").status_code == 200
    bad = [row[:] for row in project_rows]
    bad[2][2] = "33010911"  # 8 digits
    token = _upload(client, xlsx(bad))
    page = client.get(f"/imports/plan/{token}/")
    html = page.content.decode()
    assert page.status_code == 200 and 'id="errors"' in html and "33010911" in html
    # the error file is the user's file plus an error column, naming the row's problem
    errors = client.get(f"/imports/errors/{token}/")
    rows = CalamineWorkbook.from_filelike(io.BytesIO(errors.content)).get_sheet_by_index(0).to_python()
    assert rows[0][-1] and rows[2][-1].startswith("乡镇代码") and rows[1][-1] == ""
    # applying a file with errors saves nothing
    assert client.post(f"/imports/plan/{token}/").status_code == 400 and not Project.objects.exists()
    good = _upload(client, xlsx(project_rows))
    applied = client.post(f"/imports/plan/{good}/")
    batch = ImportBatch.objects.get()
    assert applied.status_code == 302 and applied["Location"] == f"/imports/{batch.pk}/"
    assert Project.objects.count() == 2
    # another town's user can neither use this upload nor see the batch
    other = client_for("dayang")
    assert other.get(f"/imports/plan/{good}/").status_code == 404
    assert other.get(f"/imports/errors/{token}/").status_code == 404
    assert other.get(f"/imports/{batch.pk}/").status_code == 404
    client = client_for("guali")
    assert client.post(f"/imports/{batch.pk}/").status_code == 302
    assert not Project.objects.exists()


def test_upload_refuses_wrong_type(client_for, users):
    page = client_for("guali").post("/imports/upload/", {"kind": "projects",
                                                         "file": SimpleUploadedFile("tool.exe", b"MZ")})
    assert page.status_code == 400 and "tool.exe" in page.content.decode()
