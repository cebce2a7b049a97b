"""The work plan pages, included once from townbrain/urls.py; the viewsets are on the project's one router."""

from django.urls import path

from . import views

urlpatterns = [
    path("work-plans/", views.WorkPlanListView.as_view(), name="workplan-list"),
    path("work-plans/new/", views.workplan_create, name="workplan-create"),
    path("work-plans/<int:pk>/", views.workplan_detail, name="workplan-detail"),
    path("work-plans/<int:pk>/progress/", views.workplan_progress, name="workplan-progress"),
    path("work-plans/items/<int:pk>/", views.workplan_item_edit, name="workplan-item-edit"),
]
