from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from townbrain.core import codes
from townbrain.core.api import RestrictedModelViewSet, RestrictedViewSetMixin, ScopedSlugRelatedField
from townbrain.core.models import OrgUnit
from townbrain.core.scope import require

from . import services
from .filters import ActivityFilterSet, AssignmentFilterSet, ExpertFilterSet, ProblemFilterSet
from .models import ActivityType, Expert, ExpertActivity, ExpertAssignment, ExpertProblem
from .scoping import contact, shows_contact


class ExpertSerializer(serializers.ModelSerializer):
    home = ScopedSlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all(),
                                  help_text=_("Division code of the office that manages the record"))
    login = serializers.SerializerMethodField(help_text=_("User name of the expert's login (offices only)"))

    class Meta:
        model = Expert
        fields = ["id", "name", "kind", "employer", "phone", "email", "home", "active", "login", "updated"]
        read_only_fields = ["id", "updated"]

    def _caller(self):
        return getattr(self.context.get("request"), "user", None)

    def get_login(self, obj) -> str | None:
        return obj.user.username if obj.user_id and shows_contact(self._caller(), obj) else None

    def to_representation(self, obj):
        data = super().to_representation(obj)
        data["home_name"] = obj.home.name
        data.update(contact(self._caller(), obj))  # phone and e-mail masked but for offices
        return data


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(required=False, trim_whitespace=False, style={"input_type": "password"},
                                     help_text=_("Given: a new account is created. Left out: the existing account "
                                                 "of that user name is linked."))


class ExpertViewSet(RestrictedModelViewSet):
    """The expert pool (一库): chief designers 首席设计师, resident planners 驻镇规划师 and development
    advisers 发展师, each managed by an office (`home`). Filters: q, kind, org (subtree of the managing
    office), town (assigned to), active."""

    queryset = Expert.objects.select_related("home", "user")
    serializer_class = ExpertSerializer
    filterset_class = ExpertFilterSet

    def perform_create(self, serializer):
        serializer.instance = services.create_expert(self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.update_expert(self.request.user, serializer.instance,
                                                     **serializer.validated_data)

    def perform_destroy(self, instance):
        services.delete_expert(self.request.user, instance)

    @extend_schema(methods=["POST"], request=LoginSerializer)
    @extend_schema(responses=inline_serializer("ExpertLogin", {"expert": serializers.IntegerField(),
                                                               "login": serializers.CharField(allow_null=True)}))
    @action(detail=True, methods=["get", "post", "delete"])
    def login(self, request, pk=None):
        """The expert's login (its scope: the towns of the expert's current assignments). GET: its user name.
        POST `{"username", "password"}`: create one; `{"username"}` alone: link an existing account you manage.
        DELETE: unlink it (an account left without any role is deactivated). Office administrators of the
        expert's office only."""
        expert = self.get_object()
        require(request.user, "manage", expert.home_id)
        if request.method == "POST":
            params = LoginSerializer(data=request.data)
            params.is_valid(raise_exception=True)
            d = params.validated_data
            if d.get("password"):
                expert = services.create_login(request.user, expert, d["username"], d["password"])
            else:
                user = get_user_model().objects.filter(username=d["username"].strip()).first()
                if user is None:
                    raise ValidationError({"username": _("There is no account with this user name.")})
                expert = services.link_login(request.user, expert, user)
        elif request.method == "DELETE":
            expert = services.unlink_login(request.user, expert)
        return Response({"expert": expert.pk, "login": expert.user.username if expert.user_id else None})


class AssignmentSerializer(serializers.ModelSerializer):
    expert = serializers.IntegerField(source="expert_id", help_text=_("Expert id (an expert in your area)"))
    town = ScopedSlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all())
    role = serializers.ChoiceField(choices=ExpertAssignment._meta.get_field("role").choices, required=False,
                                   help_text=_("Default: the expert's kind"))

    class Meta:
        model = ExpertAssignment
        fields = ["id", "expert", "town", "role", "since", "until", "updated"]
        read_only_fields = ["id", "updated"]

    def to_representation(self, obj):
        data = super().to_representation(obj)
        data["expert_name"] = obj.expert.name
        data["town_name"] = obj.town.name
        return data


