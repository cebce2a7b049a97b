"""The Content Security Policy (docs/security.md).

Every HTML response carries a `Content-Security-Policy` header without 'unsafe-inline' in script-src:
checked on every page without URL arguments (the resolver's list, so a page added tomorrow is checked
tomorrow), the API's browsable pages and docs, and the main detail pages. The main pages' markup holds
no inline script (only `<script type="application/json">` data and `<script src>`), no `style="…"`
attribute and no `on…=` handler, so the policy needs no exception for them.
"""

from html.parser import HTMLParser

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from townbrain.projects.tests.test_projects import make_project

OWN = "330109113"  # 瓜沥镇

# Answer a GET with a download, a redirect elsewhere or need a POST: nothing to check in them.
SKIP = {"logout", "set_language", "javascript-catalog"}


def directives(header: str) -> dict[str, list[str]]:
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


def assert_policy(response, where):
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{where}: no Content-Security-Policy header"
    policy = directives(header)
    assert policy.get("default-src") == ["'self'"], f"{where}: {header}"
    assert "script-src" in policy and "'unsafe-inline'" not in policy["script-src"], f"{where}: {header}"
    assert "'unsafe-eval'" not in policy["script-src"], f"{where}: {header}"
    assert policy.get("object-src") == ["'none'"] and policy.get("frame-ancestors") == ["'none'"], where
    return policy


def plain_patterns(patterns=None, prefix="", namespace=""):
    """(name, path) of every named URL pattern without arguments."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from plain_patterns(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern) and entry.name and not entry.pattern.converters:
            route = prefix + str(entry.pattern)
            if "(" in route or "<" in route or "\\" in route or "^" in route:
                continue
            yield f"{namespace}{entry.name}", "/" + route


class Markup(HTMLParser):
    """Inline code in a page: scripts without src (JSON data excepted), style attributes, handlers."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.found.append(f"inline <script {attrs}>")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")


def inline_code(html: str) -> list[str]:
    parser = Markup()
    parser.feed(html)
    return parser.found


@pytest.fixture
def admin_client(client, users):
    client.force_login(users["admin"])
    return client


@pytest.mark.django_db
def test_every_html_page_carries_the_policy(admin_client, tree):
    checked = 0
    for name, path in plain_patterns():
        if name in SKIP:
            continue
        response = admin_client.get(path, HTTP_ACCEPT="text/html")
        if "text/html" not in response.headers.get("Content-Type", ""):
            continue
        assert_policy(response, f"{name} {path}")
        checked += 1
    assert checked > 40, checked


@pytest.mark.django_db
def test_the_login_page_and_errors_carry_it_too(client, tree):
    policy = assert_policy(client.get(reverse("login")), "login")
    assert "'unsafe-inline'" not in policy["style-src"]
    assert not inline_code(client.get(reverse("login")).content.decode())
    assert_policy(client.get("/no-such-page/", HTTP_ACCEPT="text/html"), "404")


@pytest.mark.django_db
def test_main_pages_hold_no_inline_code(admin_client, tree):
    project = make_project(OWN)
    pages = {
        "cockpit": reverse("home"),
        "cockpit of a town": f"/cockpit/{OWN}/",
        "projects": reverse("project-list"),
        "project": reverse("project-detail", args=[project.pk]),
        "roll-ups": reverse("rollup-page"),
        "org unit": reverse("orgunit-detail", args=[OWN]),
        "events": reverse("event-list"),
        "experts": reverse("expert-list"),
        "work plans": reverse("workplan-list"),
        "indicators": reverse("indicator-list"),
    }
    for what, url in pages.items():
        response = admin_client.get(url, follow=True)
        assert response.status_code == 200, (what, url, response.status_code)
        policy = assert_policy(response, what)
        # Strict everywhere on these pages: nothing inline, so no nonce and no 'unsafe-inline' at all.
        assert policy["script-src"] == ["'self'"], (what, policy["script-src"])
        assert policy["style-src"] == ["'self'"], (what, policy["style-src"])
        assert not inline_code(response.content.decode()), (what, inline_code(response.content.decode()))


@pytest.mark.django_db
def test_api_pages_keep_scripts_strict(admin_client, tree):
    """The browsable API and ReDoc get 'unsafe-inline' for styles only; Swagger UI a nonce."""
    browsable = admin_client.get("/api/", HTTP_ACCEPT="text/html")
    policy = assert_policy(browsable, "browsable API")
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]

    swagger = admin_client.get(reverse("api:docs"))
    policy = assert_policy(swagger, "Swagger UI")
    nonces = [v for v in policy["script-src"] if v.startswith("'nonce-")]
    assert len(nonces) == 1 and nonces[0][7:-1] in swagger.content.decode()
    assert "'unsafe-inline'" not in policy["style-src"]
    assert "fonts.googleapis.com" not in admin_client.get(reverse("api:redoc")).content.decode()
    policy = assert_policy(admin_client.get(reverse("api:redoc")), "ReDoc")
    assert policy["worker-src"] == ["'self'", "blob:"]

    # JSON answers carry the header as well (harmless), and the API stays JSON for API clients.
    assert assert_policy(admin_client.get("/api/orgunits/", HTTP_ACCEPT="application/json"), "API JSON")
