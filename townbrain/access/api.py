from django.contrib.auth import authenticate, get_user_model, user_logged_in
from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from townbrain.core import ratelimit
from townbrain.core.api import RestrictedViewSetMixin, ScopedSlugRelatedField
from townbrain.core.models import OrgUnit
from townbrain.core.roles import Role
from townbrain.core.scope import allows

from . import services
from .filters import MembershipFilterSet, UserFilterSet
from .forms import role_choices
from .models import Membership
from .scoping import restrict_users


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenView(APIView):
    """Exchange a user name and password for an API token: `{"token": "..."}`.

    Failed attempts count towards the same lockout as the login page.
    """

    permission_classes = [AllowAny]
    authentication_classes = []
    rate_limited = True  # the lockout's and the rate limit's 429, declared in the schema by core/openapi.py

    @extend_schema(request=TokenRequestSerializer,
                   responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})})
    def post(self, request):
        # Every try counts per address (core/ratelimit.py), before the password is even looked at.
        wait = ratelimit.check("token", ratelimit.client_ip(request))
        if wait is not None:
            raise Throttled(wait=wait, detail=ratelimit.message())
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # Axes reads and marks the plain HttpRequest, so hand it that, not DRF's wrapper.
        django_request = request._request
        user = authenticate(django_request, username=data.validated_data["username"],
                            password=data.validated_data["password"])
        if getattr(django_request, "axes_locked_out", False):
            return ratelimit.retry_after(
                Response({"detail": _("Too many failed login attempts. Try again later or ask your administrator.")},
                         status=status.HTTP_429_TOO_MANY_REQUESTS), ratelimit.lockout_seconds())
        if user is None or not user.is_active:
            return Response({"detail": _("Wrong user name or password.")}, status=status.HTTP_400_BAD_REQUEST)
        # A token is a login: tell axes (resets the failure counter like the login page does)
        # and record last_login.
        user_logged_in.send(sender=type(user), request=django_request, user=user)
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class RoleField(serializers.ChoiceField):
    """A role. Offers (browsable API form, OPTIONS) only the roles the caller may give, so a
    non-system-administrator is never offered system administrator; any known role is accepted
    here and the service refuses what the caller may not give (403, with the reason)."""

    def __init__(self, **kwargs):
        super().__init__(choices=Role.choices, **kwargs)

    def bind(self, field_name, parent):
        super().bind(field_name, parent)
        request = self.context.get("request")
        # No request, or the schema's (a fake view): every role, which a membership read may hold.
        if request is not None and not getattr(self.context.get("view"), "swagger_fake_view", False):
            self.choices = role_choices(request.user)

    def to_internal_value(self, data):
        if isinstance(data, str) and data in Role.values:
            return data
        return super().to_internal_value(data)


class MembershipSerializer(serializers.ModelSerializer):
    user = ScopedSlugRelatedField(slug_field="username", queryset=get_user_model().objects.all(),
                                  scope=lambda qs, user: restrict_users(user, "view"))
    org_unit = ScopedSlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all())
    role = RoleField()

    class Meta:
        model = Membership
        fields = ["id", "user", "org_unit", "role", "created"]
        read_only_fields = ["id", "created"]


class UserSerializer(serializers.ModelSerializer):
    memberships = serializers.SerializerMethodField()
    password = serializers.CharField(write_only=True, required=False, trim_whitespace=False)
    org_unit = ScopedSlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all(), write_only=True,
                                            required=False, help_text=_("First membership's org unit (create only)"))
    role = RoleField(write_only=True, required=False, help_text=_("First membership's role (create only)"))

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "first_name", "email", "is_active", "last_login", "memberships",
                  "password", "org_unit", "role"]
        read_only_fields = ["id", "last_login", "memberships"]

    def get_memberships(self, obj) -> list[dict]:
        """The user's roles where the caller sees contact details (all of them for a system administrator):
        seeing a county clerk does not tell a town which other towns they work for."""
        request = self.context.get("request")
        caller = getattr(request, "user", None)
        return [{"org_unit": m.org_unit_id, "role": m.role} for m in obj.memberships.all()
                if allows(caller, "contact", m.org_unit_id)]

    def validate(self, attrs):
        if self.instance is None:
            missing = [f for f in ("password", "org_unit", "role") if not attrs.get(f)]
            if missing:
                raise serializers.ValidationError({f: _("This field is required.") for f in missing})
        return attrs


class UserViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """User accounts. Listed: users with a role inside your area. Created and edited: by office
    administrators, for users whose roles all lie inside their area."""

    serializer_class = UserSerializer
    filterset_class = UserFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        action = "view" if self.request.method in ("GET", "HEAD", "OPTIONS") else "manage"
        return restrict_users(self.request.user, action).prefetch_related("memberships").order_by("username")

    def perform_create(self, serializer):
        d = serializer.validated_data
        serializer.instance = services.create_user(
            self.request.user, d["username"], d["password"], d["org_unit"], d["role"],
            first_name=d.get("first_name", ""), email=d.get("email", ""),
        )

    def perform_update(self, serializer):
        d = dict(serializer.validated_data)
        password = d.pop("password", None)
        d.pop("org_unit", None)
        d.pop("role", None)
        user = serializer.instance
        with transaction.atomic():  # a rejected password must not leave the other fields changed
            if d:
                services.update_user(self.request.user, user, **d)
            if password:
                services.set_password(self.request.user, user, password)


class MembershipViewSet(RestrictedViewSetMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
                        viewsets.ReadOnlyModelViewSet):
    """Roles of users over org subtrees, listed to offices. Granting and revoking needs the manage right there."""

    queryset = Membership.objects.select_related("user", "org_unit")
    serializer_class = MembershipSerializer
    filterset_class = MembershipFilterSet
    read_action = "contact"  # who works where is for offices, like the users themselves (restrict_users)

    def perform_create(self, serializer):
        d = serializer.validated_data
        serializer.instance = services.grant_membership(self.request.user, d["user"], d["org_unit"], d["role"])

    def perform_destroy(self, instance):
        services.revoke_membership(self.request.user, instance)
