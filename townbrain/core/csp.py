"""The Content-Security-Policy header (django-csp 4.0): the policy is `CONTENT_SECURITY_POLICY` in
settings; this middleware adds the two documented exceptions, both in style-src only.

- DRF's browsable API (any API response rendered as HTML by `BrowsableAPIRenderer`): its templates
  carry `style="…"` attributes and a `<style>` block (code highlighting). Its scripts are files, so
  script-src stays strict.
- ReDoc (`/api/redoc/`): the bundle injects `<style>` elements at run time (styled-components) and
  runs its search in a worker made from a `blob:` URL.

Swagger UI (`/api/docs/`) needs no exception: `templates/drf_spectacular/swagger_ui.html` gives its
one inline script and style the request's nonce. Every other page has no inline script, style or
event handler at all (docs/security.md).
"""

from csp.constants import SELF, UNSAFE_INLINE
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.middleware import PolicyParts
from rest_framework.renderers import BrowsableAPIRenderer

# Replacements (not additions): a nonce in style-src would make browsers ignore 'unsafe-inline'.
RELAXED_STYLE = {"style-src": [SELF, UNSAFE_INLINE]}
REDOC = {"style-src": [SELF, UNSAFE_INLINE], "worker-src": [SELF, "blob:"]}


def exception_for(request, response) -> dict | None:
    """The directives this response replaces in the policy, or None (the strict policy)."""
    if isinstance(getattr(response, "accepted_renderer", None), BrowsableAPIRenderer):
        return RELAXED_STYLE
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name == "api:redoc":
        return REDOC
    return None


class CSPMiddleware(BaseCSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        extra = None if report_only else exception_for(request, response)
        if extra and parts.replace is None:
            parts.replace = extra
        return parts
