"""The generic list page: filter (the model's FilterSet), sort, paginate, export.

A list is declared with columns; the same columns feed the HTML table and the exports, so
what a user sees is what they download.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from . import exports, privacy

PAGE_SIZES = (25, 50, 100, 200)
EXPORT_LIMIT = 200_000


@dataclass
class Column:
    name: str  # accessor path on the object, e.g. "parent.name"; also the export key
    label: Any
    sort: str | None = None  # ORM ordering field, None = not sortable
    link: bool = False  # render as a link to the object's get_absolute_url()
    num_format: str | None = None  # xlsx number format, e.g. '#,##0 "人"'
    display: bool = True  # use get_<field>_display() for choices
    classes: str = ""
    getter: Callable | None = None  # computes the value instead of the accessor path
    url: Callable | None = None  # link target; default obj.get_absolute_url()
    # Personal data (a phone, an e-mail, a reporter's name): left out of exports unless `?personal=1` is asked
    # by a user holding the list's `personal_action` somewhere (core/privacy.py; docs/security.md).
    personal: bool = False
    page: bool = True  # False: an export-only column

    def value(self, obj):
        if self.getter is not None:
            return self.getter(obj)
        value = obj
        for part in self.name.split("."):
            if value is None:
                return None
            display = getattr(value, f"get_{part}_display", None) if self.display else None
            value = display() if callable(display) else getattr(value, part)
            if callable(value):
                value = value()
        return value

    def cell(self, obj) -> dict:
        href = None
        if self.link:
            href = self.url(obj) if self.url else obj.get_absolute_url()
        value = self.value(obj)
        if self.num_format == "0" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # a plain whole number (a year): no thousands separator on the page either
        return {"value": value, "href": href, "classes": self.classes}


def table_rows(columns, objects) -> list[list[dict]]:
    return [[c.cell(o) for c in columns] for o in objects]


def filtered(filterset):
    """The rows a list's filter form selects: all of them without a query, none for an invalid one."""
    if not filterset.is_bound:
        return filterset.queryset
    return filterset.qs if filterset.is_valid() else filterset.queryset.none()


class RestrictedListView(TemplateView):
    """Subclasses set model, filterset_class, columns, title; the queryset always starts at restrict()."""

    template_name = "core/list.html"
    model = None
    filterset_class = None
    columns: list[Column] = []
    # What an export writes when it is not what the page shows (sensing exports in its import standard).
    exported_columns: list[Column] | None = None
    default_sort = ""
    export_name = "export"
    title = ""
    action = "view"
    create_url = None
    # The right that lets a user export the personal columns (`?personal=1`): events "change" (the
    # handling office), experts "contact" (offices). None: personal columns are never exported.
    personal_action = None

    def base_queryset(self):
        return self.model.objects.restrict(self.request.user, self.action)

    def get_filterset(self):
        return self.filterset_class(self.request.GET or None, queryset=self.base_queryset(), request=self.request)

    def sort_key(self):
        allowed = {c.sort for c in self.columns if c.sort}
        key = self.request.GET.get("sort", "")
        return key if key.lstrip("-") in allowed else self.default_sort

    def export_columns(self, request) -> list[Column]:
        """The columns of an export (`exported_columns` where a list writes other columns than it shows):
        personal ones only when asked (`?personal=1`) by a user with the right."""
        columns = list(self.exported_columns or self.columns)
        if request.GET.get("personal", "") not in ("1", "true", "yes"):
            return [c for c in columns if not c.personal]
        if not any(c.personal for c in columns):
            return columns
        if not privacy.may_export_personal(request.user, self.personal_action):
            raise PermissionDenied(_("Contact details are exported only by the offices that handle them."))
        return columns

    def get(self, request, *args, **kwargs):
        filterset = self.get_filterset()
        qs = filtered(filterset)
        sort = self.sort_key()
        if sort:
            qs = qs.order_by(sort, "pk")
        fmt = request.GET.get("export")
        if fmt:
            if fmt not in exports.FORMATS:
                raise Http404(_("Unknown export format."))
            objs = qs[:EXPORT_LIMIT]
            columns = self.export_columns(request)
            if any(c.personal for c in columns):
                privacy.record_personal_export(request.user, self.model, self.personal_action, fmt,
                                               request.GET.urlencode())
            return exports.response(
                fmt,
                self.export_name,
                [str(c.label) for c in columns],
                [c.name for c in columns],
                ([c.value(o) for c in columns] for o in objs),
                **({"num_formats": {i: c.num_format for i, c in enumerate(columns) if c.num_format}}
                   if fmt == "xlsx" else {}),
            )
        try:
            per_page = int(request.GET.get("per_page", 50))
        except ValueError:
            per_page = 50
        per_page = per_page if per_page in PAGE_SIZES else 50
        page = Paginator(qs, per_page).get_page(request.GET.get("page"))
        columns = [c for c in self.columns if c.page]
        rows = table_rows(columns, page.object_list)
        context = self.get_context_data(
            filterset=filterset, page=page, rows=rows, columns=columns, sort=sort, title=self.title,
            per_page=per_page, page_sizes=PAGE_SIZES, create_url=self.create_url, **kwargs,
        )
        return self.render_to_response(context)
