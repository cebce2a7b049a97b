"""Contact details shown masked to whoever may not see them (governance: a reporter's phone to all but
the handling office; experts: a phone or e-mail to all but offices). One masking for every app.

Exports leave personal columns out (`Column(personal=True)`, core/lists.py); `?personal=1` brings them back
for a user holding the list's right somewhere, and writes an audit row saying who exported what (never
the values). docs/security.md, "Personal data".
"""

import re

from django.db import transaction

from . import audit
from .scope import ALL, scope_prefixes


def mask_phone(phone: str) -> str:
    """138****1234: the first three and the last four digits; short numbers keep only the last two."""
    digits = re.sub(r"\D", "", phone or "")
    if not digits:
        return ""
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * (len(digits) - 2) + digits[-2:]


def mask_email(email: str) -> str:
    """w***@example.org: the first character of the name and the domain (the office it belongs to)."""
    name, at, domain = (email or "").strip().partition("@")
    if not name:
        return ""
    return f"{name[0]}***{at}{domain}"


def may_export_personal(user, action: str | None) -> bool:
    """Whether `user` holds `action` (the right to read a list's contacts in clear) anywhere."""
    return bool(action) and bool(scope_prefixes(user, action))


def record_personal_export(user, model, action: str, fmt: str, query: str) -> None:
    """The audit row of an export with contact details: who, which list, in which format, with which filter."""
    prefixes = scope_prefixes(user, action)
    org_code = next(iter(prefixes)) if prefixes is not ALL and len(prefixes) == 1 else ""
    name = model._meta.model_name
    with transaction.atomic():
        audit.record(user, "personal.export", f"{model._meta.verbose_name_plural} ({fmt})", None,
                     {"format": fmt, "query": query[:500]}, org_code=org_code, object_type=name, object_id="")
