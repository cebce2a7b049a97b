"""The work plans API: `/api/work-plans/` (list with the live progress of each plan, `?org=` the plans of an area;
detail with the items and their progress; create, update, delete) and `/api/work-plan-items/` (items: create,
update, delete; `link/` and `unlink/` projects). Every write goes through services.py."""

from django.core.exceptions import ValidationError as ModelValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from townbrain.core.api import RestrictedModelViewSet, ScopedSlugRelatedField
from townbrain.core.models import OrgUnit
from townbrain.programmes.models import Programme

from . import progress, services
from .filters import WorkPlanFilterSet, WorkPlanItemFilterSet
from .models import WorkPlan, WorkPlanItem


class FiguresSerializer(serializers.Serializer):
    """Progress computed from the linked projects (docs/workplans.md): counts, rates in %, money in 万元."""

    projects = serializers.IntegerField(help_text=_("Linked projects"))
    counted = serializers.IntegerField(help_text=_("Linked projects not cancelled"))
    started = serializers.IntegerField()
    completed = serializers.IntegerField()
    start_rate = serializers.FloatField(allow_null=True, help_text=_("Started ÷ counted, %"))
    completion_rate = serializers.FloatField(allow_null=True)
    investment_total = serializers.FloatField(help_text="万元")
    investment_plan = serializers.FloatField(help_text=_("Annual planned investment, 万元"))
    investment_done = serializers.FloatField(help_text=_("Cumulative investment reported, 万元"))
    investment_rate = serializers.FloatField(allow_null=True, help_text=_("Done ÷ annual plan, %"))
    progress = serializers.FloatField(allow_null=True, help_text=_("Done ÷ total investment, % (at most 100)"))


class ItemFiguresSerializer(FiguresSerializer):
    done = serializers.BooleanField(help_text=_("Every counted project completed"))
    overdue = serializers.BooleanField(help_text=_("Deadline passed and not done"))


class PlanFiguresSerializer(FiguresSerializer):
    items = serializers.IntegerField()
    done_items = serializers.IntegerField()
    overdue_items = serializers.IntegerField()


class HeadingField(serializers.CharField):
    """Written as a code, a name or a short name; read as the heading's code."""

    def to_representation(self, value):
        return value.code


class ProjectCodesField(serializers.ListField):
    """Written as a list of project codes; read as the codes of the linked projects."""

    child = serializers.CharField()

    def to_representation(self, data):
        return [p.code for p in sorted(data.all(), key=lambda p: (p.town_id, p.code))]


class WorkPlanItemSerializer(serializers.ModelSerializer):
    plan = ScopedSlugRelatedField(slug_field="id", queryset=WorkPlan.objects.all(), help_text=_("Work plan id"))
    heading = HeadingField(help_text=_("A heading of the plan's programme: its code, name or short name "
                                       "(环境美, 基础设施 …)"))
    heading_name = serializers.CharField(source="heading.name", read_only=True)
    projects = ProjectCodesField(required=False, help_text=_("Codes of the linked projects (of the plan's area); "
                                                             "written, they replace the linked ones"))
    project_details = serializers.SerializerMethodField()
    progress = ItemFiguresSerializer(source="figures", read_only=True)

    class Meta:
        model = WorkPlanItem
        fields = ["id", "plan", "heading", "heading_name", "goal", "deadline", "owner", "projects", "project_details",
                  "progress", "updated"]
        read_only_fields = ["id", "updated"]
        validators = []  # the natural key is checked by the service, with a clear message

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_project_details(self, obj):
        """Each linked project: id, code, name, town (code) and status."""
        return [{"id": p.pk, "code": p.code, "name": p.name, "town": p.town_id, "status": p.status}
                for p in sorted(obj.projects.all(), key=lambda p: (p.town_id, p.code))]


class WorkPlanSerializer(serializers.ModelSerializer):
    org_unit = ScopedSlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all(),
                                      help_text=_("Division code: a town (一镇一方案) or a county (十个统筹)"))
    org_unit_name = serializers.CharField(source="org_unit.name", read_only=True)
    programme = serializers.SlugRelatedField(slug_field="code", queryset=Programme.objects.all(), required=False,
                                             allow_null=True,
                                             help_text=_("Programme code; default meili for a town, tongchou for a "
                                                         "county"))
    progress = PlanFiguresSerializer(source="figures", read_only=True)

    class Meta:
        model = WorkPlan
        fields = ["id", "org_unit", "org_unit_name", "kind", "programme", "title", "start_year", "end_year",
                  "approved_on", "status", "note", "progress", "updated"]
        read_only_fields = ["id", "updated"]
        validators = []


