from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import ratelimit
from townbrain.core.forms import add_errors
from townbrain.core.lists import Column, RestrictedListView
from townbrain.core.scope import scope_prefixes

from . import services
from .filters import UserFilterSet
from .forms import MembershipForm, PasswordForm, UserCreateForm, UserEditForm
from .models import Membership
from .scoping import restrict_users


def locked_out(request, credentials=None, *args, **kwargs):
    """Axes calls this after too many failed logins (per user name and per IP address)."""
    message = _("Too many failed login attempts. Try again later or ask your administrator.")
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "registration/login.html", {"locked_out": True, "message": message}, status=429)
    response["Retry-After"] = str(ratelimit.lockout_seconds())
    return response


def _require_manager(request):
    if not scope_prefixes(request.user, "manage"):
        raise PermissionDenied(_("Only office administrators manage users."))


class UserListView(LoginRequiredMixin, RestrictedListView):
    model = get_user_model()
    filterset_class = UserFilterSet
    columns = [
        Column("username", gettext_lazy("User name"), sort="username", link=True,
               url=lambda u: reverse("user-detail", args=[u.pk])),
        Column("first_name", gettext_lazy("Full name"), sort="first_name"),
        Column("email", gettext_lazy("E-mail")),
        Column("roles", gettext_lazy("Roles"), getter=lambda u: "；".join(
            f"{m.org_unit.name}·{m.get_role_display()}" for m in u.memberships.all())),
        Column("is_active", gettext_lazy("Active"), sort="is_active"),
        Column("last_login", gettext_lazy("Last login"), sort="last_login"),
    ]
    default_sort = "username"
    export_name = "users"
    title = gettext_lazy("Users")

    def base_queryset(self):
        _require_manager(self.request)
        return restrict_users(self.request.user, "manage").prefetch_related("memberships__org_unit")

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["create_url"] = "user-create"
        return ctx


@login_required
def user_create(request):
    _require_manager(request)
    form = UserCreateForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.create_user(
                request.user, data["username"], data["password"], data["org_unit"], data["role"],
                first_name=data["first_name"], email=data["email"],
            )
        except ValidationError as exc:
            add_errors(form, exc, fallback="password")
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("User %(name)s created.") % {"name": user.username})
            return redirect("user-detail", pk=user.pk)
    return render(request, "access/user_form.html", {"form": form, "title": _("New user")})



@login_required
def user_detail(request, pk):
    _require_manager(request)
    user = get_object_or_404(restrict_users(request.user, "manage"), pk=pk)
    edit_form = UserEditForm(instance=get_user_model().objects.get(pk=user.pk))
    membership_form = MembershipForm(actor=request.user)
    password_form = PasswordForm()
    if request.method == "POST":
        op = request.POST.get("op")
        try:
            if op == "edit":
                edit_form = UserEditForm(request.POST, instance=get_user_model().objects.get(pk=user.pk))
                if edit_form.is_valid():
                    services.update_user(request.user, user, **{f: edit_form.cleaned_data[f] for f in edit_form.fields})
                    messages.success(request, _("Saved."))
                    return redirect("user-detail", pk=user.pk)
            elif op == "grant":
                membership_form = MembershipForm(request.POST, actor=request.user)
                if membership_form.is_valid():
                    services.grant_membership(request.user, user, membership_form.cleaned_data["org_unit"],
                                              membership_form.cleaned_data["role"])
                    messages.success(request, _("Role granted."))
                    return redirect("user-detail", pk=user.pk)
            elif op == "revoke":
                membership = get_object_or_404(Membership.objects.restrict(request.user, "manage"),
                                               pk=request.POST.get("membership"), user=user)
                services.revoke_membership(request.user, membership)
                messages.success(request, _("Role revoked."))
                return redirect("user-detail", pk=user.pk)
            elif op == "password":
                password_form = PasswordForm(request.POST)
                if password_form.is_valid():
                    services.set_password(request.user, user, password_form.cleaned_data["password"])
                    messages.success(request, _("Password changed."))
                    return redirect("user-detail", pk=user.pk)
        except ValidationError as exc:
            target = {"edit": edit_form, "grant": membership_form, "password": password_form}.get(op, membership_form)
            add_errors(target, exc, fallback="password")
        except PermissionDenied as exc:
            messages.error(request, str(exc))
    return render(request, "access/user_detail.html", {
        "account": user,
        "memberships": user.memberships.select_related("org_unit"),
        "edit_form": edit_form,
        "membership_form": membership_form,
        "password_form": password_form,
    })
