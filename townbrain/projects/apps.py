from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectsConfig(AppConfig):
    name = "townbrain.projects"
    label = "projects"
    verbose_name = _("Projects")

    def ready(self):
        from townbrain.core.panels import register
        from townbrain.programmes.services import enrolment_changed

        from . import doctor, panels, rollups

        register(panels.PANEL)
        doctor.register_checks()
        enrolment_changed.connect(rollups.enrolment_changed, dispatch_uid="projects.rollups.enrolment_changed")
