from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from . import audit_labels, geo
from .models import AuditEntry, OrgUnit


class OrgUnitSerializer(serializers.ModelSerializer):
    parent = serializers.CharField(source="parent_id", read_only=True, allow_null=True)
    crs = serializers.ChoiceField(
        choices=geo.CHOICES, write_only=True, required=False,
        help_text=_("Coordinate system of latitude/longitude as sent: wgs84 (default), gcj02 (Amap, Tencent) "
                    "or bd09 (Baidu). They are stored, and returned, as WGS-84."))
    path = serializers.SerializerMethodField(help_text=_("Ancestor codes, top first"))

    class Meta:
        model = OrgUnit
        fields = [
            "code", "name", "level", "parent", "path", "town_kind",
            "town_type", "population", "area_km2", "latitude", "longitude", "crs", "notes", "updated",
        ]
        read_only_fields = ["code", "name", "level", "parent", "path", "town_kind", "updated"]

    def get_path(self, obj) -> list[str]:
        return obj.ancestor_codes


class AuditEntrySerializer(serializers.ModelSerializer):
    """Codes as stored (stable for integrators); `action_label` is the action in the caller's language."""

    actor = serializers.CharField(source="actor_name")
    action_label = serializers.SerializerMethodField(help_text=_("The action in words, in the caller's language"))

    class Meta:
        model = AuditEntry
        fields = [
            "id", "time", "actor", "action", "action_label", "object_type", "object_id", "object_repr",
            "org_code", "changes", "source", "request_id",
        ]
        read_only_fields = fields

    def get_action_label(self, obj) -> str:
        return audit_labels.action_label(obj.action)
