from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AcceptanceConfig(AppConfig):
    name = "townbrain.acceptance"
    label = "acceptance"
    verbose_name = _("Acceptance (省级验收)")

    def ready(self):
        from townbrain.core.panels import register

        from . import doctor, panels

        register(panels.PANEL)
        doctor.register_checks()
