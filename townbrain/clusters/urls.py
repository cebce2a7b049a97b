"""The clusters app's pages, included once from townbrain/urls.py; its viewset is on the project's one router."""

from django.urls import path

from . import views

urlpatterns = [
    path("clusters/", views.ClusterListView.as_view(), name="cluster-list"),
    path("clusters/new/", views.cluster_create, name="cluster-create"),
    path("clusters/<int:pk>/", views.cluster_detail, name="cluster-detail"),
]
