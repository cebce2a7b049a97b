"""Evidence uploads: checked from the bytes, stored under MEDIA_ROOT/evidence/<id>/, served only in scope."""

import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from townbrain.core.models import AuditEntry

from .. import services
from ..models import Evidence
from .conftest import PDF, files_under, image_bytes, upload


@pytest.mark.parametrize(("data", "name", "content_type", "extension"), [
    (image_bytes("PNG"), "照片.png", "image/png", "png"),
    (image_bytes("JPEG"), "现场.jpg", "image/jpeg", "jpg"),
    (image_bytes("WEBP"), "x.webp", "image/webp", "webp"),
    (image_bytes("GIF"), "x.gif", "image/gif", "gif"),
    (PDF, "台账.pdf", "application/pdf", "pdf"),
    (image_bytes("PNG"), "named-wrongly.pdf", "image/png", "png"),  # the bytes decide, not the name
], ids=["png", "jpeg", "webp", "gif", "pdf", "png-named-pdf"])
def test_accepted(acceptance, users, settings, data, name, content_type, extension):
    item = acceptance.items.first()
    evidence = services.add_evidence(users["guali"], acceptance, upload(data, name), item)
    assert (evidence.content_type, evidence.original_name, evidence.size) == (content_type, name, len(data))
    assert evidence.sha256 == hashlib.sha256(data).hexdigest() and evidence.uploaded_by_name == "guali"
    assert evidence.file.name.startswith(f"evidence/{acceptance.pk}/") and evidence.file.name.endswith(f".{extension}")
    assert name.rsplit(".", 1)[0] not in evidence.file.name  # a random name on disk
    stored = files_under(settings.MEDIA_ROOT)
    assert len(stored) == 1 and stored[0].read_bytes() == data
    row = AuditEntry.objects.get(action="evidence.add")
    assert row.org_code == "330109113" and row.changes["sha256"] == [None, evidence.sha256]


BAD = [
    (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, "setup.pdf", "a program"),
    (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "photo.jpg", "an HTML page"),
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "logo.svg",
     "an SVG drawing"),
    (b"just some text", "notes.png", "of an unknown type"),
    (b"", "empty.png", "The file is empty."),
    (image_bytes("PNG")[:60], "broken.png", "damaged or incomplete"),
    (b"\xff\xd8\xff\xe0" + b"garbage" * 20, "broken.jpg", "damaged or incomplete"),
    (b"%PDF-1.4\n1 0 obj<<>>endobj\n", "cut.pdf", "no end-of-file marker (%EOF)."),
]


@pytest.mark.parametrize(("data", "name", "message"), BAD, ids=[b[1] for b in BAD])
def test_refused_with_a_specific_message_and_nothing_stored(acceptance, users, settings, data, name, message):
    with pytest.raises(ValidationError) as exc:
        services.add_evidence(users["guali"], acceptance, upload(data, name))
    assert message in " ".join(exc.value.message_dict["file"])
    assert not Evidence.objects.exists() and not AuditEntry.objects.filter(action="evidence.add").exists()
    assert files_under(settings.MEDIA_ROOT) == []


def test_oversize_refused(acceptance, users, settings):
    settings.EVIDENCE_MAX_BYTES = 1024
    with pytest.raises(ValidationError, match="limit is 0"):
        services.add_evidence(users["guali"], acceptance, upload(b"%PDF-" + b"x" * 2000 + b"%%EOF", "big.pdf"))
    assert files_under(settings.MEDIA_ROOT) == [] and not Evidence.objects.exists()


def test_max_size_setting_from_environment():
    import os
    import subprocess
    import sys

    env = {**os.environ, "TOWNBRAIN_EVIDENCE_MAX_MB": "3", "DJANGO_SETTINGS_MODULE": "townbrain.settings"}
    out = subprocess.run([sys.executable, "-c", "from django.conf import settings; print(settings.EVIDENCE_MAX_BYTES)"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(3 * 1024 * 1024)


def test_item_of_another_acceptance_refused(acceptance, other_acceptance, users, settings):
    with pytest.raises(ValidationError, match="does not belong"):
        services.add_evidence(users["admin"], acceptance, upload(PDF, "a.pdf"), other_acceptance.items.first())
    assert files_under(settings.MEDIA_ROOT) == []


def test_remove_deletes_the_file(acceptance, users, settings, django_capture_on_commit_callbacks):
    evidence = services.add_evidence(users["guali"], acceptance, upload(PDF, "a.pdf"))
    with django_capture_on_commit_callbacks(execute=True):
        services.remove_evidence(users["guali"], evidence)
    assert files_under(settings.MEDIA_ROOT) == [] and not Evidence.objects.exists()
    assert AuditEntry.objects.filter(action="evidence.remove").count() == 1


def test_wrong_level_may_not_upload(acceptance, users, settings):
    from django.core.exceptions import PermissionDenied

    for name in ("xiaoshan", "guali_viewer", "dayang"):
        with pytest.raises(PermissionDenied):
            services.add_evidence(users[name], acceptance, upload(PDF, "a.pdf"))
    assert files_under(settings.MEDIA_ROOT) == []


def test_download_is_scoped_and_safe(acceptance, users, client_for):
    evidence = services.add_evidence(users["guali"], acceptance, upload(image_bytes("PNG"), "瓜沥 照片.png"))
    for url in (reverse("acceptance-evidence", args=[evidence.pk]),
                reverse("api:acceptance-evidence-file", args=[acceptance.pk, evidence.pk])):
        for name in ("guali", "xiaoshan", "hangzhou", "zhejiang", "guali_viewer"):
            response = client_for(name).get(url)
            assert response.status_code == 200, (name, url)
            assert response["Content-Type"] == "image/png"
            assert response["X-Content-Type-Options"] == "nosniff"
            assert response["Content-Disposition"].startswith("inline")
            assert b"".join(response.streaming_content) == image_bytes("PNG")
        for name in ("jiande", "dayang", "guizhou"):  # another county, another town, another province
            assert client_for(name).get(url).status_code == 404, (name, url)
        attachment = client_for("guali").get(url, {"download": "1"})
        assert attachment["Content-Disposition"].startswith("attachment")
        assert "filename*=utf-8''%E7%93%9C%E6%B2%A5%20%E7%85%A7%E7%89%87.png" in attachment["Content-Disposition"]
    # Never public: nothing is served under MEDIA_URL.
    assert client_for("guali").get(f"/media/{evidence.file.name}").status_code == 404
