"""Abuse limits (core/ratelimit.py, docs/security.md): every door open to anonymous callers or to a guessed
secret answers 429 with Retry-After past its limit, and opens again when the window has passed. Small limits
through settings and a moved clock: no test waits for a real window."""

import json

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from townbrain.core import ratelimit
from townbrain.core.scope import SYSTEM
from townbrain.testing.users import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """A clock standing at the start of an hour; `clock.now += s` moves it."""

    class Clock:
        now = 1_800_000_000.0  # a whole hour: windows of 60 s and 3600 s both start here

    monkeypatch.setattr(ratelimit, "_now", lambda: Clock.now)
    return Clock


def limit(settings, door, requests, seconds):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, door: (requests, seconds)}


def assert_429(response, at_most):
    assert response.status_code == 429, response.content
    assert 0 < int(response["Retry-After"]) <= at_most


def test_counter_window_and_switch_off(settings, clock):
    limit(settings, "token", 2, 60)
    assert ratelimit.check("token", "a") is None and ratelimit.check("token", "a") is None
    clock.now += 15
    assert ratelimit.check("token", "a") == 45  # the seconds left in the window
    assert ratelimit.check("token", "b") is None  # counted per caller
    clock.now += 45
    assert ratelimit.check("token", "a") is None  # a new window
    limit(settings, "token", 0, 60)
    assert all(ratelimit.check("token", "a") is None for _ in range(5))


def test_token_endpoint(users, settings, clock):
    limit(settings, "token", 3, 60)

    def token(password, ip="203.0.113.50"):
        return APIClient().post("/api/auth/token/", {"username": "guali", "password": password}, format="json",
                                REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE="en")

    assert token(PASSWORD).status_code == 200
    assert token("wrong-password-1").status_code == 400
    assert token(PASSWORD).status_code == 200
    refused = token(PASSWORD)  # the right password too: the address has used its tries
    assert_429(refused, 60)
    assert refused.json()["detail"].startswith("Too many requests. Try again later.")
    assert token(PASSWORD, ip="198.51.100.9").status_code == 200  # another address
    clock.now += 60
    assert token(PASSWORD).status_code == 200


def test_login_lockout_says_when_to_retry(users, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    for _ in range(2):
        response = client.post("/accounts/login/", {"username": "guali", "password": "wrong-password-1"},
                               REMOTE_ADDR="203.0.113.60")
    assert_429(response, int(settings.AXES_COOLOFF_TIME * 3600))
    api = APIClient().post("/api/auth/token/", {"username": "guali", "password": PASSWORD}, format="json",
                           REMOTE_ADDR="203.0.113.60")
    assert_429(api, int(settings.AXES_COOLOFF_TIME * 3600))


def test_open311_post(users, settings, clock):
    limit(settings, "open311", 1, 3600)
    key = Token.objects.create(user=users["xiaoshan"]).key
    body = {"api_key": key, "service_code": "bm-help-streetlight", "attribute[town]": "330109113",
            "description": "村口路灯不亮"}
    assert Client().post("/open311/v2/requests.json", body).status_code == 201
    refused = Client().post("/open311/v2/requests.json", body)
    assert_429(refused, 3600)
    assert refused.json()[0]["code"] == 429
    assert Client().get("/open311/v2/requests.json", {"api_key": key}).status_code == 200  # reading is not limited
    clock.now += 3600
    assert Client().post("/open311/v2/requests.json", body).status_code == 201


def test_ingest_per_device_token(users, settings, clock):
    from townbrain.sensing import services

    limit(settings, "ingest", 2, 60)
    one, token_one = services.create_sensor(SYSTEM, "330109113", code="rl-cod-1", kind="cod")
    two, token_two = services.create_sensor(SYSTEM, "330109113", code="rl-cod-2", kind="cod")

    def post(code, token):
        return Client().post("/api/ingest/", data=json.dumps({"sensor": code, "readings": []}),
                             content_type="application/json", HTTP_AUTHORIZATION=f"Device {token}")

    assert post(one.code, token_one).status_code == 200
    assert post(one.code, token_one).status_code == 200
    assert_429(post(one.code, token_one), 60)
    assert post(two.code, token_two).status_code == 200  # its own count
    clock.now += 60
    assert post(one.code, token_one).status_code == 200
