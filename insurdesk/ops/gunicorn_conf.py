"""gunicorn's settings under `insurdesk serve` (the command line sets bind and workers)."""

import os

wsgi_app = "insurdesk.wsgi:application"
worker_class = "sync"
# A request still running after this is ended and its worker replaced; imports and exports run as jobs.
timeout = int(os.environ.get("INSURDESK_REQUEST_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("INSURDESK_GRACEFUL_SECONDS", "30"))
keepalive = 5
# Each worker serves this many requests, then is replaced (bounds slow memory growth).
max_requests = int(os.environ.get("INSURDESK_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
# insurdesk's own middleware writes one JSON line per request (with the request id); no access log.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("INSURDESK_LOG_LEVEL", "warning").lower()
proc_name = "insurdesk"
forwarded_allow_ips = os.environ.get("INSURDESK_FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """Load the URL configuration before the first request instead of during it."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018


def child_exit(server, worker):
    """Drop a finished worker's live gauges from the shared metrics directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
