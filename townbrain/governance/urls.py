"""The governance app's pages and its Open311 door, included once from townbrain/urls.py.

The API viewsets are registered on the project's one router in townbrain/urls.py (two lines), so
they live in the `api` namespace with every other endpoint.
"""

from django.urls import include, path

from . import open311, views

open311_patterns = [
    path("services.json", open311.services_list, name="services"),
    path("services/<slug:code>.json", open311.service_definition, name="service"),
    path("requests.json", open311.requests_list, name="requests"),
    path("requests/<int:pk>.json", open311.request_detail, name="request"),
]

urlpatterns = [
    path("events/", views.EventQueueView.as_view(), name="event-list"),
    path("events/new/", views.event_create, name="event-create"),
    path("events/statistics/", views.event_stats, name="event-stats"),
    path("events/map/", views.event_map, name="event-map"),
    path("events/map.json", views.event_map_data, name="event-map-data"),
    path("events/<int:pk>/", views.event_detail, name="event-detail"),
    path("events/<int:pk>/photos/<int:photo>/", views.event_photo, name="event-photo"),
    path("report/", views.public_report, name="event-public-report"),
    path("notifications/", views.notification_list, name="notification-list"),
    path("open311/v2/", include((open311_patterns, "open311"))),
]
