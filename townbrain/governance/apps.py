from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GovernanceConfig(AppConfig):
    name = "townbrain.governance"
    label = "governance"
    verbose_name = _("Grassroots governance (基层治理四平台)")

    def ready(self):
        # The cockpit reads panels from the ground-floor registry; this app adds its own.
        from . import panel

        panel.register_panel()
