"""The reporting API, included once under /api/reporting/ from townbrain/urls.py (namespace `api`)."""

from django.urls import path

from . import api

urlpatterns = [
    path("", api.SubmissionListView.as_view(), name="reporting"),
    path("ranking/", api.RankingView.as_view(), name="reporting-ranking"),
    path("<str:town>/<slug:programme>/<str:period>/<slug:step>/", api.StepView.as_view(), name="reporting-step"),
]
