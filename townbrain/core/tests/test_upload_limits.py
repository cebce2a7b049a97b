"""Every upload field refuses an oversize file and a file of the wrong type with a message saying why
(docs/security.md, "What is tested where"). Each field's check is the one function its form, API and
import share: event photos (the event form, the photo form, the public form, `POST /api/events/<id>/photos/`,
Open311 `media`) → governance/photos.py; acceptance evidence (page and API) → acceptance/evidence.py; imports
(page and API) and the published results → exchange/readers.py; assessment schemes (page and API) →
assessments/spec.py; historic sensor readings (page) → sensing/views.py. Small limits through settings."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def png(size=(40, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


PDF_LIKE = b"%PDF-1.4\n" + b"0" * 64
HTML = b"<html><script>alert(1)</script></html>"


def photo(data, name):
    from townbrain.governance import photos

    return photos.check(SimpleUploadedFile(name, data))


def evidence(data, name):
    from townbrain.acceptance import evidence as ev

    return ev.check(SimpleUploadedFile(name, data))


def import_file(data, name):
    from townbrain.exchange.readers import UnreadableFile, read_grid

    try:
        return read_grid(data, name)
    except UnreadableFile as exc:
        raise ValidationError(str(exc)) from None


def published(data, name):
    from townbrain.assessments.services import read_published

    return read_published(data, name)


def scheme(data, name):
    from townbrain.assessments import spec

    return spec.load(data)


# field, checker, settings to make the limit small, oversize file, wrong-type file, words of each message
FIELDS = {
    "event photo": (photo, {"TOWNBRAIN_EVENT_PHOTO_MAX_BYTES": 1024}, (png((400, 400)) + b"\0" * 4096, "big.png"),
                    (PDF_LIKE, "x.jpg"), ("limit", "Only photos")),
    "acceptance evidence": (evidence, {"EVIDENCE_MAX_BYTES": 1024}, (png() + b"\0" * 4096, "big.png"),
                            (HTML, "x.pdf"), ("limit", "")),
    "import file": (import_file, {"IMPORT_MAX_BYTES": 1024}, (b"a,b\n" + b"1,2\n" * 1000, "big.csv"),
                    (png(), "x.xlsx"), ("limit", "")),
    "published results": (published, {"IMPORT_MAX_BYTES": 1024}, (b"a,b\n" + b"1,2\n" * 1000, "big.csv"),
                          (png(), "x.xlsx"), ("limit", "")),
    "assessment scheme": (scheme, {}, (b"code: x\n" + b"#" * (2 * 1024 * 1024 + 1), "big.yaml"),
                          (png(), "x.yaml"), ("limit", "")),
}


@pytest.mark.parametrize("field", FIELDS)
def test_oversize_and_wrong_type_refused(field, settings):
    check, limits, (big, big_name), (wrong, wrong_name), (big_words, wrong_words) = FIELDS[field]
    for name, value in limits.items():
        setattr(settings, name, value)
    with pytest.raises(ValidationError) as oversize:
        check(big, big_name)
    assert big_words in " ".join(oversize.value.messages)
    with pytest.raises(ValidationError) as wrong_type:
        check(wrong, wrong_name)
    assert wrong_type.value.messages and wrong_words in " ".join(wrong_type.value.messages)


@pytest.mark.django_db
def test_sensor_readings_csv(client_for, settings):
    settings.IMPORT_MAX_BYTES = 1024
    client = client_for("admin")
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    big = SimpleUploadedFile("big.csv", b"sensor,ts,value\n" + b"x,2026-01-01T00:00:00+08:00,1\n" * 100)
    html = client.post("/sensors/import/", {"file": big}, follow=True).content.decode()
    assert "the limit is" in html
    wrong = SimpleUploadedFile("x.csv", png())
    html = client.post("/sensors/import/", {"file": wrong}, follow=True).content.decode()
    assert "not UTF-8 text" in html
