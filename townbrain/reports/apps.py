from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "townbrain.reports"
    label = "reports"
    verbose_name = _("Briefings (工作简报)")
