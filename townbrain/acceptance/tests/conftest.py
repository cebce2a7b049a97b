"""Fixtures for the acceptance tests: the shipped 美丽城镇 scheme, enrolled towns, files to upload.

Users (townbrain/conftest.py): guali (瓜沥镇 editor), xiaoshan (萧山区 editor), hangzhou (杭州市 office
admin), zhejiang (浙江省 office admin), jiande (建德市 editor), dayang (大洋镇 editor), admin.
"""

import io

import pytest
from django.utils import translation

from townbrain.assessments import services as assessment_services
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Enrolment, Programme

from .. import services
from ..models import ChecklistItem

TOWNS = ["330109113", "330109001", "330182107", "330182100"]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def meili(db):
    return Programme.objects.get(code="meili")


@pytest.fixture
def scheme(meili):
    text = (assessment_services.FIXTURES / "meili.yaml").read_text(encoding="utf-8")
    return assessment_services.import_scheme(SYSTEM, text)


@pytest.fixture
def enrolled(tree, meili, scheme):
    for code in TOWNS:
        Enrolment.objects.create(town_id=code, programme=meili, year_joined=2019,
                                 role=meili.roles.get(code="yangban"), batch=meili.batches.get(code="2019"))
    return TOWNS


@pytest.fixture
def acceptance(enrolled, users, meili, tree):
    """瓜沥镇's 2022 acceptance, opened by the city."""
    return services.open_acceptance(users["hangzhou"], meili, tree["330109113"], 2022)


@pytest.fixture
def other_acceptance(enrolled, users, meili, tree):
    """大洋镇's 2022 acceptance (another county: 建德市)."""
    return services.open_acceptance(users["hangzhou"], meili, tree["330182107"], 2022)


def answer_all(actor, acceptance, answer=ChecklistItem.Answer.MET):
    for item in acceptance.items.all():
        services.self_assess_item(actor, item, answer, "")


def image_bytes(fmt="PNG", size=(20, 10)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")


def upload(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def files_under(root) -> list:
    from pathlib import Path

    root = Path(root)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
