from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkPlansConfig(AppConfig):
    name = "townbrain.workplans"
    label = "workplans"
    verbose_name = _("Work plans (一镇一方案、十个统筹)")

    def ready(self):
        from townbrain.core.panels import register

        from . import panels

        register(panels.PANEL)
