"""DRF settings hooks (imported by settings by dotted path, so they must not import viewsets)."""

from decimal import Decimal

from django import forms
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from . import conflicts
from .locks import Locked


class Conflict(exceptions.APIException):
    """409: the request is right, the state of the thing refuses it (a locked reporting period)."""

    status_code = 409
    default_code = "locked"


class Pagination(pagination.PageNumberPagination):
    """`{"count", "next", "previous", "results"}`; `?page=` and `?page_size=` (at most 1000).

    An empty value is no value (the first page, the default size); `page_size` above 1000 is cut
    to 1000; a `page` or `page_size` that is not a whole number from 1 is a 400 naming it (DRF
    would quietly take the default size, or answer 404 for `page=0`); a page past the end is 404."""

    page_size_query_param = "page_size"
    max_page_size = 1000

    def _whole_number(self, request, name):
        raw = request.query_params.get(name, "").strip()
        if not raw or (name == self.page_query_param and raw in self.last_page_strings):
            return None
        try:
            number = int(raw)
        except ValueError:
            number = 0
        if number < 1:
            raise exceptions.ValidationError({name: [_("“%(value)s” is not a whole number from 1 upwards.")
                                                     % {"value": raw[:40]}]})
        return number

    def get_page_size(self, request):
        size = self._whole_number(request, self.page_size_query_param)
        return self.page_size if size is None else min(size, self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        self._whole_number(request, self.page_query_param)
        return super().paginate_queryset(queryset, request, view)


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, answering an invalid filter with the messages the form shows.

    django-filter formats each message again with `%` (`message % params`), which broke on a message
    quoting what the user typed when that held a `%` (`?under=t%` was a 500)."""

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        out_of_range = _out_of_range(filterset.form)
        if out_of_range:
            raise exceptions.ValidationError(out_of_range)
        if not filterset.is_valid() and self.raise_exception:
            raise exceptions.ValidationError({name: list(errors) for name, errors in filterset.errors.items()})
        return filterset.qs


BIGGEST = 2**63 - 1  # a database integer (SQLite's driver raises OverflowError past it)


def _out_of_range(form) -> dict:
    """{filter: [message]} for numbers no integer column can hold, given to a filter of a row by its id
    (`?expert=`) or to a number filter. PostgreSQL finds no such row, SQLite raised OverflowError (a 500):
    both now answer 400 with the field's message before any query."""
    errors = {}
    for name, field in form.fields.items():
        if isinstance(field, forms.ModelChoiceField):
            key = field.to_field_name
            model_field = field.queryset.model._meta.pk if key is None else field.queryset.model._meta.get_field(key)
            if not isinstance(model_field, models.IntegerField | models.AutoField):
                continue
        elif not isinstance(field, forms.IntegerField):  # DecimalField (NumberFilter) is one too
            continue
        values = form.data.getlist(name) if hasattr(form.data, "getlist") else [form.data.get(name)]
        for value in values:
            try:
                number = Decimal(str(value).strip())
            except ArithmeticError:
                continue
            if number.is_finite() and abs(number) > BIGGEST:
                validator = MaxValueValidator(BIGGEST) if number > 0 else MinValueValidator(-BIGGEST)
                errors[name] = [str(validator.message) % {"limit_value": validator.limit_value}]
    return errors


def exception_handler(exc, context):
    """Service functions raise Django's errors; the API answers them as 400/403 with the message,
    and a change refused by a reporting lock (core.locks.Locked) as 409 naming the lock; a write
    whose If-Match (or expected version) the record has left (core.conflicts.Conflict) as 412."""
    if isinstance(exc, conflicts.Conflict):
        return precondition_failed(exc)
    if isinstance(exc, Locked):
        exc = Conflict(" ".join(exc.messages))
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, OverflowError):  # SQLite's driver: an integer past 64 bits in a query (PostgreSQL: no row)
        exc = exceptions.ValidationError({"non_field_errors": [_("A number in the request is out of range.")]})
    return drf_exception_handler(exc, context)


def precondition_failed(exc: "conflicts.Conflict") -> Response:
    """412 `{"detail", "changed_fields", "changes", "changed_by", "changed_at", "version"}`, the record's ETag now."""
    response = Response({
        "detail": exc.messages[0], "changed_fields": exc.changed_fields, "changes": exc.changes,
        "changed_by": exc.by, "changed_at": exc.at.isoformat() if exc.at else None, "version": exc.current,
    }, status=412)
    response["ETag"] = exc.etag
    return response


def not_found(request, exception=None):
    """handler404: `{"detail": …}` JSON for an /api/ URL no route matches (`/api/projects/1.5/`), as
    the API answers any other 404; the page elsewhere."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)