class AssignmentViewSet(RestrictedViewSetMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
                        viewsets.ReadOnlyModelViewSet):
    """Experts attached to towns (scoped by the town). POST assigns; DELETE removes the assignment."""

    queryset = ExpertAssignment.objects.select_related("expert", "town")
    serializer_class = AssignmentSerializer
    filterset_class = AssignmentFilterSet

    def perform_create(self, serializer):
        d = dict(serializer.validated_data)
        expert = Expert.objects.restrict(self.request.user, "view").filter(pk=d.pop("expert_id")).first()
        if expert is None:
            raise ValidationError({"expert": _("No such expert in your area.")})
        serializer.instance = services.assign_expert(self.request.user, expert, d.pop("town"), **d)

    def perform_destroy(self, instance):
        services.unassign_expert(self.request.user, instance)


class ActivityTypeField(serializers.CharField):
    """The type's code on output (site_visit, consulting …); on input a code, a name or a synonym of the
    vocabulary — read like an import's 活动类型: a word that matches none is kept under 其他."""

    def to_representation(self, value):
        return value.code if isinstance(value, ActivityType) else value


class ActivitySerializer(serializers.ModelSerializer):
    town = ScopedSlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all())
    activity_type = ActivityTypeField(max_length=40, help_text=_("Code, name or synonym of an activity type"))
    type_name = serializers.CharField(source="activity_type.name", read_only=True)
    person_times = serializers.IntegerField(read_only=True, help_text=_("All three kinds (人次)"))
    experts = serializers.PrimaryKeyRelatedField(many=True, read_only=True,
                                                 help_text=_("Experts of the pool matched by name"))

    class Meta:
        model = ExpertActivity
        fields = ["id", "date", "town", "activity_type", "type_name", "type_word", "chief_designer_count", "resident_planner_count",
                  "adviser_count", "person_times", "problems_found", "problems_solved", "expert_names", "experts",
                  "note", "updated"]
        read_only_fields = ["id", "updated", "type_word"]
        validators = []  # the natural key is checked by the service, with a clear message

    def to_representation(self, obj):
        data = super().to_representation(obj)
        data["town_name"] = obj.town.name
        return data


SUMMARY = inline_serializer("ExpertActivitySummary", {
    "org": serializers.CharField(allow_null=True),
    "activities": serializers.IntegerField(),
    "person_times": inline_serializer("ExpertPersonTimes", {
        "chief_designer": serializers.IntegerField(), "resident_planner": serializers.IntegerField(),
        "development_adviser": serializers.IntegerField(), "total": serializers.IntegerField()}),
    "problems_found": serializers.IntegerField(),
    "problems_solved": serializers.IntegerField(),
})


