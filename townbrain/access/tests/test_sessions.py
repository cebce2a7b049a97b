"""Sessions (docs/security.md): a login lasts SESSION_COOKIE_AGE, logging out (on every page) ends it, and
production settings send the cookies over HTTPS only."""

import os
import subprocess
import sys

from django.test import Client

from townbrain.testing.users import PASSWORD


def test_login_cookie_lifetime_and_logout_on_every_page(users, settings):
    settings.SESSION_COOKIE_AGE = 3600
    client = Client()
    assert client.post("/accounts/login/", {"username": "guali", "password": PASSWORD}).status_code == 302
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == 3600 and cookie["httponly"] and cookie["samesite"] == "Lax"
    for url in ("/cockpit/330109113/", "/events/", "/experts/"):
        assert 'action="/accounts/logout/"' in client.get(url).content.decode(), url
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/events/").status_code == 302  # back to the login page


def test_production_cookies_are_secure():
    env = {**{k: v for k, v in os.environ.items() if k != "TOWNBRAIN_SESSION_HOURS"},
           "TOWNBRAIN_DEBUG": "0", "TOWNBRAIN_SECRET_KEY": "x" * 50}
    code = ("from townbrain import settings as s; "
            "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_AGE)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True", "True", "43200"]
