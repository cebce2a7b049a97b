"""Checking an evidence upload from its bytes (never its name or the browser's content type).

Accepted: JPEG, PNG, WebP and GIF images that Pillow opens and decodes whole, and PDF files
(`%PDF-` header and an `%%EOF` marker near the end). Anything else is refused with a sentence
naming what is wrong: empty, too large, not an image or PDF (a program, an HTML or SVG
document …), or a damaged image.
"""

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

IMAGE_TYPES = {  # magic bytes → (Pillow format, content type, extension)
    b"\xff\xd8\xff": ("JPEG", "image/jpeg", "jpg"),
    b"\x89PNG\r\n\x1a\n": ("PNG", "image/png", "png"),
    b"GIF87a": ("GIF", "image/gif", "gif"),
    b"GIF89a": ("GIF", "image/gif", "gif"),
}
PDF = ("application/pdf", "pdf")
CHUNK = 1024 * 1024


@dataclass
class Checked:
    data: bytes
    content_type: str
    extension: str
    size: int
    sha256: str


def max_bytes() -> int:
    return settings.EVIDENCE_MAX_BYTES


def _megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f}".rstrip("0").rstrip(".")


def read_limited(upload) -> bytes:
    """The upload's bytes, refusing (without reading on) a file larger than the limit."""
    limit = max_bytes()
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ValidationError(_("The file is %(size)s MB; the limit is %(max)s MB.")
                              % {"size": _megabytes(size), "max": _megabytes(limit)}, code="too_large")
    if hasattr(upload, "seek"):
        upload.seek(0)
    parts, total = [], 0
    while chunk := upload.read(CHUNK):
        total += len(chunk)
        if total > limit:
            raise ValidationError(_("The file is larger than the limit of %(max)s MB.") % {"max": _megabytes(limit)},
                                  code="too_large")
        parts.append(chunk)
    return b"".join(parts)


def _what_else(head: bytes) -> str:
    """A few words on what a refused file looks like, for the message."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"MZ") or head.startswith(b"\x7fELF"):
        return _("a program")
    if text.startswith(b"<svg") or b"<svg" in text[:1024]:
        return _("an SVG drawing")
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")) or b"<html" in text[:1024]:
        return _("an HTML page")
    if text.startswith(b"<?xml") or text.startswith(b"<"):
        return _("an XML or HTML document")
    if head.startswith(b"PK\x03\x04"):
        return _("a ZIP archive or Office document")
    return _("of an unknown type")


def _image(data: bytes, pillow_format: str) -> None:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.format != pillow_format:
                    raise ValueError(img.format)
                img.verify()
            with Image.open(io.BytesIO(data)) as img:  # verify() does not decode: load every pixel too
                img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(_("The image is too large in pixels to be opened safely."), code="bomb") from None
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for broken files; all mean "damaged"
        raise ValidationError(_("The image is damaged or incomplete: it cannot be opened."), code="corrupt") from None


def check(upload) -> Checked:
    """Read and check an upload; ValidationError with the reason when it is refused."""
    data = read_limited(upload)
    if not data:
        raise ValidationError(_("The file is empty."), code="empty")
    head = data[:16]
    found = None
    for magic, kind in IMAGE_TYPES.items():
        if head.startswith(magic):
            found = kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        found = ("WEBP", "image/webp", "webp")
    if found:
        _image(data, found[0])
        content_type, extension = found[1], found[2]
    elif data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-2048:]:
            raise ValidationError(_("The PDF file is incomplete: it has no end-of-file marker (%(marker)s).")
                                  % {"marker": "%EOF"}, code="corrupt")
        content_type, extension = PDF
    else:
        raise ValidationError(
            _("Only images (JPEG, PNG, WebP, GIF) and PDF files are accepted; this file is %(kind)s.")
            % {"kind": _what_else(data[:2048])}, code="type")
    return Checked(data, content_type, extension, len(data), hashlib.sha256(data).hexdigest())


def serve(evidence, attachment: bool = False):
    """The stored file as a response: its checked content type, a Content-Disposition with the upload's name,
    nosniff (and for images a Content-Security-Policy that runs nothing)."""
    from django.http import FileResponse, Http404

    try:
        handle = evidence.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404(_("The file of this evidence is missing.")) from None
    response = FileResponse(handle, content_type=evidence.content_type, as_attachment=attachment,
                            filename=evidence.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    if evidence.content_type.startswith("image/"):
        response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    response["Cache-Control"] = "private, no-store"
    return response