class ActivityViewSet(RestrictedModelViewSet):
    """Expert activities (活动) of the towns in your area: site visits, reviews, trainings, with person-times
    (人次) per kind and problems found and solved. Filters: org (subtree), town, year, date_from, date_to,
    type, kind (activities with experts of that kind), q (expert name), expert (id)."""

    queryset = ExpertActivity.objects.select_related("town", "activity_type").prefetch_related("experts")
    serializer_class = ActivitySerializer
    filterset_class = ActivityFilterSet

    def perform_create(self, serializer):
        serializer.instance = services.create_activity(self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.update_activity(self.request.user, serializer.instance,
                                                       **serializer.validated_data)

    def perform_destroy(self, instance):
        services.delete_activity(self.request.user, instance)

    @extend_schema(
        parameters=[
            OpenApiParameter("org", OpenApiTypes.STR, description="division code: the subtree to sum"),
            OpenApiParameter("year", OpenApiTypes.INT, description="e.g. 2020"),
            OpenApiParameter("date_from", OpenApiTypes.DATE), OpenApiParameter("date_to", OpenApiTypes.DATE),
            OpenApiParameter("type", OpenApiTypes.STR), OpenApiParameter("kind", OpenApiTypes.STR),
        ],
        responses=SUMMARY,
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def summary(self, request):
        """Totals of the activities in your area, or under `org`: activities, person-times (人次) per kind and
        in total, problems found and solved. Takes the list's filters (year or a date range, type, kind)."""
        org = request.query_params.get("org")
        if org:
            try:
                org = codes.normalize(org)
            except codes.InvalidCode as exc:
                raise ValidationError({"org": str(exc)}) from exc
            get_object_or_404(OrgUnit.objects.restrict(request.user, "view"), code=org)
        figures = services.summarise(self.filter_queryset(self.get_queryset()))
        return Response({"org": org or None, **figures})


class ProblemSerializer(serializers.ModelSerializer):
    activity = serializers.IntegerField(source="activity_id",
                                        help_text=_("Id of the expert activity that found the problem"))
    town = serializers.CharField(source="town_id", read_only=True, help_text=_("The activity's town"))
    overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = ExpertProblem
        fields = ["id", "town", "activity", "description", "owner", "due_date", "status", "reason", "closed_on",
                  "overdue", "updated"]
        read_only_fields = ["id", "town", "status", "reason", "closed_on", "updated"]
        validators = []  # the natural key is checked by the service, with a clear message

    def to_representation(self, obj):
        data = super().to_representation(obj)
        data["town_name"] = obj.town.name
        return data


class ProblemStepSerializer(serializers.Serializer):
    step = serializers.ChoiceField(choices=list(services.STEPS))
    reason = serializers.CharField(required=False, allow_blank=True,
                                   help_text=_("Required to dismiss (不予处理)"))


class ProblemViewSet(RestrictedModelViewSet):
    """Problems found by expert activities (问题清单), scoped by their town. Filters: q, org (subtree), town,
    status, overdue, activity. POST and PATCH set what a problem is (activity, description, owner, due_date);
    its status moves by `POST …/{id}/step/` with `step` start, solve, dismiss (with `reason`) or reopen."""

    queryset = ExpertProblem.objects.select_related("town", "activity")
    serializer_class = ProblemSerializer
    filterset_class = ProblemFilterSet

    def _activity(self, activity_id):
        activity = ExpertActivity.objects.restrict(self.request.user, "view").filter(pk=activity_id).first()
        if activity is None:
            raise ValidationError({"activity": _("No such expert activity in your area.")})
        return activity

    def perform_create(self, serializer):
        d = dict(serializer.validated_data)
        activity = self._activity(d.pop("activity_id"))
        serializer.instance = services.create_problem(self.request.user, activity, **d)

    def perform_update(self, serializer):
        d = dict(serializer.validated_data)
        if "activity_id" in d:
            d["activity"] = self._activity(d.pop("activity_id"))
        serializer.instance = services.update_problem(self.request.user, serializer.instance, **d)

    def perform_destroy(self, instance):
        services.delete_problem(self.request.user, instance)

    @extend_schema(request=ProblemStepSerializer, responses=ProblemSerializer)
    @action(detail=True, methods=["get", "post"])
    def step(self, request, pk=None):
        """GET: the problem with the steps its status allows (`steps`). POST: move it one step — start,
        solve, dismiss (a reason required) or reopen."""
        problem = self.get_object()
        if request.method == "GET":
            data = ProblemSerializer(problem, context=self.get_serializer_context()).data
            return Response({**data, "steps": services.allowed_steps(problem)})
        params = ProblemStepSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        problem = services.step_problem(request.user, problem, params.validated_data["step"],
                                        params.validated_data.get("reason", ""))
        return Response(ProblemSerializer(problem, context=self.get_serializer_context()).data)
