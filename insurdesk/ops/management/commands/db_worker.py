"""`insurdesk db_worker` — django-tasks-db's worker, with a heartbeat; a dead worker's tasks go back."""

import os

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from insurdesk.ops.worker import Heartbeat


class Command(DbWorkerCommand):
    help = (
        "Run the background job worker (imports, webhook deliveries); it stamps a heartbeat, and puts back "
        "in the queue the tasks of workers that stopped beating. Run as many as needed, on any machine."
    )

    def handle(self, *args, **options):
        watcher = os.environ.get(DJANGO_AUTORELOAD_ENV) != "true"
        if options.get("reload") and watcher and not options.get("batch"):
            # The autoreloader's watching parent runs no task: only the child it starts beats.
            return super().handle(*args, **options)
        heartbeat = Heartbeat(options["worker_id"])
        heartbeat.start()
        try:
            return super().handle(*args, **options)
        finally:
            heartbeat.stop()
