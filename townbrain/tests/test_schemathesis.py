"""Schemathesis over every operation of `/api/schema/`: zero 5xx, zero schema violations, no undeclared status.

Schemathesis reads the OpenAPI document the project serves and sends generated requests — valid ones and
deliberately wrong ones (huge numbers, empty filters, empty bodies, odd pages) — to every operation, as a town
editor (`guali`) and as a province office administrator (`zhejiang`), in-process through Django's WSGI handler
(nothing leaves the machine; writes land in the test database). Each response must

- not be a server error (``not_a_server_error``),
- carry a status code the schema declares for that operation (``status_code_conformance``),
- match the schema declared for that status, the error bodies included (``response_schema_conformance``),
- have the declared content type (``content_type_conformance``).

The run is bounded and reproducible: a fixed seed, a few examples per operation (the ``examples`` and
``fuzzing`` phases; the ``coverage`` and ``stateful`` phases are left to the bigger run by hand described in
docs/api.md). Every failure of the run is collected and reported together, with the request, the response
and, for a 500, the server's traceback.
"""

import json
import os
import sys
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.core.signals import got_request_exception
from django.test.client import ClientHandler
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# A bigger run by hand: TOWNBRAIN_SCHEMATHESIS_EXAMPLES=15 (and TOWNBRAIN_SCHEMATHESIS_SEED, TOWNBRAIN_SCHEMATHESIS_PHASES
# =coverage to add the coverage phase); see docs/api.md.
SEED = int(os.environ.get("TOWNBRAIN_SCHEMATHESIS_SEED", "20261118"))
MAX_EXAMPLES = int(os.environ.get("TOWNBRAIN_SCHEMATHESIS_EXAMPLES", "3"))  # per operation and user: ~15-20 s each
EXTRA_PHASES = [name for name in os.environ.get("TOWNBRAIN_SCHEMATHESIS_PHASES", "").split(",") if name]
SCHEMA_URL = "/api/schema/?format=json"
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]


def wsgi_app():
    """Django's request handler the way the test client runs it, behind a plain WSGI callable.

    The test client's handler leaves the database connection alone between requests, so every request
    runs inside the test's transaction and sees the rows the fixtures made (Django's own WSGI handler
    would close the connection at the end of each request)."""
    handler = ClientHandler(enforce_csrf_checks=False)

    def app(environ, start_response):
        response = handler(environ)
        headers = list(response.items())
        headers += [("Set-Cookie", cookie.output(header="").strip()) for cookie in response.cookies.values()]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        if response.streaming:
            return [b"".join(response.streaming_content)]
        return [response.content]

    return app


@dataclass
class Found:
    """One failure: the operation, the check, what was sent and what came back."""

    kind: str
    operation: str
    status: int
    message: str
    request: str
    response: str
    server_traceback: str = ""

    def render(self) -> str:
        text = f"[{self.kind}] {self.operation} -> {self.status}\n{self.message}\n  request: {self.request}\n" \
               f"  response: {self.response}"
        if self.server_traceback:
            text += "\n" + self.server_traceback
        return text


@dataclass
class Report:
    operations: int = 0
    cases: int = 0
    failures: list[Found] = field(default_factory=list)
    seen: set = field(default_factory=set)
    seconds: dict[str, float] = field(default_factory=dict)  # per operation, to keep the run bounded

    def slowest(self, count=10) -> str:
        top = sorted(self.seconds.items(), key=lambda item: -item[1])[:count]
        return ", ".join(f"{label} {seconds:.1f}s" for label, seconds in top)

    def add(self, found: Found):
        key = (found.kind, found.operation, found.status)
        if key not in self.seen:  # one of each (check, operation, status): the first example tells
            self.seen.add(key)
            self.failures.append(found)


def _short(value, limit=600) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _describe_request(case, response) -> str:
    request = response.request
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return _short(f"{request.method} {request.url} {body or ''}".strip())


def run_schemathesis(app, token: str, *, max_examples: int, seed: int, only: str | None = None,
                     extra_phases: Iterable[str] = ()) -> Report:
    """Run schemathesis in-process over every operation as the holder of `token`; collect every failure."""
    phases = {"examples": True, "fuzzing": True, "coverage": False, "stateful": False}
    phases.update({name: True for name in extra_phases})
    config = SchemathesisConfig.from_dict({
        "seed": seed,
        "headers": {"Authorization": f"Token {token}", "Accept-Language": "en"},
        "generation": {"max-examples": max_examples, "no-shrink": True, "database": "none"},
        "phases": {name: {"enabled": enabled} for name, enabled in phases.items()},
    })
    schema = schemathesis.openapi.from_wsgi(SCHEMA_URL, app, config=config)
    report = Report()
    errors: list[str] = []

    def remember(sender, request=None, **kwargs):
        errors.append("".join(traceback.format_exception(*sys.exc_info())))

    got_request_exception.connect(remember, dispatch_uid="schemathesis-server-errors")
    try:
        feedback = FeedbackSources()
        for result in schema.get_all_operations():
            operation = result.ok()
            if only and only not in operation.label:
                continue
            report.operations += 1

            test = build_operation_test(config=schema.config, operation=operation,
                                        test_func=_checker(operation, report, errors), given_kwargs={},
                                        feedback=feedback)
            started = time.monotonic()
            test()
            report.seconds[operation.label] = time.monotonic() - started
    finally:
        got_request_exception.disconnect(dispatch_uid="schemathesis-server-errors")
    return report


