"""The API's body parsers (settings.REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]): DRF's, refusing NUL in any text.

Kept apart from core/drf.py: DRF reads this setting when rest_framework.views is first imported, which
core/drf.py itself imports — a parser defined there was not defined yet at that moment (`townbrain check
--deploy` failed on it).
"""

from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers

# PostgreSQL cannot store or compare text holding NUL (\x00): a code with one, looked up by a related
# field, was a 500 there (and fine on SQLite). DRF's CharField refuses NUL; these parsers refuse it in
# every value of a body, before any field sees it, so lookups, filters in bodies and services are covered.


def _refuse_nul(value):
    if isinstance(value, str):
        if "\x00" in value:
            raise exceptions.ParseError(_("Text must not contain the NUL character (\\x00)."))
    elif isinstance(value, dict):
        for item in value.values():
            _refuse_nul(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_nul(item)
    elif hasattr(value, "lists"):  # a QueryDict of a form or multipart body
        for _key, items in value.lists():
            _refuse_nul(items)
    return value


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return _refuse_nul(super().parse(stream, media_type, parser_context))


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return _refuse_nul(super().parse(stream, media_type, parser_context))


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        _refuse_nul(parsed.data)  # the files are bytes and may hold anything
        return parsed
