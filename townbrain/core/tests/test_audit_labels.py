"""The audit log in words: actions, sources, object types, field names and the password marker.

The API keeps the stored codes (integrators rely on them) and adds `action_label`.
"""

import csv
import importlib
import io
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation

from townbrain.access import services as access_services
from townbrain.core import audit, audit_labels
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.services import update_org_profile

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
GUALI = "330109113"
PACKAGE = Path(__file__).resolve().parents[2]
STRONG = "Qiantang-tide-2024-xq"


FILE_SUFFIXES = {"yaml", "yml", "json", "csv", "xlsx", "py", "html", "txt", "pdf", "png"}


def recorded_actions() -> dict[str, str]:
    """Every action code in a module that writes audit rows, with where.

    An action code is a string literal "<object>.<verb>" (lower case, one dot) in a module that
    calls audit.record(): passed to it directly, or through a helper (programmes' `_add_part`).
    """
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "tests" in path.parts or path.parent.name == "core" and path.stem in ("audit", "audit_labels"):
            continue
        text = path.read_text(encoding="utf-8")
        if "audit.record(" not in text:
            continue
        for code in re.findall(r"\"([a-z]+\.[a-z_]+)\"", text):
            if code.rsplit(".", 1)[1] in FILE_SUFFIXES:  # a file name ("facilities.yaml"), not an action
                continue
            if code.startswith("townbrain."):  # an app's name (apps.is_installed("townbrain.governance"))
                continue
            found.setdefault(code, str(path.relative_to(PACKAGE)))
    return found


def test_every_recorded_action_has_a_label():
    actions = recorded_actions()
    for where in set(actions.values()):  # an app may register its labels when its module loads
        importlib.import_module("townbrain." + where.removesuffix(".py").replace("/", "."))
    assert {"orgunit.update", "divisions.load", "user.password", "membership.grant", "project.create",
            "enrolment.save"} <= set(actions)
    missing = {code: where for code, where in actions.items() if code not in audit_labels.ACTION_LABELS}
    assert not missing, (
        f"audit actions without a label: {missing}. Register them with "
        "townbrain.core.audit_labels.register_actions({code: gettext_lazy(...)})."
    )


@pytest.fixture
def edited(users, client_for):
    unit = OrgUnit.objects.get(code=GUALI)
    client = client_for("guali")
    client.post(f"/org/{GUALI}/edit/", {"population": "181234", "town_type": "industrial", "notes": "n"})
    assert OrgUnit.objects.get(code=GUALI).population == 181234
    return unit


def test_history_page_shows_labels_not_codes(edited, client_for):
    html = client_for("guali").get(f"/org/{GUALI}/history/", **EN).content.decode()
    assert "Edited profile" in html and ">orgunit.update<" not in html
    assert "Population: — → 181234" in html
    assert "Town type: — → Industrial" in html  # a choice by its label
    assert "Web page" in html and ">web<" not in html


def test_history_page_in_chinese(edited, client_for, zh_catalogue):
    zh_catalogue({"Edited profile": "编辑基本情况", "Web page": "网页", "%(field)s: %(change)s": "%(field)s：%(change)s"})
    html = client_for("guali").get(f"/org/{GUALI}/history/").content.decode()
    assert "编辑基本情况" in html and "网页" in html
    assert "人口：— → 181234" in html  # OrgUnit.population's verbose_name, translated


def test_audit_list_and_export_show_labels(edited, client_for):
    client = client_for("guali")
    html = client.get("/audit/", **EN).content.decode()
    assert "Edited profile" in html and ">orgunit.update<" not in html
    assert "Org unit" in html and ">orgunit<" not in html
    body = client.get("/audit/", {"export": "csv"}, **EN).content.decode("utf-8-sig")
    row = next(r for r in csv.DictReader(io.StringIO(body)))
    assert row["Action"] == "Edited profile"
    assert row["Source"] == "Web page"
    assert row["Object type"] == "Org unit"
    assert "Population: — → 181234" in row["Changes"]
    assert "Town type: — → Industrial" in row["Changes"]


def test_audit_list_filters_by_source(edited, client_for):
    client = client_for("guali")
    assert "Edited profile" in client.get("/audit/", {"source": "web"}, **EN).content.decode()
    assert "Edited profile" not in client.get("/audit/", {"source": "cli"}, **EN).content.decode()


def test_api_keeps_codes_and_adds_action_label(edited, api_for):
    row = api_for("guali").get("/api/audit/", {"object_type": "orgunit", "object_id": GUALI}, **EN).json()["results"][0]
    assert row["action"] == "orgunit.update"
    assert row["action_label"] == "Edited profile"
    assert row["source"] == "web"
    assert row["object_type"] == "orgunit"
    assert row["changes"]["population"] == [None, 181234]


