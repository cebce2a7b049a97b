"""招商 pages: the deal list (KPI cards, the live roll-up by industry, filters, exports in the data
standard), a deal's page (edit, funds received, stage history), and the form for a new deal."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.forms import add_errors
from townbrain.core.lists import Column, RestrictedListView, filtered
from townbrain.core.models import OrgUnit
from townbrain.core.scope import ALL, allows, scope_prefixes
from townbrain.core.views import breadcrumb

from . import services
from .filters import DealFilterSet
from .forms import DealForm, ReceiptForm
from .models import DEAL_HEADERS, STAGE_CHINESE, Deal, FundsReceipt

MONEY = '#,##0.00 "万元"'


def _deal_columns(labels: dict, standard: bool) -> list[Column]:
    """The columns of the data standard (kind `deals`), in its order. An export (standard=True) writes the
    standard's headers, the stage in Chinese and the project by code, so the file imports back unchanged."""
    spec = [
        ("signed_on", "signed_on", None, {"link": not standard}),
        ("town", "town_id", None, {"getter": lambda d: d.town_id}),
        ("name", "name", None, {"link": not standard}),
        ("investor", "investor", None, {}),
        ("industry", "industry", None, {}),
        ("signed_amount", "signed_amount", MONEY, {}),
        ("funds_in_place", "funds_in_place", MONEY, {}),
        ("stage", "stage", None, {"getter": (lambda d: STAGE_CHINESE[d.stage]) if standard else None}),
        ("project", None, None, {"getter": lambda d: d.project.code if d.project_id else ""}),
        ("event", "event", None, {}),
    ]
    return [Column(key, labels[key], sort=sort, num_format=fmt, classes="text-end" if fmt else "", **extra)
            for key, sort, fmt, extra in spec]


DEAL_COLUMNS = _deal_columns({
    "signed_on": gettext_lazy("Signing date"), "town": gettext_lazy("Town (code)"),
    "name": gettext_lazy("Project name"), "investor": gettext_lazy("Investor"), "industry": gettext_lazy("Industry"),
    "signed_amount": gettext_lazy("Signed amount (万元)"), "funds_in_place": gettext_lazy("Funds in place (万元)"),
    "stage": gettext_lazy("Stage"), "project": gettext_lazy("Ledger project"), "event": gettext_lazy("Signing event"),
}, standard=False)


class DealListView(LoginRequiredMixin, RestrictedListView):
    """Deals with the KPI cards and the roll-up by industry of the filtered rows on top."""

    model = Deal
    filterset_class = DealFilterSet
    columns = DEAL_COLUMNS
    default_sort = "-signed_on"
    export_name = "deals"
    title = gettext_lazy("Investment attraction (招商)")
    create_url = "deal-create"
    template_name = "investment/deal_list.html"

    def base_queryset(self):
        return super().base_queryset().select_related("town", "project")

    def get(self, request, *args, **kwargs):
        if request.GET.get("export"):
            self.columns = _deal_columns(DEAL_HEADERS, standard=True)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = kwargs["filterset"]
        qs = filtered(filterset)
        context["figures"] = services.summarise(qs)
        context["by_industry"] = services.breakdown(qs, "industry")[:12]
        context["by_unit"] = services.breakdown(qs, "unit", _rollup_org(filterset, self.request.user))[:40]
        return context


def _rollup_org(filterset, user) -> str | None:
    """The org unit whose children the page's roll-up lists: the filter's, else the user's one area."""
    data = filterset.form.cleaned_data if filterset.is_bound and filterset.is_valid() else {}
    org = data.get("town") or data.get("org")
    return org or services.own_area(user)


def _single_town(user) -> str:
    prefixes = scope_prefixes(user, "add")
    code = next(iter(prefixes)) if prefixes is not ALL and len(prefixes) == 1 else ""
    return code if len(code) == 9 else ""


