from django.urls import path

from . import views

urlpatterns = [
    path("cockpit/", views.cockpit_home, name="cockpit-home"),
    path("cockpit/<str:code>/", views.cockpit, name="cockpit"),
    path("cockpit/<str:code>/panels/", views.cockpit_panels, name="cockpit-panels"),
    path("cockpit/<str:code>/screen/", views.big_screen, name="cockpit-screen"),
]
