from django.core.management.base import BaseCommand

from townbrain.core.context import origin

from ...cli import escalate_command


class Command(BaseCommand):
    help = "Send the 催办 and 督办 due for overdue events (idempotent; run it daily)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, as_json=False, **options):
        with origin("cli", "cli:events escalate"):
            self.stdout.write(escalate_command(as_json))
