"""Publicity pages: articles (KPI cards by outlet level), quotas (定期约稿, with their fulfilment counted
from the articles) and honours (表彰); each with filters, exports, a form for a new record and a page
to edit or delete one. The three share one create view and one detail view."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.forms import add_errors
from townbrain.core.lists import Column, RestrictedListView
from townbrain.core.models import OrgUnit
from townbrain.core.scope import ALL, allows, scope_prefixes
from townbrain.core.views import breadcrumb

from . import services
from .filters import ArticleFilterSet, HonourFilterSet, QuotaFilterSet
from .forms import FORMS
from .models import LEVEL_CHINESE, Article, Honour, Quota


def _filtered(filterset):
    if filterset.is_bound:
        return filterset.qs if filterset.is_valid() else filterset.queryset.none()
    return filterset.queryset


class ArticleListView(LoginRequiredMixin, RestrictedListView):
    model = Article
    filterset_class = ArticleFilterSet
    columns = [
        Column("published_on", gettext_lazy("Date published"), sort="published_on"),
        Column("town", gettext_lazy("Town (code)"), sort="town_id", getter=lambda a: a.town_id),
        Column("town.name", gettext_lazy("Town")),
        Column("level", gettext_lazy("Outlet level"), sort="level", getter=lambda a: LEVEL_CHINESE[a.level]),
        Column("outlet", gettext_lazy("Outlet"), sort="outlet"),
        Column("title", gettext_lazy("Title"), sort="title", link=True),
        Column("link", gettext_lazy("Link")),
    ]
    default_sort = "-published_on"
    export_name = "articles"
    title = gettext_lazy("Publicity articles (宣传稿件)")
    create_url = "article-create"
    template_name = "publicity/article_list.html"

    def base_queryset(self):
        return super().base_queryset().select_related("town")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["figures"] = services.article_summary(_filtered(kwargs["filterset"]))
        return context


class QuotaListView(LoginRequiredMixin, RestrictedListView):
    """定期约稿: each quota with the articles that count for it and whether it is met."""

    model = Quota
    filterset_class = QuotaFilterSet
    columns = [
        Column("period", gettext_lazy("Period"), sort="period", link=True),
        Column("town", gettext_lazy("Town (code)"), sort="town_id", getter=lambda q: q.town_id),
        Column("town.name", gettext_lazy("Town")),
        Column("min_level", gettext_lazy("Lowest outlet level counted")),
        Column("articles", gettext_lazy("Articles owed (篇)"), sort="articles", num_format='#,##0 "篇"',
               classes="text-end"),
        Column("counted", gettext_lazy("Articles counted (篇)"), sort="counted", num_format='#,##0 "篇"',
               classes="text-end"),
        Column("met", gettext_lazy("Met"), getter=lambda q: q.counted >= q.articles),
    ]
    default_sort = "-period"
    export_name = "article-quotas"
    title = gettext_lazy("Article quotas (定期约稿)")
    create_url = "quota-create"
    template_name = "publicity/quota_list.html"

    def base_queryset(self):
        return services.with_counted(super().base_queryset().select_related("town"))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["figures"] = services.quota_summary(_filtered(kwargs["filterset"]))
        return context


class HonourListView(LoginRequiredMixin, RestrictedListView):
    model = Honour
    filterset_class = HonourFilterSet
    columns = [
        Column("awarded_on", gettext_lazy("Date awarded"), sort="awarded_on"),
        Column("unit", gettext_lazy("Org unit (code)"), sort="unit_id", getter=lambda h: h.unit_id),
        Column("unit.name", gettext_lazy("Org unit")),
        Column("kind", gettext_lazy("Kind of honour"), sort="kind"),
        Column("recipient", gettext_lazy("Recipient"), sort="recipient", link=True),
        Column("title", gettext_lazy("Honour"), sort="title"),
        Column("issuer", gettext_lazy("Issuing body"), sort="issuer"),
        Column("occasion", gettext_lazy("Meeting or document")),
        Column("reason", gettext_lazy("Reason")),
    ]
    default_sort = "-awarded_on"
    export_name = "honours"
    title = gettext_lazy("Honours (表彰)")
    create_url = "honour-create"
    template_name = "publicity/honour_list.html"

    def base_queryset(self):
        return super().base_queryset().select_related("unit")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["figures"] = services.honour_summary(_filtered(kwargs["filterset"]))
        return context


# --- one create view and one detail view for the three kinds of record ---------------------------------

KINDS = {
    "article": (Article, "article-list", gettext_lazy("Record an article"), "town"),
    "quota": (Quota, "quota-list", gettext_lazy("Set an article quota"), "town"),
    "honour": (Honour, "honour-list", gettext_lazy("Record an honour"), "unit"),
}


def _single_unit(user) -> str:
    prefixes = scope_prefixes(user, "add")
    return next(iter(prefixes)) if prefixes is not ALL and len(prefixes) == 1 else ""


def _fields(form, user, unit_field) -> dict | None:
    d = dict(form.cleaned_data)
    unit = OrgUnit.objects.restrict(user, "view").filter(code=d.pop(unit_field)).first()
    if unit is None:
        form.add_error(unit_field, _("There is no org unit in your area with this code."))
        return None
    return {**d, unit_field: unit}


def _save(request, form, unit_field, write) -> bool:
    if not form.is_valid():
        return False
    fields = _fields(form, request.user, unit_field)
    if fields is None:
        return False
    try:
        write(fields)
    except ValidationError as exc:
        add_errors(form, exc)
    except PermissionDenied as exc:
        form.add_error(unit_field, str(exc))
    else:
        return True
    return False


@login_required
def record_create(request, kind):
    model, list_url, title, unit_field = KINDS[kind]
    if not scope_prefixes(request.user, "add"):
        raise PermissionDenied(_("You may not add records here."))
    form = FORMS[model](request.POST or None, initial={unit_field: _single_unit(request.user)})
    if request.method == "POST" and _save(request, form, unit_field,
                                          lambda f: services.create(request.user, model, **f)):
        messages.success(request, _("Saved."))
        return redirect(list_url)
    return render(request, "publicity/record_form.html", {"form": form, "title": title, "list_url": list_url})


@login_required
def record_detail(request, kind, pk):
    """Edit (or delete) one record; users who may only view it see it read-only."""
    model, list_url, _title, unit_field = KINDS[kind]
    obj = get_object_or_404(model.objects.restrict(request.user, "view").select_related(unit_field), pk=pk)
    code = getattr(obj, f"{unit_field}_id")
    can_change, can_delete = allows(request.user, "change", code), allows(request.user, "delete", code)
    op = request.POST.get("op") if request.method == "POST" else None
    form = FORMS[model](request.POST if op == "edit" else None, instance=model.objects.get(pk=obj.pk))
    if op == "delete":
        if not can_delete:
            raise PermissionDenied(_("You may not delete this record."))
        services.delete(request.user, obj)
        messages.success(request, _("Deleted."))
        return redirect(list_url)
    if op is not None:
        if op != "edit" or not can_change:
            raise PermissionDenied(_("You may not change this record."))
        if _save(request, form, unit_field, lambda f: services.update(request.user, obj, **f)):
            messages.success(request, _("Saved."))
            return redirect(obj)
    unit = getattr(obj, unit_field)
    figures = None
    if model is Quota:
        figures = services.quota_summary(Quota.objects.filter(pk=obj.pk))
    return render(request, "publicity/record_form.html", {
        "form": form, "object": obj, "title": str(obj), "list_url": list_url, "can_change": can_change,
        "can_delete": can_delete, "unit": unit, "breadcrumb": breadcrumb(request, unit), "figures": figures,
        "history_url": reverse("object-history", args=[model._meta.model_name, obj.pk]),
    })
