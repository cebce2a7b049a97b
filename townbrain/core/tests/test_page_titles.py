"""Titles that join a label and a name are one translated message, so Chinese gets its full-width colon."""

import pytest

from townbrain.core.models import OrgUnit
from townbrain.core.services import update_org_profile

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def zh(zh_catalogue):
    zh_catalogue({
        "Edit profile: %(name)s": "编辑基本情况：%(name)s",
        "History: %(object)s": "变更记录：%(object)s",
        "User: %(name)s": "用户：%(name)s",
        "Units below (%(count)s)": "下级单位（%(count)s）",
    })


def page_title(response) -> str:
    html = response.content.decode()
    start = html.index('<h1 class="page-title">') + len('<h1 class="page-title">')
    return html[start:html.index("</h1>", start)].strip()


def test_edit_profile_title(client_for, zh):
    assert page_title(client_for("guali").get("/org/330109113/edit/")) == "编辑基本情况：瓜沥镇"
    assert page_title(client_for("guali").get("/org/330109113/edit/", **EN)) == "Edit profile: 瓜沥镇"


def test_history_titles(client_for, users, zh):
    update_org_profile(users["guali"], OrgUnit.objects.get(code="330109113"), notes="x")
    assert page_title(client_for("guali").get("/org/330109113/history/")).startswith("变更记录：瓜沥镇 (330109113)")
    assert page_title(client_for("admin").get("/history/orgunit/330109113/")).startswith("变更记录：瓜沥镇")


def test_user_title(client_for, users, zh):
    assert page_title(client_for("hangzhou").get(f"/users/{users['guali'].pk}/")) == "用户：guali"
    assert page_title(client_for("hangzhou").get(f"/users/{users['guali'].pk}/", **EN)) == "User: guali"


def test_units_below_heading(client_for, zh):
    assert "下级单位（1）" in client_for("guali").get("/org/330109113/").content.decode()
