"""The reporting cycle's pages, included once from townbrain/urls.py; the API is in api_urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("reporting/", views.start, name="reporting-start"),
    path("reporting/board/<str:org>/<slug:programme>/<str:period>/", views.board, name="reporting-board"),
    path("reporting/town/<str:town>/<slug:programme>/<str:period>/", views.town_page, name="reporting-town"),
]
