from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClustersConfig(AppConfig):
    name = "townbrain.clusters"
    label = "clusters"
    verbose_name = _("Town clusters (美丽城镇集群)")

    def ready(self):
        from townbrain.core.panels import register

        from . import panels

        register(panels.PANEL)
