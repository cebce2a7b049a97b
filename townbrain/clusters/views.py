"""Cluster pages: the list (filters, exports), a cluster's page (members, the combined live roll-up with each
town's figures and its export, projects, expert activity, latest assessment results, the joint indicators;
the edit and assessment forms for those who may change every member town), the form for a new cluster, and
the roll-ups page's `?cluster=` choice."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.forms import add_errors
from townbrain.core.lists import Column, RestrictedListView
from townbrain.core.scope import allows
from townbrain.projects import latest
from townbrain.projects import views as projects_views

from . import services
from .filters import ClusterFilterSet
from .forms import ClusterForm, FiguresForm, IndicatorForm
from .models import Cluster, MemberRole


def _members_text(cluster, user) -> str:
    return "、".join(m.town.name for m in cluster.memberships.all() if allows(user, "view", m.town_id))


class ClusterListView(LoginRequiredMixin, RestrictedListView):
    model = Cluster
    filterset_class = ClusterFilterSet
    default_sort = "name"
    export_name = "clusters"
    title = gettext_lazy("Town clusters (集群)")
    create_url = "cluster-create"

    def base_queryset(self):
        return super().base_queryset().select_related("lead", "programme").prefetch_related("memberships__town")

    def get(self, request, *args, **kwargs):
        user = request.user
        self.columns = [
            Column("name", gettext_lazy("Name"), sort="name", link=True),
            Column("lead_id", gettext_lazy("Lead town (code)"), sort="lead_id"),
            Column("lead.name", gettext_lazy("Lead town")),
            Column("members", gettext_lazy("Member towns"), getter=lambda c: _members_text(c, user)),
            Column("theme", gettext_lazy("Theme"), classes="d-none d-md-table-cell"),
            Column("programme.name", gettext_lazy("Programme"), classes="d-none d-lg-table-cell"),
        ]
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["create_url"] = None if not _may_create(self.request.user) else context.get("create_url")
        return context


def _may_create(user) -> bool:
    from townbrain.core.scope import scope_prefixes

    return bool(scope_prefixes(user, "add"))


def _visible(request, pk) -> Cluster:
    return get_object_or_404(Cluster.objects.restrict(request.user, "view").select_related("lead", "programme"),
                             pk=pk)


def _may_change(user, cluster) -> bool:
    return all(allows(user, "change", code) for code in services.member_codes(cluster))


def _figures_choice(request, cluster, members):
    """The programme and month of the page: what the user chose, else the cluster's programme (or the one with
    the most projects in the lead town) and the latest month with data there."""
    form = FiguresForm(request.GET or None)
    chosen = form.cleaned_data if form.is_valid() else {}
    programme, period = chosen.get("programme"), chosen.get("period")
    anchor = members[0].town if members else None
    if programme is None:
        programme = cluster.programme or (latest.default_programme(request.user, anchor) if anchor else None)
    if not period and programme is not None and anchor is not None:
        period = latest.latest_period(request.user, anchor, programme)
    if form.is_bound is False:
        form = FiguresForm(initial={"programme": programme.code if programme else None, "period": period})
    return form, programme, period


@login_required
def cluster_detail(request, pk):
    cluster = _visible(request, pk)
    members = services.members_for(request.user, cluster)
    can_change = _may_change(request.user, cluster)
    can_delete = all(allows(request.user, "delete", code) for code in services.member_codes(cluster))
    op = request.POST.get("op") if request.method == "POST" else None
    wings = [m.town_id for m in cluster.memberships.all() if m.role == MemberRole.WING]
    form = ClusterForm(request.POST if op == "edit" else None, initial={
        "name": cluster.name, "theme": cluster.theme, "programme": cluster.programme.code if cluster.programme_id
        else None, "lead": cluster.lead_id, "wings": " ".join(wings), "note": cluster.note})
    indicator_form = IndicatorForm(request.POST if op == "indicator" else None)
    if op is not None:
        if op == "delete":
            if not can_delete:
                raise PermissionDenied(_("You may not delete this cluster."))
            services.delete_cluster(request.user, cluster)
            messages.success(request, _("Cluster deleted."))
            return redirect("cluster-list")
        if not can_change:
            raise PermissionDenied(_("You may not change this cluster."))
        target = form if op == "edit" else indicator_form
        if target.is_valid():
            try:
                if op == "edit":
                    services.update_cluster(request.user, cluster, **form.cleaned_data)
                else:
                    services.set_indicator(request.user, cluster, **indicator_form.cleaned_data)
            except ValidationError as exc:
                add_errors(target, exc)
            except PermissionDenied as exc:
                target.add_error(None, str(exc))
            else:
                messages.success(request, _("Saved."))
                return redirect(cluster)
    figures_form, programme, period = _figures_choice(request, cluster, members)
    figures = services.rollup(request.user, cluster, period, programme) if programme and period else None
    if figures is not None:
        fmt = request.GET.get("export")
        if fmt:
            total = {**figures, "code": "", "name": _("%(name)s (total)") % {"name": cluster.name}}
            return projects_views._export_figures(fmt, f"cluster-{cluster.pk}-{period}", [*figures["children"], total])
        for child in figures["children"]:
            child["href"] = reverse("rollup-page") + "?" + urlencode(
                {"org": child["code"], "programme": programme.code, "period": period})
    projects = services.projects(request.user, cluster, programme).select_related("town").order_by("town_id", "code")
    year = int(period[:4]) if period else None
    context = {
        "cluster": cluster, "title": cluster.name, "members": members, "can_change": can_change,
        "can_delete": can_delete, "form": form, "indicator_form": indicator_form, "figures_form": figures_form,
        "programme": programme, "period": period, "figures": figures, "columns": projects_views.FIGURE_COLUMNS,
        "projects": projects[:50], "project_count": projects.count(),
        "projects_href": reverse("project-list") + "?" + urlencode(
            {"programme": programme.code} if programme else {}),
        "experts": services.expert_summary(request.user, cluster, year), "year": year,
        "results": services.latest_results(request.user, cluster),
        "indicators": services.indicator_table(cluster),
        "hidden_members": len(services.member_codes(cluster)) - len(members),
        "history_url": reverse("object-history", args=["cluster", cluster.pk]) if allows(
            request.user, "view", services.common_ancestor(services.member_codes(cluster))) else None,
    }
    return render(request, "clusters/cluster_detail.html", context)


@login_required
def cluster_create(request):
    if not _may_create(request.user):
        raise PermissionDenied(_("You may not add clusters."))
    form = ClusterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cluster = services.create_cluster(request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Cluster created."))
            return redirect(cluster)
    return render(request, "clusters/cluster_form.html", {"form": form, "title": _("New cluster")})


@login_required
def rollup_page(request):
    """The roll-ups page with `?cluster=<id>`: the cluster's combined figures are on its page (same programme and
    month); without it, the roll-ups page of an org unit as always."""
    value = request.GET.get("cluster", "").strip()
    if not value:
        return projects_views.rollup_page(request)
    if not value.isdigit():
        return projects_views.rollup_page(request)
    cluster = _visible(request, int(value))
    params = {k: request.GET[k] for k in ("programme", "period") if request.GET.get(k)}
    return redirect(cluster.get_absolute_url() + ("?" + urlencode(params) if params else "") + "#figures")
