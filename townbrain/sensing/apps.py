from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SensingConfig(AppConfig):
    name = "townbrain.sensing"
    label = "sensing"
    verbose_name = _("Sensing (物联感知)")

    def ready(self):
        from townbrain.core.panels import register

        from . import doctor, panels

        register(panels.PANEL)
        doctor.register_checks()
