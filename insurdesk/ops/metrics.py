"""Prometheus metrics: request counts and latencies from the web workers, the rest read from the database.

Under `insurdesk serve` every gunicorn worker writes its counters to PROMETHEUS_MULTIPROC_DIR and a
scrape adds them up (prometheus-client's multiprocess mode); elsewhere (runserver, tests) they live in
the process. Jobs, workers, the daily duties, the audit chain and imports are counted from their
tables at scrape time, so any server answers for the whole installation.
"""

from __future__ import annotations

import datetime
import os

from django.apps import apps
from django.db.models import Count, Max
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

REQUESTS = Counter(
    "insurdesk_http_requests_total",
    "HTTP requests by route name, method and status",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "insurdesk_http_request_duration_seconds",
    "Time to answer a request, by route name",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class DatabaseCollector:
    """Gauges counted from the tables at scrape time."""

    def collect(self):
        from django_tasks_db.models import DBTaskResult

        from insurdesk.common.models import DailyRun
        from insurdesk.ops.models import ScheduledRun
        from insurdesk.ops.worker import alive_workers

        jobs = GaugeMetricFamily("insurdesk_jobs", "Background jobs by status", labels=["status"])
        counts = dict.fromkeys(("READY", "RUNNING", "FAILED", "SUCCESSFUL"), 0)
        for row in DBTaskResult.objects.values("status").annotate(n=Count("pk")):
            counts[row["status"]] = row["n"]
        for status, n in counts.items():
            jobs.add_metric([status.lower()], n)
        yield jobs
        yield GaugeMetricFamily(
            "insurdesk_job_workers_alive", "Job workers with a fresh heartbeat", value=alive_workers()
        )

        last_day = DailyRun.objects.aggregate(d=Max("day"))["d"]
        duty = GaugeMetricFamily(
            "insurdesk_daily_duty_seconds", "Duration of each daily duty on the last day run", labels=["duty"]
        )
        if last_day:
            for run in DailyRun.objects.filter(day=last_day):
                duty.add_metric([run.duty], (run.finished_at - run.started_at).total_seconds())
        yield duty
        last = ScheduledRun.objects.filter(job="daily", ok=True).order_by("-finished_at").first()
        yield GaugeMetricFamily(
            "insurdesk_daily_job_seconds",
            "Duration of the last scheduled daily run",
            value=(last.finished_at - last.started_at).total_seconds() if last else 0,
        )
        yield GaugeMetricFamily(
            "insurdesk_daily_last_success_timestamp_seconds",
            "When the last scheduled daily run finished (Unix time)",
            value=last.finished_at.timestamp() if last else 0,
        )

        head = apps.get_model("audit", "AuditHead").objects.filter(pk=1).values_list("seq", flat=True).first()
        yield GaugeMetricFamily(
            "insurdesk_audit_chain_length", "Entries in the tamper-evident audit log", value=head or 0
        )

        if apps.is_installed("insurdesk.exchange"):
            run = (
                apps.get_model("exchange", "ImportRun")
                .objects.filter(finished_at__isnull=False, started_at__isnull=False, processed__gt=0)
                .order_by("-finished_at")
                .first()
            )
            rate = 0.0
            if run is not None:
                seconds = (run.finished_at - run.started_at).total_seconds()
                rate = run.processed / seconds if seconds > 0 else 0.0
            yield GaugeMetricFamily(
                "insurdesk_import_rows_per_second", "Rows per second of the last import", value=rate
            )
        if apps.is_installed("insurdesk.webhooks"):
            hooks = GaugeMetricFamily(
                "insurdesk_webhook_deliveries", "Webhook deliveries by status", labels=["status"]
            )
            delivery = apps.get_model("webhooks", "Delivery")
            for row in delivery.objects.values("status").annotate(n=Count("pk")):
                hooks.add_metric([row["status"]], row["n"])
            yield hooks
        since = timezone.now() - datetime.timedelta(days=1)
        yield GaugeMetricFamily(
            "insurdesk_daily_counts_24h",
            "Records changed by the daily duties in the last 24 hours",
            value=sum(
                sum(v for v in (r or {}).values() if isinstance(v, int))
                for r in DailyRun.objects.filter(finished_at__gte=since).values_list("counts", flat=True)
            ),
        )


def render() -> bytes:
    """Return the whole scrape: the web workers' request metrics, then the database's gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        web = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        web = generate_latest(REGISTRY)
    db = CollectorRegistry(auto_describe=False)
    db.register(DatabaseCollector())
    return web + generate_latest(db)
