"""DRF settings hooks (imported by settings by dotted path, so they must not import viewsets)."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, pagination
from rest_framework.views import exception_handler as drf_exception_handler

from .locks import Locked


class Conflict(exceptions.APIException):
    """409: the request is right, the state of the thing refuses it (a locked reporting period)."""

    status_code = 409
    default_code = "locked"


class Pagination(pagination.PageNumberPagination):
    """`{"count", "next", "previous", "results"}`; `?page=` and `?page_size=` (at most 1000)."""

    page_size_query_param = "page_size"
    max_page_size = 1000


def exception_handler(exc, context):
    """Service functions raise Django's errors; the API answers them as 400/403 with the message,
    and a change refused by a reporting lock (core.locks.Locked) as 409 naming the lock."""
    if isinstance(exc, Locked):
        exc = Conflict(" ".join(exc.messages))
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    return drf_exception_handler(exc, context)
