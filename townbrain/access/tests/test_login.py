"""Login page and lockout after repeated failures (django-axes): per user name, per IP address,
on the login page and on `POST /api/auth/token/` alike."""

import pytest
from axes.models import AccessAttempt
from django.test import Client
from rest_framework.test import APIClient

from townbrain.testing.users import PASSWORD

LIMIT = 3
WRONG = "not-the-password-1"


@pytest.fixture(autouse=True)
def _low_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT


def login(username, password, ip="203.0.113.1", client=None):
    client = client or Client()
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip,
                       HTTP_ACCEPT_LANGUAGE="en")


def token(username, password, ip="203.0.113.1"):
    return APIClient().post("/api/auth/token/", {"username": username, "password": password}, format="json",
                            REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE="en")


def assert_locked_page(response):
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.content.decode()


# -- the login page ----------------------------------------------------------------------------------

def test_login_page_renders(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'name="password"' in html and "csrfmiddlewaretoken" in html


def test_login_and_logout(users):
    client = Client()
    response = login("guali", PASSWORD, client=client)
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == users["guali"].pk
    assert client.get("/").status_code == 302  # home sends guali to her town's cockpit
    assert client.get("/", follow=True).request["PATH_INFO"] == "/cockpit/330109113/"
    assert client.post("/accounts/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_wrong_password_shows_an_error(users):
    response = login("guali", WRONG)
    assert response.status_code == 200
    assert "Wrong user name or password" in response.content.decode()


def test_inactive_user_cannot_log_in(users):
    users["guali"].is_active = False
    users["guali"].save()
    assert login("guali", PASSWORD).status_code == 200


# -- lockout per user name ---------------------------------------------------------------------------

def test_lockout_per_user_name_across_addresses(users):
    # each failure from another address, so only the user-name counter reaches the limit
    for i in range(LIMIT - 1):
        assert login("guali", WRONG, ip=f"203.0.113.{10 + i}").status_code == 200
    assert_locked_page(login("guali", WRONG, ip="203.0.113.19"))  # the failure that reaches the limit
    assert_locked_page(login("guali", PASSWORD, ip="198.51.100.7"))
    # other users are not affected, from those same addresses
    assert login("dayang", PASSWORD, ip="203.0.113.10").status_code == 302


def test_below_the_limit_the_right_password_still_works(users):
    for _ in range(LIMIT - 1):
        login("guali", WRONG)
    assert login("guali", PASSWORD).status_code == 302


def test_lockout_limit_comes_from_settings(settings, users):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(4):
        login("guali", WRONG)
    assert login("guali", PASSWORD).status_code == 302


# -- lockout per IP address --------------------------------------------------------------------------

def test_lockout_per_address_across_user_names(users):
    for name in ("guali", "dayang"):
        assert login(name, WRONG, ip="203.0.113.50").status_code == 200
    assert_locked_page(login("xiaoshan", WRONG, ip="203.0.113.50"))
    # a user with no failures of their own is refused from that address ...
    assert_locked_page(login("jiande", PASSWORD, ip="203.0.113.50"))
    # ... but logs in from another one
    assert login("jiande", PASSWORD, ip="203.0.113.51").status_code == 302


def test_guessing_unknown_user_names_locks_the_address(users):
    for i in range(LIMIT):
        login(f"ghost{i}", WRONG, ip="203.0.113.60")
    assert_locked_page(login("guali", PASSWORD, ip="203.0.113.60"))


# -- the token endpoint --------------------------------------------------------------------------------

def test_token_endpoint_counts_failures_and_answers_429(users):
    for _ in range(LIMIT - 1):
        response = token("guali", WRONG)
        assert response.status_code == 400
        assert response.json()["detail"]
    assert token("guali", WRONG).status_code == 429
    assert AccessAttempt.objects.filter(username="guali").exists()
    locked = token("guali", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed login attempts" in locked.json()["detail"]
    assert "token" not in locked.json()


def test_token_endpoint_lockout_per_address(users):
    for name in ("guali", "dayang", "xiaoshan"):
        token(name, WRONG, ip="203.0.113.70")
    assert token("jiande", PASSWORD, ip="203.0.113.70").status_code == 429
    assert token("jiande", PASSWORD, ip="203.0.113.71").status_code == 200


def test_login_page_and_token_endpoint_share_the_counter(users):
    login("guali", WRONG, ip="203.0.113.80")
    token("guali", WRONG, ip="203.0.113.81")
    login("guali", WRONG, ip="203.0.113.82")
    assert token("guali", PASSWORD, ip="203.0.113.83").status_code == 429
    assert_locked_page(login("guali", PASSWORD, ip="203.0.113.84"))


# -- success resets --------------------------------------------------------------------------------------

def test_successful_login_resets_the_counter(users):
    for _ in range(LIMIT - 1):
        login("guali", WRONG)
    assert login("guali", PASSWORD).status_code == 302
    for _ in range(LIMIT - 1):
        login("guali", WRONG)
    assert login("guali", PASSWORD).status_code == 302  # would be locked had the first failures counted


def test_successful_token_request_resets_the_counter(users):
    for _ in range(LIMIT - 1):
        token("guali", WRONG)
    assert token("guali", PASSWORD).status_code == 200
    assert not AccessAttempt.objects.filter(username="guali").exists()
    for _ in range(LIMIT - 1):
        token("guali", WRONG)
    assert token("guali", PASSWORD).status_code == 200
    users["guali"].refresh_from_db()
    assert users["guali"].last_login is not None  # a token exchange is a login
