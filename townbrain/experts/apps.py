from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExpertsConfig(AppConfig):
    name = "townbrain.experts"
    label = "experts"
    verbose_name = _("Experts (一库三师)")

    def ready(self):
        from townbrain.access.scoping import register_placement
        from townbrain.core import scope
        from townbrain.core.panels import register

        from . import doctor, panels, scoping

        register(panels.PANEL)
        doctor.register_checks()
        # An expert's login: its scope (the towns of its current assignments) and its place (the
        # expert's office, whose administrators manage it). See experts/scoping.py.
        scope.register(scoping.assigned_roles)
        register_placement(scoping.linked_logins, "user_id", "home__code")
