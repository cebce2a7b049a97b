"""Event photos: images only (checked from the bytes), a size limit, stored in the media storage,
served only to users who see the event, shown on the event page, media_url in Open311."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image
from rest_framework.authtoken.models import Token

from townbrain.core.models import AuditEntry

from .. import services
from ..models import Event, EventCategory, EventPhoto
from .conftest import DAYANG

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def png(name="scene.png", fmt="PNG", size=(8, 6)):
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, fmt)
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/png")


def test_upload_through_the_api_and_read_it_back(api_for, client_for, report, _media):
    event = report()
    api = api_for("guali")
    response = api.post(f"/api/events/{event.pk}/photos/", {"photo": png()}, format="multipart")
    assert response.status_code == 201, response.content
    [photo] = response.json()["photos"]
    assert photo["content_type"] == "image/png" and photo["uploaded_by"] == "guali"
    stored = EventPhoto.objects.get()
    assert stored.file.name.startswith(f"events/{event.pk}/") and stored.file.name.endswith(".png")
    assert (_media / stored.file.name).exists()  # in the configured media storage
    assert AuditEntry.objects.filter(action="event.photo", object_id=str(event.pk)).count() == 1
    # Served to users who see the event, with its checked type; 404 to others (and the page shows it).
    served = client_for("guali_viewer").get(photo["url"])
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert b"".join(served.streaming_content).startswith(b"\x89PNG")
    page = client_for("guali_viewer").get(event.get_absolute_url()).content.decode()
    assert f'src="{stored.get_absolute_url()}"' in page and 'id="photo-form"' not in page  # a viewer adds none
    assert client_for("dayang").get(stored.get_absolute_url()).status_code == 404
    assert api_for("guali_viewer").post(f"/api/events/{event.pk}/photos/", {"photo": png()},
                                        format="multipart").status_code == 403


@pytest.mark.parametrize("upload, reason", [
    (SimpleUploadedFile("x.png", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "image/png"), "Only photos"),
    (SimpleUploadedFile("x.pdf", b"%PDF-1.4\n%%EOF", "application/pdf"), "Only photos"),
    (SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "image/png"), "damaged"),
    (SimpleUploadedFile("x.jpg", b"", "image/jpeg"), "empty"),
])
def test_only_images_are_accepted(api_for, report, upload, reason):
    event = report()
    api = api_for("guali")
    api.credentials(HTTP_ACCEPT_LANGUAGE="en")
    response = api.post(f"/api/events/{event.pk}/photos/", {"photo": upload}, format="multipart")
    assert response.status_code == 400 and reason in str(response.json()), response.content
    assert not EventPhoto.objects.exists()


def test_the_size_limit_and_the_count_limit(report, people, settings):
    event = report()
    settings.TOWNBRAIN_EVENT_PHOTO_MAX_BYTES = 200
    with pytest.raises(services.ValidationError, match="limit"):
        services.add_photo(people["guali"], event, png(size=(400, 400)))
    settings.TOWNBRAIN_EVENT_PHOTO_MAX_BYTES = 10 * 1024 * 1024
    for _ in range(services.photos.MAX_PER_EVENT):
        services.add_photo(people["guali"], event, png())
    with pytest.raises(services.ValidationError, match="At most"):
        services.add_photo(people["guali"], event, png())
    assert event.photos.count() == services.photos.MAX_PER_EVENT


def test_report_with_a_photo_from_the_form_and_the_event_page(client_for, people):
    client = client_for("guali")
    category = EventCategory.objects.get(code="zz-dispute-neighbour")
    body = {"town": "330109113", "category": category.pk, "description": "邻居漏水纠纷", "crs": "wgs84"}
    refused = client.post("/events/new/", {**body, "photo": SimpleUploadedFile("a.html", b"<html></html>")})
    assert refused.status_code == 200 and not Event.objects.exists()  # nothing written for a bad photo
    assert client.post("/events/new/", {**body, "photo": png(fmt="JPEG", name="a.jpg")}).status_code == 302
    event = Event.objects.get()
    assert event.photos.get().content_type == "image/jpeg"
    response = client.post(event.get_absolute_url(), {"op": "photo", "photo": png()})
    assert response.status_code == 302 and event.photos.count() == 2
    response = client.post(event.get_absolute_url(), {"op": "photo", "photo": SimpleUploadedFile("a.gif", b"GIF89a")})
    assert response.status_code == 200 and event.photos.count() == 2


def test_open311_media_url_and_media_upload(report, people):
    key = Token.objects.create(user=people["xiaoshan"]).key
    event = report()
    services.add_photo(people["guali"], event, png())
    row = Client().get(f"/open311/v2/requests/{event.pk}.json", {"api_key": key}).json()[0]
    assert row["media_url"] == f"http://testserver{event.photos.get().get_absolute_url()}"
    linked = report(media_url="https://img.example.com/1.jpg")
    assert Client().get(f"/open311/v2/requests/{linked.pk}.json", {"api_key": key}).json()[0]["media_url"] == \
        "https://img.example.com/1.jpg"
    body = {"api_key": key, "jurisdiction_id": "330109", "service_code": "bm-help-streetlight",
            "attribute[town]": "330109113", "description": "村口路灯不亮", "media": png()}
    response = Client().post("/open311/v2/requests.json", body)
    assert response.status_code == 201, response.content
    new = Event.objects.get(pk=int(response.json()[0]["service_request_id"]))
    assert new.photos.count() == 1
    body["media"] = SimpleUploadedFile("x.txt", b"hello")
    assert Client().post("/open311/v2/requests.json", body).status_code == 400
    assert not Event.objects.filter(town_id=DAYANG).exists()
