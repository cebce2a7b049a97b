from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "townbrain.jobs"
    label = "jobs"
    verbose_name = _("Background jobs")

    def ready(self):
        from townbrain.core.audit_labels import register_actions

        register_actions({
            "job.enqueue": _("Started a background job"),
            "job.cancel": _("Cancelled a background job"),
            "job.retry": _("Retried a background job"),
        })
