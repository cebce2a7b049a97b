from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "townbrain.reporting"
    label = "reporting"
    verbose_name = _("Reporting cycle (填报 → 审核 → 锁定)")

    def ready(self):
        # The write paths below this app (projects' ReportBatch, indicators' ValueBatch) ask
        # core/locks.py; the cockpit reads panels from core/panels.py. Both registries learn ours here.
        from townbrain.core import due, locks, panels

        from . import doctor
        from . import locks as reporting_locks
        from . import panels as reporting_panels
        from .deadlines import deadline_for
        from .models import Kind

        due.register(lambda programme, period: deadline_for(programme, period, Kind.PROGRESS))
        locks.register(Kind.PROGRESS, reporting_locks.provider(Kind.PROGRESS))
        locks.register(Kind.VALUES, reporting_locks.provider(Kind.VALUES))
        panels.register(reporting_panels.PANEL)
        doctor.register_checks()
