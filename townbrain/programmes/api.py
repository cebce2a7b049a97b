from rest_framework import serializers, viewsets

from .models import Batch, Category, Programme, ProgrammeRole


class _CodeName(serializers.ModelSerializer):
    class Meta:
        fields = ["code", "name"]


class CategorySerializer(_CodeName):
    class Meta(_CodeName.Meta):
        model = Category


class RoleSerializer(_CodeName):
    class Meta(_CodeName.Meta):
        model = ProgrammeRole


class BatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = Batch
        fields = ["code", "name", "year"]


class ProgrammeSerializer(serializers.ModelSerializer):
    categories = CategorySerializer(many=True, read_only=True)
    roles = RoleSerializer(many=True, read_only=True)
    batches = BatchSerializer(many=True, read_only=True)

    class Meta:
        model = Programme
        fields = ["code", "name", "description", "active", "categories", "roles", "batches"]


class ProgrammeViewSet(viewsets.ReadOnlyModelViewSet):
    """Programmes with their categories, roles and batches. Reference data: every signed-in user reads it."""

    queryset = Programme.objects.prefetch_related("categories", "roles", "batches")
    serializer_class = ProgrammeSerializer
    lookup_field = "code"
    filterset_fields = ["active"]
