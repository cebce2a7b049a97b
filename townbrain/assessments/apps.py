from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentsConfig(AppConfig):
    name = "townbrain.assessments"
    label = "assessments"
    verbose_name = _("Assessments")

    def ready(self):
        from townbrain.core.panels import register

        from . import doctor, panels

        register(panels.PANEL)
        doctor.register_checks()
