"""The investment app's pages, included once from townbrain/urls.py. Its API viewsets are registered
on the project's one router there, so they live in the `api` namespace with every other endpoint."""

from django.urls import path

from . import views

urlpatterns = [
    path("investment/", views.DealListView.as_view(), name="deal-list"),
    path("investment/new/", views.deal_create, name="deal-create"),
    path("investment/<int:pk>/", views.deal_detail, name="deal-detail"),
]
