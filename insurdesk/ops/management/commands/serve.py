"""`insurdesk serve [--bind HOST:PORT] [--workers N]` — the production server, job worker and scheduler.

One supervisor process starts three children and stops them together: gunicorn (the web workers,
static files by WhiteNoise), `insurdesk db_worker` (background jobs) and `insurdesk scheduler` (the
daily duties at INSURDESK_DAILY_AT, …). SIGHUP reloads: gunicorn replaces its workers gracefully and the
job worker and scheduler are restarted on the new code. SIGTERM or SIGINT stops: gunicorn finishes its
requests and the job worker its task (up to INSURDESK_GRACEFUL_SECONDS), then everything exits.
A job worker or scheduler that dies is started again; if gunicorn dies, everything stops (exit 1) so
that systemd or the container runtime restarts the whole.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def default_workers() -> int:
    """gunicorn's advice for sync workers: two per CPU plus one."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 2 * cpus + 1


def static_stale() -> bool:
    """Tell whether the collected static files are missing or older than a source file."""
    from django.contrib.staticfiles.finders import get_finders
    from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage

    root = Path(settings.STATIC_ROOT)
    marker = root / "staticfiles.json" if isinstance(staticfiles_storage, ManifestFilesMixin) else root
    if not marker.exists() or (marker == root and not any(root.iterdir())):
        return True
    collected = marker.stat().st_mtime
    for finder in get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):
            if Path(storage.path(path)).stat().st_mtime > collected:
                return True
    return False


def _bind(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(
            f"error format: --bind: 应为 HOST:PORT（例如 127.0.0.1:8000），不是 {value!r}", returncode=2
        )
    return value


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise CommandError(f"error range: --workers: 应为正整数，不是 {value!r}", returncode=2)
    return int(value)


class Command(BaseCommand):
    help = (
        "Run insurdesk for real: gunicorn with WhiteNoise, the job worker and the scheduler, stopped "
        "together; HUP reloads, TERM stops gracefully."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--bind",
            default=os.environ.get("INSURDESK_BIND", "127.0.0.1:8000"),
            help="address to listen on (default: INSURDESK_BIND or 127.0.0.1:8000)",
        )
        parser.add_argument(
            "--workers",
            default=os.environ.get("INSURDESK_WEB_WORKERS") or None,
            help="web worker processes (default: INSURDESK_WEB_WORKERS or 2 × CPUs + 1)",
        )
        parser.add_argument("--no-jobs", action="store_true", help="start no job worker here")
        parser.add_argument("--no-scheduler", action="store_true", help="start no scheduler here")
        parser.add_argument(
            "--collectstatic",
            action="store_true",
            help="collect static files even when they look current (done at start when missing or older "
            "than the sources)",
        )

    def handle(self, *args, bind, workers, no_jobs, no_scheduler, collectstatic, **opts):
        bind = _bind(bind)
        workers = _positive(str(workers)) if workers else default_workers()
        if collectstatic or static_stale():
            self.stdout.write("insurdesk serve: collecting static files (compressed, hashed) …")
            self.stdout.flush()
            call_command("collectstatic", interactive=False, verbosity=0)
        run_dir = Path(settings.DATA_DIR) / "run"
        metrics_dir = run_dir / f"metrics-{os.getpid()}"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
        env.setdefault("INSURDESK_LOG_FORMAT", "json")
        cli = [sys.executable, "-m", "insurdesk.cli"]
        specs = {
            "web": [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "python:insurdesk.ops.gunicorn_conf",
                "--bind",
                bind,
                "--workers",
                str(workers),
            ],
        }
        if not no_jobs:
            specs["jobs"] = [*cli, "db_worker", "--queue-name", "*", "--no-reload"]
        if not no_scheduler:
            specs["scheduler"] = [*cli, "scheduler"]
        supervisor = Supervisor(specs, env=env, write=self.stdout.write)
        self.stdout.write(
            f"insurdesk serve: http://{bind}/ ({workers} web workers, "
            f"{'job worker, ' if 'jobs' in specs else ''}"
            f"{'scheduler' if 'scheduler' in specs else 'no scheduler'}); pid {os.getpid()}"
        )
        self.stdout.flush()
        try:
            code = supervisor.run()
        finally:
            shutil.rmtree(metrics_dir, ignore_errors=True)
        if code:
            sys.exit(code)


class Supervisor:
    """Start the children, forward signals, restart the helpers, stop all together."""

    def __init__(self, specs: dict[str, list[str]], *, env: dict, write):
        self.specs, self.env, self.write = specs, env, write
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = False
        self.reload = False
        self.restarts: list[float] = []

    def start(self, name: str) -> None:
        self.children[name] = subprocess.Popen(self.specs[name], env=self.env)

    def on_signal(self, signum, frame) -> None:
        if signum == signal.SIGHUP:
            self.reload = True
        else:
            self.stopping = True

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self.on_signal)
        for name in self.specs:
            self.start(name)
        code = 0
        while not self.stopping:
            time.sleep(0.2)
            if self.reload:
                self.reload = False
                self.write("insurdesk serve: reloading")
                self.children["web"].send_signal(signal.SIGHUP)
                for name in ("jobs", "scheduler"):
                    if name in self.children:
                        self.children[name].terminate()  # restarted below on the new code
            for name, proc in list(self.children.items()):
                if proc.poll() is None or self.stopping:
                    continue
                if name == "web":
                    self.write(f"insurdesk serve: gunicorn exited ({proc.returncode}); stopping")
                    self.stopping, code = True, 1
                    break
                now = time.monotonic()
                self.restarts = [t for t in self.restarts if now - t < 60] + [now]
                if len(self.restarts) > 10:
                    self.write(f"insurdesk serve: {name} keeps exiting; stopping")
                    self.stopping, code = True, 1
                    break
                self.start(name)
        self.stop()
        return code

    def stop(self) -> None:
        grace = int(os.environ.get("INSURDESK_GRACEFUL_SECONDS", "30")) + 5
        for proc in self.children.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + grace
        for proc in self.children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
