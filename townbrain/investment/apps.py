from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvestmentConfig(AppConfig):
    name = "townbrain.investment"
    label = "investment"
    verbose_name = _("Investment attraction (招商)")

    def ready(self):
        from townbrain.core.panels import register

        from . import doctor, panels

        register(panels.PANEL)
        doctor.register_checks()