def test_password_change_keeps_the_code_and_reads_translated(users, client_for, zh_catalogue):
    guali = users["guali"]
    access_services.set_password(users["guali"], guali, STRONG)
    entry = AuditEntry.objects.get(action="user.password")
    assert entry.changes == {"password": [audit.SECRET, audit.CHANGED]} == {"password": ["***", "(changed)"]}
    zh_catalogue({"(changed)": "（已修改）", "(hidden)": "（不显示）", "Password": "密码",
                  "%(field)s: %(change)s": "%(field)s：%(change)s"})
    html = client_for("hangzhou").get(f"/history/user/{guali.pk}/").content.decode()
    assert "密码：（不显示） → （已修改）" in html
    assert "(changed)" not in html


@translation.override("en")
def test_field_labels_come_from_the_model():
    assert audit_labels.field_label("orgunit", "area_km2") == "Area (km²)"
    assert audit_labels.field_label("membership", "role") == "Role"
    assert audit_labels.field_label("user", "first_name") == "Full name"
    assert audit_labels.field_label("nosuchtype", "whatever") == "whatever"
    assert audit_labels.value_label("membership", "role", "editor") == "Editor"
    assert audit_labels.value_label("orgunit", "notes", "(changed)") == "(changed)"  # only secrets are markers
    assert audit_labels.action_label("no.such") == "no.such"
    assert audit_labels.source_label("cli") == "Command line"


# --- the generic history page ------------------------------------------------------------------


def test_user_history_page(users, client_for):
    clerk = access_services.create_user(users["hangzhou"], "clerk", STRONG, OrgUnit.objects.get(code=GUALI),
                                        "viewer", first_name="文书")
    access_services.update_user(users["hangzhou"], clerk, first_name="瓜沥镇文书")
    client = client_for("hangzhou")
    detail = client.get(f"/users/{clerk.pk}/", **EN).content.decode()
    assert f'href="/history/user/{clerk.pk}/"' in detail
    html = client.get(f"/history/user/{clerk.pk}/", **EN).content.decode()
    assert "History: clerk" in html
    assert "Created user" in html and "Edited user" in html
    assert "Full name: 文书 → 瓜沥镇文书" in html
    # The creating row is filed under the user's home org code: whoever sees 瓜沥镇 sees it.
    assert client_for("guali").get(f"/history/user/{clerk.pk}/").status_code == 200


def test_history_page_outside_the_scope_is_404(users, client_for):
    clerk = access_services.create_user(users["admin"], "dyclerk", STRONG,
                                        OrgUnit.objects.get(code="330182107"), "viewer")
    assert client_for("admin").get(f"/history/user/{clerk.pk}/").status_code == 200
    response = client_for("guali").get(f"/history/user/{clerk.pk}/")
    assert response.status_code == 404
    assert "dyclerk" not in response.content.decode()
    assert client_for("admin").get("/history/user/999999/").status_code == 404


def test_history_page_shows_only_rows_in_scope(users, client_for):
    """A user who works in two towns: each town sees the rows filed under it, not the other's."""
    mover = get_user_model().objects.create_user("mover")
    update_org_profile(users["dayang"], OrgUnit.objects.get(code="330182107"), notes="大洋镇的备注")
    audit.record(users["admin"], "user.update", mover, {"first_name": ""}, {"first_name": "瓜沥镇的名字"},
                 org_code=GUALI)
    audit.record(users["admin"], "user.update", mover, {"first_name": "瓜沥镇的名字"}, {"first_name": "大洋镇的名字"},
                 org_code="330182107")
    html = client_for("guali").get(f"/history/user/{mover.pk}/").content.decode()
    assert "瓜沥镇的名字" in html and "大洋镇的名字" not in html


def test_personal_data_is_logged_as_changed_never_in_clear(users, client_for):
    """Phones and e-mails: the log says a contact was set, changed or removed, and shows no value."""
    mover = get_user_model().objects.create_user("mover")
    audit.record(users["admin"], "user.update", mover, {"email": ""}, {"email": "a@guali.example"}, org_code=GUALI)
    audit.record(users["admin"], "user.update", mover, {"email": "a@guali.example"}, {"email": "b@guali.example"},
                 org_code=GUALI)
    audit.record(users["admin"], "user.update", mover, {"email": "b@guali.example"}, {"email": ""}, org_code=GUALI)
    rows = list(AuditEntry.objects.filter(object_id=str(mover.pk)).order_by("pk").values_list("changes", flat=True))
    assert rows == [{"email": [None, audit.CHANGED]}, {"email": [audit.SECRET, audit.CHANGED]},
                    {"email": [audit.SECRET, None]}]
    html = client_for("admin").get(f"/history/user/{mover.pk}/").content.decode()
    assert "guali.example" not in html and "已修改" in html


def test_history_page_anonymous_and_writes(users, client):
    assert client.get("/history/orgunit/330109113/")["Location"].startswith("/accounts/login/")
    client.force_login(users["admin"])
    update_org_profile(users["admin"], OrgUnit.objects.get(code=GUALI), notes="x")
    assert client.get("/history/orgunit/330109113/").status_code == 200
    assert client.post("/history/orgunit/330109113/").status_code == 405
