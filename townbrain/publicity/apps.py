from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublicityConfig(AppConfig):
    name = "townbrain.publicity"
    label = "publicity"
    verbose_name = _("Publicity and honours (宣传与表彰)")

    def ready(self):
        from townbrain.core.panels import register

        from . import panels

        register(panels.PANEL)
