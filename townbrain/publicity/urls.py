"""The publicity app's pages, included once from townbrain/urls.py. Its API viewsets are registered on
the project's one router there, so they live in the `api` namespace with every other endpoint."""

from django.urls import path

from . import views

urlpatterns = [
    path("publicity/articles/", views.ArticleListView.as_view(), name="article-list"),
    path("publicity/articles/new/", views.record_create, {"kind": "article"}, name="article-create"),
    path("publicity/articles/<int:pk>/", views.record_detail, {"kind": "article"}, name="article-detail"),
    path("publicity/quotas/", views.QuotaListView.as_view(), name="quota-list"),
    path("publicity/quotas/new/", views.record_create, {"kind": "quota"}, name="quota-create"),
    path("publicity/quotas/<int:pk>/", views.record_detail, {"kind": "quota"}, name="quota-detail"),
    path("publicity/honours/", views.HonourListView.as_view(), name="honour-list"),
    path("publicity/honours/new/", views.record_create, {"kind": "honour"}, name="honour-create"),
    path("publicity/honours/<int:pk>/", views.record_detail, {"kind": "honour"}, name="honour-detail"),
]
