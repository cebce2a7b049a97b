from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GovernanceConfig(AppConfig):
    name = "townbrain.governance"
    label = "governance"
    verbose_name = _("Grassroots governance (基层治理四平台)")

    def ready(self):
        # The cockpit reads panels from the ground-floor registry; this app adds its own.
        from townbrain.core.notify import notification

        from . import doctor, panel, services

        panel.register_panel()
        doctor.register_checks()
        # Messages of the apps below (reporting reminders …) ring this app's bell too.
        notification.connect(services.store_message, dispatch_uid="governance-bell")