class WorkPlanDetailSerializer(WorkPlanSerializer):
    items = WorkPlanItemSerializer(source="item_list", many=True, read_only=True)
    headings = serializers.SerializerMethodField()

    class Meta(WorkPlanSerializer.Meta):
        fields = [*WorkPlanSerializer.Meta.fields, "headings", "items"]

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_headings(self, obj):
        """The headings of the plan's programme in order, each with the figures of its items' projects."""
        by_id = obj.figures.headings
        return [{"code": h.code, "name": h.name, "progress": by_id[h.pk].as_dict()}
                for h in obj.programme.categories.order_by("order", "id") if h.pk in by_id]


class LinkSerializer(serializers.Serializer):
    projects = serializers.ListField(child=serializers.CharField(), help_text=_("Project codes"))


def _service(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except ModelValidationError as exc:
        raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages) from None


class WorkPlanViewSet(RestrictedModelViewSet):
    """Work plans (DOMAIN §3): a town's 一镇一方案 (kind `town`, items under the 五美 of 美丽城镇) and a county's 十个统筹
    (kind `county`, items under the ten 统筹 of 城乡区域统筹). `progress` is computed live from the projects linked to
    the items: linked and counted (not cancelled) projects, started and 开工率, completed, total, annual planned and
    cumulative investment (万元), 投资完成率 (done ÷ annual plan) and `progress` (done ÷ total), items, done and
    overdue items. The detail adds each item (goal, deadline, responsible unit, linked projects, its progress) and
    the figures per heading. Filters: q, org (subtree), kind, year, programme, status. The org unit and kind of a
    plan stay once it is made; its programme changes only while it has no items."""

    queryset = WorkPlan.objects.select_related("org_unit", "programme")
    serializer_class = WorkPlanSerializer
    filterset_class = WorkPlanFilterSet

    def get_queryset(self):
        qs = super().get_queryset()
        return qs.with_progress() if self.action == "list" else qs

    def get_serializer_class(self):
        return WorkPlanDetailSerializer if self.action == "retrieve" else WorkPlanSerializer

    def retrieve(self, request, *args, **kwargs):
        plan = self.get_object()
        plan.item_list = list(plan.items.select_related("heading").prefetch_related(progress.linked_projects()))
        progress.attach_items(plan, plan.item_list)
        return Response(self.get_serializer(plan).data)

    def perform_create(self, serializer):
        d = dict(serializer.validated_data)
        serializer.instance = _service(services.create_plan, self.request.user, org_unit=d.pop("org_unit"),
                                       kind=d.pop("kind"), title=d.pop("title"), **d)

    def perform_update(self, serializer):
        plan, d = serializer.instance, dict(serializer.validated_data)
        for name, current in (("org_unit", plan.org_unit), ("kind", plan.kind)):
            if name in d and d[name] == current:
                d.pop(name)  # sent back unchanged (a PUT): not a change
        serializer.instance = _service(services.update_plan, self.request.user, plan, **d)

    def perform_destroy(self, instance):
        services.delete_plan(self.request.user, instance)


class WorkPlanItemViewSet(RestrictedModelViewSet):
    """The items of the work plans in your area, each with its heading (code and name), goal, deadline, responsible
    unit, linked projects and their progress (as in /api/work-plans/). `projects` (codes) replaces the linked
    projects; `link/` and `unlink/` add or remove some. Filters: plan (id), org (subtree), heading (code)."""

    queryset = WorkPlanItem.objects.select_related("heading", "plan").prefetch_related(progress.linked_projects())
    serializer_class = WorkPlanItemSerializer
    filterset_class = WorkPlanItemFilterSet

    def perform_create(self, serializer):
        d = dict(serializer.validated_data)
        serializer.instance = _service(services.add_item, self.request.user, d.pop("plan"), **d)

    def perform_update(self, serializer):
        item, d = serializer.instance, dict(serializer.validated_data)
        if "plan" in d:
            if d.pop("plan").pk != item.plan_id:
                raise ValidationError({"plan": _("An item stays in its plan.")})
        _service(services.update_item, self.request.user, item, **d)
        serializer.instance = self.get_queryset().get(pk=item.pk)

    def perform_destroy(self, instance):
        services.delete_item(self.request.user, instance)

    def _relink(self, request, call):
        item = self.get_object()
        if request.method == "GET":
            return Response(self.get_serializer(item).data)
        data = LinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _service(call, request.user, item, data.validated_data["projects"])
        return Response(self.get_serializer(self.get_queryset().get(pk=item.pk)).data)

    @extend_schema(request=LinkSerializer, responses=WorkPlanItemSerializer)
    @action(detail=True, methods=["get", "post"])
    def link(self, request, pk=None):
        """GET: the item. POST `{projects: [codes]}`: link projects of the plan's area to it; those already linked
        stay."""
        return self._relink(request, services.link_projects)

    @extend_schema(request=LinkSerializer, responses=WorkPlanItemSerializer)
    @action(detail=True, methods=["get", "post"])
    def unlink(self, request, pk=None):
        """GET: the item. POST `{projects: [codes]}`: unlink those projects from it; they stay in the ledger."""
        return self._relink(request, services.unlink_projects)