def _checker(operation, report: Report, errors: list[str]):
    def check(case):
        errors.clear()
        report.cases += 1
        response = case.call()
        try:
            case.validate_response(response, checks=CHECKS)
        except (Failure, FailureGroup) as exc:
            failures = exc.exceptions if isinstance(exc, FailureGroup) else (exc,)
            for failure in failures:
                report.add(Found(
                    kind=failure.title, operation=operation.label, status=response.status_code,
                    message=_short(failure.message, 1200), request=_describe_request(case, response),
                    response=_short(response.text), server_traceback=errors[-1] if errors else ""))

    return check


# -- the run as the town editor and as the province office ------------------------------------------------

# The `world` of the URL walk: rows of every app in 瓜沥镇 (the editor's town) and in 大洋镇 (another town of
# the province), so lists and details answer with real rows, not only empty pages and 404s.
# Built once for the module inside a transaction rolled back at its end; each test runs in a savepoint.
from townbrain.tests.test_url_walk import walk_world, world  # noqa: E402,F401  (fixtures)


@pytest.mark.parametrize("username", ["guali", "zhejiang"])
def test_every_operation_conforms_to_the_schema(world, settings, username):  # noqa: F811
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    token = Token.objects.get_or_create(user=world.users[username])[0].key
    report = run_schemathesis(wsgi_app(), token, max_examples=MAX_EXAMPLES, seed=SEED, extra_phases=EXTRA_PHASES)
    print(f"{report.cases} cases over {report.operations} operations; slowest: {report.slowest()}")
    assert report.operations > 150, report.operations  # every operation of the schema, not a handful
    assert not report.failures, f"{len(report.failures)} failures in {report.cases} cases:\n\n" + \
        "\n\n".join(found.render() for found in report.failures)


def test_the_run_fails_on_an_undeclared_status_and_on_a_server_error(world, monkeypatch):  # noqa: F811
    """The checks are live: a 500 and a status the schema does not declare are both reported."""
    from townbrain.core import api_views

    def boom(self, request, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(api_views.OrgUnitViewSet, "retrieve", boom)
    token = Token.objects.get_or_create(user=world.users["guali"])[0].key
    report = run_schemathesis(wsgi_app(), token, max_examples=2, seed=SEED, only="GET /api/orgunits/{code}/")
    kinds = {found.kind for found in report.failures}
    assert report.operations == 1 and report.cases
    assert any("Server error" in kind for kind in kinds), kinds
    assert any(found.status == 500 and "RuntimeError" in found.server_traceback for found in report.failures)


def api_as(made, name):
    api = APIClient()
    api.force_authenticate(made.users[name])
    return api


def test_every_operation_declares_its_error_statuses(db):
    """`GET /api/schema/` declares, for every operation, the statuses it can answer (core/openapi.py)."""
    document = json.loads(APIClient().get(SCHEMA_URL).content)
    assert {"ErrorDetail", "ValidationErrors"} <= set(document["components"]["schemas"])
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            codes = set(operation["responses"])
            if path not in {"/api/auth/token/", "/api/ingest/"}:
                assert {"401", "403", "404"} <= codes, (method, path, codes)
            if method in {"post", "put", "patch", "delete"}:
                assert {"400", "409"} <= codes, (method, path, codes)
            for code, response in operation["responses"].items():
                if code >= "400":
                    assert "application/json" in response["content"], (method, path, code)
    assert {"400", "429"} <= set(document["paths"]["/api/auth/token/"]["post"]["responses"])
    assert "412" in document["paths"]["/api/projects/{id}/"]["patch"]["responses"]


@pytest.mark.parametrize("url, field, words", [
    ("/api/memberships/?page=0&page_size=0&user=&org_unit=&under=&role=", "page", ["0"]),
    ("/api/users/?page_size=0&q=&under=&role=", "page_size", ["0"]),
    ("/api/projects/?page_size=abc", "page_size", ["abc"]),
    ("/api/expert-assignments/?expert=99999999999999999999999", "expert", ["9223372036854775807"]),
    ("/api/orgunits/?under=t%25", "under", ["t%"]),
])
def test_odd_input_is_a_400_naming_the_parameter(world, url, field, words):  # noqa: F811
    response = api_as(world, "guali").get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    message = " ".join(response.json()[field])
    assert all(word in message for word in words), message


def test_page_size_above_the_most_is_cut_and_a_page_past_the_end_is_404(world):  # noqa: F811
    api = api_as(world, "zhejiang")
    assert api.get("/api/orgunits/", {"page_size": 10**30}).status_code == 200
    assert api.get("/api/orgunits/", {"page": 10**6}).status_code == 404


def test_an_api_url_no_route_matches_is_a_json_404(world):  # noqa: F811
    response = api_as(world, "guali").get("/api/projects/1.5/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json()["detail"]

