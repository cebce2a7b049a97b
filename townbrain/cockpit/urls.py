from django.urls import path

from townbrain.reports import views as reports_views

from . import map, views

urlpatterns = [
    path("cockpit/", views.cockpit_home, name="cockpit-home"),
    path("cockpit/<str:code>/", views.cockpit, name="cockpit"),
    path("cockpit/<str:code>/panels/", views.cockpit_panels, name="cockpit-panels"),
    path("cockpit/<str:code>/screen/", views.big_screen, name="cockpit-screen"),
    path("cockpit/<str:code>/map.json", map.map_data, name="cockpit-map"),
    path("cockpit/<str:code>/briefing.<str:fmt>", reports_views.briefing_download, name="briefing-download"),
]