def _fields(form, user) -> dict | None:
    """Service arguments from a valid form: the town in the user's area, the project by code in that town."""
    d = dict(form.cleaned_data)
    town = OrgUnit.objects.restrict(user, "view").filter(code=d.pop("town")).first()
    if town is None:
        form.add_error("town", _("There is no org unit in your area with this code."))
        return None
    code = d.pop("project_code", "")
    try:
        d["project"] = services.find_project(town, code)
    except ValidationError as exc:
        form.add_error("project_code", exc.message_dict["project"])
        return None
    if d.get("funds_in_place") is None:
        d.pop("funds_in_place", None)
    return {**d, "town": town}


@login_required
def deal_create(request):
    if not scope_prefixes(request.user, "add"):
        raise PermissionDenied(_("You may not record deals."))
    form = DealForm(request.POST or None, initial={"town": _single_town(request.user), "stage": "signed"})
    if request.method == "POST" and form.is_valid():
        fields = _fields(form, request.user)
        if fields is not None:
            try:
                deal = services.create_deal(request.user, **fields)
            except ValidationError as exc:
                add_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error("town", str(exc))
            else:
                messages.success(request, _("Deal saved."))
                return redirect(deal)
    return render(request, "investment/deal_form.html", {"form": form, "title": _("Record a deal")})


@login_required
def deal_detail(request, pk):
    """A deal: its figures, the edit form, funds received (add / remove) and the stage history.
    Users who may only view it see it read-only."""
    deal = get_object_or_404(Deal.objects.restrict(request.user, "view").select_related("town", "project"), pk=pk)
    can_change = allows(request.user, "change", deal.town_id)
    can_delete = allows(request.user, "delete", deal.town_id)
    op = request.POST.get("op") if request.method == "POST" else None
    initial = {"signed_on": deal.signed_on, "town": deal.town_id, "name": deal.name, "investor": deal.investor,
               "industry": deal.industry, "signed_amount": deal.signed_amount, "funds_in_place": deal.funds_in_place,
               "event": deal.event, "stage": deal.stage, "project_code": deal.project.code if deal.project_id else "",
               "note": deal.note}
    form = DealForm(request.POST if op == "edit" else None, initial=initial)
    receipt_form = ReceiptForm(request.POST if op == "receipt" else None)
    if op is not None:
        if op == "delete":
            if not can_delete:
                raise PermissionDenied(_("You may not delete this deal."))
            services.delete_deal(request.user, deal)
            messages.success(request, _("Deal deleted."))
            return redirect("deal-list")
        if not can_change:
            raise PermissionDenied(_("You may not change this deal."))
        if op == "edit" and form.is_valid():
            fields = _fields(form, request.user)
            if fields is not None:
                try:
                    services.update_deal(request.user, deal, **fields)
                except ValidationError as exc:
                    add_errors(form, exc)
                except PermissionDenied as exc:
                    form.add_error("town", str(exc))
                else:
                    messages.success(request, _("Saved."))
                    return redirect(deal)
        elif op == "receipt" and receipt_form.is_valid():
            try:
                services.add_receipt(request.user, deal, **receipt_form.cleaned_data)
            except ValidationError as exc:
                add_errors(receipt_form, exc)
            else:
                messages.success(request, _("Funds recorded."))
                return redirect(deal)
        elif op == "unreceipt":
            receipt = get_object_or_404(FundsReceipt, deal=deal, pk=request.POST.get("receipt") or 0)
            try:
                services.delete_receipt(request.user, receipt)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, _("Receipt removed."))
            return redirect(deal)
        elif op not in ("edit", "receipt"):
            raise PermissionDenied(_("Unknown operation."))
    project_visible = deal.project_id and allows(request.user, "view", deal.project.town_id)
    return render(request, "investment/deal_detail.html", {
        "deal": deal, "form": form, "receipt_form": receipt_form, "can_change": can_change,
        "can_delete": can_delete, "receipts": deal.receipts.all(), "stages": deal.stages.all(),
        "project_visible": project_visible, "title": deal.name, "unit": deal.town,
        "breadcrumb": breadcrumb(request, deal.town),
        "history_url": reverse("object-history", args=["deal", deal.pk]),
    })
