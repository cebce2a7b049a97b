"""Event photos (事件照片): an upload is checked from its bytes, never from its name or the browser's type.

Accepted: JPEG, PNG, WebP and GIF images that Pillow opens and decodes whole, up to
`TOWNBRAIN_EVENT_PHOTO_MAX_BYTES` (default 10 MB) and Pillow's pixel limit; at most
`MAX_PER_EVENT` photos per event. Anything else (a PDF, an SVG, an HTML page, a program, a damaged
image) is refused with a sentence saying why. Files go to Django's configured default storage
(MEDIA_ROOT/events/<event id>/<random>.<type>), and are served only through `views.event_photo`
to users who may see the event — never as public media: photos show people and places.
"""

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

TYPES = {  # magic bytes → (Pillow format, content type, extension)
    b"\xff\xd8\xff": ("JPEG", "image/jpeg", "jpg"),
    b"\x89PNG\r\n\x1a\n": ("PNG", "image/png", "png"),
    b"GIF87a": ("GIF", "image/gif", "gif"),
    b"GIF89a": ("GIF", "image/gif", "gif"),
}
MAX_PER_EVENT = 9
CHUNK = 1024 * 1024


@dataclass
class Checked:
    data: bytes
    content_type: str
    extension: str
    size: int
    sha256: str


def max_bytes() -> int:
    return int(getattr(settings, "TOWNBRAIN_EVENT_PHOTO_MAX_BYTES", 10 * 1024 * 1024))


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f}".rstrip("0").rstrip(".")


def _read(upload) -> bytes:
    limit = max_bytes()
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ValidationError(_("The photo is %(size)s MB; the limit is %(max)s MB.") % {
            "size": _mb(size), "max": _mb(limit)}, code="too_large")
    if hasattr(upload, "seek"):
        upload.seek(0)
    parts, total = [], 0
    while chunk := upload.read(CHUNK):
        total += len(chunk)
        if total > limit:
            raise ValidationError(_("The photo is larger than the limit of %(max)s MB.") % {"max": _mb(limit)},
                                  code="too_large")
        parts.append(chunk)
    return b"".join(parts)


def check(upload) -> Checked:
    """Read and check an upload; ValidationError with the reason when it is refused."""
    if upload is None:
        raise ValidationError(_("Choose a photo to upload."), code="missing")
    data = _read(upload)
    if not data:
        raise ValidationError(_("The file is empty."), code="empty")
    head = data[:16]
    found = next((kind for magic, kind in TYPES.items() if head.startswith(magic)), None)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        found = ("WEBP", "image/webp", "webp")
    if found is None:
        raise ValidationError(_("Only photos are accepted (JPEG, PNG, WebP or GIF)."), code="type")
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.format != found[0]:
                    raise ValueError(img.format)
                img.verify()
            with Image.open(io.BytesIO(data)) as img:  # verify() does not decode: load every pixel too
                img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(_("The image is too large in pixels to be opened safely."), code="bomb") from None
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for broken files; all mean "damaged"
        raise ValidationError(_("The image is damaged or incomplete: it cannot be opened."), code="corrupt") from None
    return Checked(data, found[1], found[2], len(data), hashlib.sha256(data).hexdigest())


def serve(photo):
    """The stored photo: its checked content type, nosniff, a policy that runs nothing, never cached."""
    from django.http import FileResponse, Http404

    try:
        handle = photo.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404(_("The photo's file is missing.")) from None
    response = FileResponse(handle, content_type=photo.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    response["Cache-Control"] = "private, no-store"
    return response
