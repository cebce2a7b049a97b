from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "townbrain.exchange"
    label = "exchange"
    verbose_name = _("Data exchange")

    def ready(self):
        from . import doctor

        doctor.register_checks()
