from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgrammesConfig(AppConfig):
    name = "townbrain.programmes"
    label = "programmes"
    verbose_name = _("Programmes")

    def ready(self):
        from townbrain.core.panels import register

        from . import panels

        register(panels.PANEL)
