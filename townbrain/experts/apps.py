from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExpertsConfig(AppConfig):
    name = "townbrain.experts"
    label = "experts"
    verbose_name = _("Experts (一库三师)")

    def ready(self):
        from townbrain.core.panels import register

        from . import panels

        register(panels.PANEL)
