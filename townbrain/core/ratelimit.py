"""Rate limits of the doors open to anonymous callers or to a guessed secret (docs/security.md, "Abuse limits").

One mechanism for all of them: a fixed-window counter in Django's cache (the default local-memory cache,
or the one `CACHES` names: with several server processes, a shared cache such as Redis or the database
cache makes the limit hold across them). `settings.RATE_LIMITS` maps a door to `(requests, seconds)`;
0 requests switches a door's limit off.

| door | counted per | default |
| --- | --- | --- |
| `token` — `POST /api/auth/token/` | client address | 20 a minute |
| `public-report` — the public event form (POST) | client address | 5 an hour |
| `open311` — `POST /open311/v2/requests.json` | API key (its user) | 60 an hour |
| `ingest` — `POST /api/ingest/` | device token | 600 a minute |

The login page keeps django-axes' lockout (failures per user name and per address), which answers 429
with `Retry-After` too (access/views.py: `locked_out`).

Over the limit a door answers **429** with `Retry-After: <seconds until the window ends>`: `check()` gives
the seconds (or None), `too_many()` a plain view's response; an API view raises DRF's `Throttled(wait)`
(its exception handler adds the header).
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _

DEFAULTS = {
    "token": (20, 60),
    "public-report": (5, 3600),
    "open311": (60, 3600),
    "ingest": (600, 60),
}


def _now() -> float:
    """The clock (tests move it instead of waiting for a window to pass)."""
    return time.time()


def limit_of(door: str) -> tuple[int, int]:
    """(requests, seconds) for `door`: settings.RATE_LIMITS, else the default."""
    return tuple(getattr(settings, "RATE_LIMITS", {}).get(door, DEFAULTS[door]))


def client_ip(request) -> str:
    """The caller's address as the server saw it (behind a proxy: set REMOTE_ADDR from it in the proxy)."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def check(door: str, who: str) -> int | None:
    """Count one request of `who` at `door`: None while within the limit, else the seconds to wait."""
    limit, window = limit_of(door)
    if limit <= 0 or window <= 0:
        return None
    now = _now()
    start = int(now // window) * window
    # `who` may be a secret (a device token): only its hash goes into the cache key.
    digest = hashlib.sha256(str(who).encode()).hexdigest()[:32]
    key = f"townbrain:ratelimit:{door}:{digest}:{start}"
    cache.add(key, 0, window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window + 5)
        count = 1
    if count > limit:
        return max(1, math.ceil(start + window - now))
    return None


def lockout_seconds() -> int:
    """How long django-axes' login lockout lasts (its cool-off), for the lockout's Retry-After."""
    hours = getattr(settings, "AXES_COOLOFF_TIME", None) or 0
    return max(1, int(float(hours) * 3600))


def message() -> str:
    return _("Too many requests. Try again later.")


def too_many(wait: int, *, json: bool = False, body=None) -> HttpResponse:
    """A 429 with Retry-After for a plain Django view (`json`: `{"detail": …}`)."""
    if json:
        response = JsonResponse(body if body is not None else {"detail": message()}, status=429, safe=False)
    else:
        response = HttpResponse(message(), status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(wait)
    return response


def retry_after(response: HttpResponse, wait: int) -> HttpResponse:
    response["Retry-After"] = str(wait)
    return response
