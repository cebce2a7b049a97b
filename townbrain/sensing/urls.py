"""Sensing pages, included once from townbrain/urls.py; the API is api_urls.py (in the `api` namespace)."""

from django.urls import path

from . import views

urlpatterns = [
    path("facilities/", views.FacilityListView.as_view(), name="facility-list"),
    path("facilities/coverage/", views.coverage, name="facility-coverage"),
    path("facilities/map.json", views.facility_map, name="facility-map"),
    path("facilities/<slug:code>/", views.facility_detail, name="facility-detail"),
    path("sensors/", views.SensorListView.as_view(), name="sensor-list"),
    path("sensors/import/", views.readings_import, name="sensor-readings-import"),
    path("sensors/<slug:code>/", views.sensor_detail, name="sensor-detail"),
    path("alarms/", views.AlarmListView.as_view(), name="alarm-list"),
    path("alarms/<int:pk>/<str:step>/", views.alarm_step, name="alarm-step"),
]
