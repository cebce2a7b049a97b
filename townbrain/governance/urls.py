"""The governance app's pages and its Open311 door, included once from townbrain/urls.py.

The API viewsets are registered on the project's one router in townbrain/urls.py (two lines), so
they live in the `api` namespace with every other endpoint.
"""

from django.urls import path

from . import views

urlpatterns = [
    path("events/", views.EventQueueView.as_view(), name="event-list"),
    path("events/new/", views.event_create, name="event-create"),
    path("events/<int:pk>/", views.event_detail, name="event-detail"),
    path("report/", views.public_report, name="event-public-report"),
    path("notifications/", views.notification_list, name="notification-list"),
]
