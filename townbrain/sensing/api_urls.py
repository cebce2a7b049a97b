"""The sensing API, included into the project's `api` namespace from townbrain/urls.py (one line).

A SimpleRouter, not a DefaultRouter: the project's router already serves the API root."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("facilities", api.FacilityViewSet, basename="facility")
router.register("sensors", api.SensorViewSet, basename="sensor")
router.register("alarm-rules", api.AlarmRuleViewSet, basename="alarm-rule")
router.register("alarms", api.AlarmViewSet, basename="alarm")

urlpatterns = [
    path("ingest/", api.IngestView.as_view(), name="ingest"),
    *router.urls,
]
