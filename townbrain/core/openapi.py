"""The error answers of the API, declared in the OpenAPI schema in one place (a drf-spectacular hook).

Every operation of `/api/schema/` declares every status it can answer, with the body
`core/drf.py:exception_handler` gives it, so a generated client handles them and schemathesis
(townbrain/tests/test_schemathesis.py) can hold the API to its schema:

| status | body | declared on |
| --- | --- | --- |
| 400 | `ValidationErrors`: `{"field": ["message", …]}`, `{"non_field_errors": […]}`, nested for nested input, or `{"detail": "…"}` (malformed JSON, a wrong password) | every operation taking a parameter (path or query) or a body, every write |
| 401 | `ErrorDetail` `{"detail": "…"}` | every operation needing a login (token or session) |
| 403 | `ErrorDetail` | every operation needing a login: the caller may see the object but not do this |
| 404 | `ErrorDetail` | every operation needing a login: an object, or a page, not found or outside the caller's area |
| 409 | `ErrorDetail` | every write (POST, PUT, PATCH, DELETE): a reporting lock refuses the change (core/locks.py) |
| 412 | the view's own `Conflict` body | PUT and PATCH of a view with `conflict_checked = True` (If-Match, core/api.py), when the view has not declared it itself |
| 429 | `ErrorDetail` | operations of a view with `rate_limited = True` (the token exchange: the login lockout) |
| any | `ErrorDetail` | the statuses a view lists in `error_statuses` (the sensors' ingest checks its device token itself: 401) |

A status an operation declares itself (with `extend_schema(responses=…)`) is kept as it is (given the
error body above when it was declared with a description only).
"""

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular import openapi
from rest_framework import serializers
from rest_framework.permissions import AllowAny

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
WRITES = {"post", "put", "patch", "delete"}

ERROR_DETAIL = {
    "type": "object",
    "description": "An error with one message: `{\"detail\": \"...\"}`, in the language of the request.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERRORS = {
    "type": "object",
    "description": "What is wrong with the input: `{\"field\": [\"message\", ...]}` for each field (a filter, "
                   "a page number or a body field), `{\"non_field_errors\": [...]}` for the whole, nested objects "
                   "and lists for nested input, or `{\"detail\": \"...\"}` for a body that cannot be read.",
    "additionalProperties": {
        "anyOf": [{"type": "array", "items": {}}, {"type": "object"}, {"type": "string"}],
    },
}

DESCRIPTIONS = {
    "400": "Invalid input: a body field, a filter or a page number (each named with its message).",
    "401": "No or invalid credentials (send `Authorization: Token <token>`).",
    "403": "You may see this but not do it; the reason is in `detail`.",
    "404": "Not found, outside your area, or a page past the end.",
    "409": "The change is refused by the state of things: a locked reporting period.",
    "412": "The record changed since the version named in If-Match.",
    "429": "Too many failed attempts: locked for a while.",
    "401+": "Refused; the reason is in `detail`.",
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _response(status: str, schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}},
            "description": DESCRIPTIONS.get(status, DESCRIPTIONS["401+"])}


def _needs_login(view) -> bool:
    classes = getattr(view, "permission_classes", ())
    return not classes or not all(cls is AllowAny for cls in classes)


def _takes_input(method: str, operation: dict) -> bool:
    return method in WRITES or "requestBody" in operation or bool(operation.get("parameters"))


def statuses_for(view, method: str, operation: dict) -> dict[str, dict]:
    """The error statuses `operation` (method on view) can answer, each with its body's schema."""
    found = {}
    if _takes_input(method, operation):
        found["400"] = _ref("ValidationErrors")
    if _needs_login(view):
        for status in ("401", "403", "404"):
            found[status] = _ref("ErrorDetail")
    if method in WRITES:
        found["409"] = _ref("ErrorDetail")
    if method in {"put", "patch"} and getattr(view, "conflict_checked", False):
        found["412"] = _ref("ErrorDetail")
    if getattr(view, "rate_limited", False):
        found["429"] = _ref("ErrorDetail")
    for status in getattr(view, "error_statuses", ()):  # what a view answers on its own (a device token's 401)
        found.setdefault(str(status), _ref("ErrorDetail"))
    return found


def declare_error_responses(result, generator, request, public):
    """POSTPROCESSING_HOOK: give every operation its error statuses and the two error components."""
    views = {(path, method.lower()): view for path, _regex, method, view in generator._get_paths_and_endpoints()}
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorDetail", ERROR_DETAIL)
    schemas.setdefault("ValidationErrors", VALIDATION_ERRORS)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            view = views.get((path, method))
            if method not in METHODS or view is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, schema in statuses_for(view, method, operation).items():
                declared = responses.setdefault(status, _response(status, schema))
                # a status the view declared with only a description: its body is the error body
                declared.setdefault("content", {"application/json": {"schema": schema}})
    return result


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema, saying of a read-only field what the model lets it hold.

    DRF drops `allow_null` / `allow_blank` from read-only fields (and a declared read-only related
    field never had them), so the schema claimed a string or an enum value where the API answers
    `null` (a scheme's `based_on`, an event's `handler`) or `""` (a county's `town_kind`). A read-only
    field whose model field (or a relation on the way to it) is nullable is declared nullable; a
    read-only choice of a model field that may be blank has `""` among its values."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if getattr(field, "read_only", False):
            null, blank = model_field_allows(field)
            if null and not field.allow_null:
                field.allow_null = True
            if blank and isinstance(field, serializers.ChoiceField | serializers.CharField) and not field.allow_blank:
                field.allow_blank = True
        return super()._map_serializer_field(field, direction, bypass_extensions)


def model_field_allows(field) -> tuple[bool, bool]:
    """(may be null, may be blank) of the model field behind a serializer field, by its source path."""
    model = getattr(getattr(getattr(field, "parent", None), "Meta", None), "model", None)
    attrs = getattr(field, "source_attrs", None)
    if model is None or not attrs:
        return False, False
    null = blank = False
    for index, attr in enumerate(attrs):
        try:
            model_field = model._meta.get_field(attr)
        except FieldDoesNotExist:
            return False, False
        if not model_field.concrete or model_field.many_to_many:
            return False, False
        null = null or model_field.null
        blank = model_field.blank
        model = model_field.related_model if model_field.is_relation else None
        if model is None and index < len(attrs) - 1:
            return False, False
    return null, blank


__all__ = ["AutoSchema", "declare_error_responses", "model_field_allows", "statuses_for"]
