"""`insurdesk scheduler [--once]` — the scheduled jobs (daily duties, …) at their times."""

from django.conf import settings
from django.core.management.base import BaseCommand

from insurdesk.ops.scheduler import loop


class Command(BaseCommand):
    help = (
        "Run each scheduled job (the daily duties at INSURDESK_DAILY_AT, …) once per period across every "
        "server, catching up a period missed while down. `insurdesk serve` starts it; --once runs one round."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="look once, run what is due, and exit")

    def handle(self, *args, once=False, **opts):
        loop(interval=settings.INSURDESK_SCHEDULER_INTERVAL, once=once, write=self.stdout.write)
