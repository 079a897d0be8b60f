#!/usr/bin/env python
"""Requests per second and p95 through `insurdesk serve` (gunicorn, 2 workers) against `runserver` (issue 21).

    .venv/bin/python bench/serve.py [--customers 360] [--requests 300] [--concurrency 4] [--database-url URL]

Its own installation under var/bench/serve/ (SQLite by default; PostgreSQL with --database-url, created
when missing): migrated, the demo data loaded (`insurdesk demo`), static files collected. Then, in one
run, each server in turn on a free port of 127.0.0.1 — `insurdesk serve --workers 2 --no-jobs
--no-scheduler` and `insurdesk runserver --noreload` (the development server `make run` starts; both with
INSURDESK_DEBUG=0 so only the server differs) — answers, signed in as the demo clerk, the same bounded
series of requests with a fixed number of client threads in this process: the customer search
(`/customers/?q=<surname>`), an archive page (`/customers/<id>/`) and a policy page (`/policies/<id>/`).
It prints requests per second, p50 and p95 per page and server. Only 127.0.0.1 is ever addressed; every
loop is bounded by --requests, and each server is stopped at the end. The load generator shares the
machine's cores with the servers: compare the two servers, not these figures with another machine's.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "var" / "bench" / "serve"
SURNAMES = "王李张刘陈杨黄赵吴周"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, env: dict, check: bool = True) -> str:
    r = subprocess.run(
        [sys.executable, "-m", "insurdesk.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if check and r.returncode:
        sys.exit(f"insurdesk {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
    return r.stdout


def prepare(args) -> dict:
    DATA.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INSURDESK_", "DATABASE_URL"))}
    env.update(
        INSURDESK_DATA_DIR=str(DATA),
        INSURDESK_DEBUG="0",
        INSURDESK_STATIC_COMPRESS="0",
        DJANGO_SETTINGS_MODULE="insurdesk.settings",
        INSURDESK_API_RATE_LIMIT="0",
        DATABASE_URL=args.database_url or "",
    )
    if args.database_url:
        import psycopg

        name = urllib.parse.urlsplit(args.database_url).path.lstrip("/")
        admin = args.database_url.replace("postgres://", "postgresql://", 1).rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    cli("migrate", "--noinput", "-v0", env=env)
    cli("demo", "--if-empty", "--customers", str(args.customers), "--password", "bench-serve-1", env=env)
    cli("collectstatic", "--noinput", "-v0", env=env)
    ids = json.loads(
        cli(
            "shell",
            "-c",
            (
                "import json\n"
                "from insurdesk.org.models import User\n"
                "from insurdesk.policies.models import Policy\n"
                "clerk = User.objects.get(username='clerk')\n"
                "from insurdesk.customers.selectors import customer_list\n"
                "from insurdesk.policies.selectors import policy_list\n"
                "c = customer_list(viewer=clerk, query='').first()\n"
                "p = policy_list(viewer=clerk).first()\n"
                "print(json.dumps({'customer': c.pk, 'policy': p.pk}))"
            ),
            env=env,
        )
        .strip()
        .splitlines()[-1]
    )
    return {"env": env, **ids}


class Session:
    """One keep-alive connection per thread, signed in with the shared session cookie."""

    def __init__(self, port: int, cookie: str):
        self.port, self.cookie, self.local = port, cookie, threading.local()

    def get(self, path: str) -> tuple[int, float]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers={"Cookie": self.cookie})
            response = conn.getresponse()
            response.read()
        except (http.client.HTTPException, OSError):
            conn.close()
            self.local.conn = None
            return 0, time.perf_counter() - started
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
            self.local.conn = None
        return response.status, time.perf_counter() - started


def sign_in(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/login/")
    r = conn.getresponse()
    body = r.read().decode()
    csrf = re.search(r"csrftoken=([^;]+)", r.getheader("Set-Cookie")).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    form = urllib.parse.urlencode(
        {"username": "clerk", "password": "bench-serve-1", "csrfmiddlewaretoken": token}
    )
    conn.request(
        "POST",
        "/login/",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
            "Referer": f"http://127.0.0.1:{port}/login/",
        },
    )
    r = conn.getresponse()
    r.read()
    session = re.search(r"sessionid=([^;]+)", r.getheader("Set-Cookie") or "")
    if r.status != 302 or not session:
        sys.exit(f"sign-in failed on port {port}: HTTP {r.status}")
    return f"sessionid={session.group(1)}; csrftoken={csrf}"


def wait_up(port: int, proc: subprocess.Popen) -> None:
    end = time.monotonic() + 120
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit(f"server on {port} exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"server on {port} never answered /healthz")


def measure(session: Session, paths: list[str], requests: int, concurrency: int) -> dict:
    for path in paths[:3]:
        session.get(path)  # warm: the first request of a worker loads templates
    results: list[tuple[int, float]] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        outcome = session.get(paths[n % len(paths)])
        with lock:
            results.append(outcome)

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(requests)))
    wall = time.perf_counter() - started
    times = sorted(t for _, t in results)
    bad = sum(1 for status, _ in results if status != 200)
    return {
        "rps": round(len(results) / wall, 1),
        "p50_ms": round(1000 * times[len(times) // 2], 1),
        "p95_ms": round(1000 * times[int(len(times) * 0.95) - 1], 1),
        "errors": bad,
    }


def run_server(kind: str, env: dict, port: int) -> subprocess.Popen:
    if kind == "serve":
        args = ["serve", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--no-jobs", "--no-scheduler"]
    else:
        args = ["runserver", f"127.0.0.1:{port}", "--noreload"]
    log = open(DATA / f"{kind}.log", "w")  # noqa: SIM115 - the server's whole life
    return subprocess.Popen(
        [sys.executable, "-m", "insurdesk.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=360)
    parser.add_argument("--requests", type=int, default=300, help="requests per page and server")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--json", default="")
    parser.add_argument("--fresh", action="store_true", help="start from an empty installation")
    args = parser.parse_args()
    if args.fresh and not args.database_url:
        shutil.rmtree(DATA, ignore_errors=True)
    setup = prepare(args)
    pages = {
        "customer search": [f"/customers/?q={urllib.parse.quote(s)}" for s in SURNAMES],
        "archive page": [f"/customers/{setup['customer']}/"],
        "policy page": [f"/policies/{setup['policy']}/"],
    }
    figures: dict = {
        "machine": f"{platform.node()} {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "database": "PostgreSQL" if args.database_url else "SQLite",
        "requests": args.requests,
        "concurrency": args.concurrency,
        "servers": {},
    }
    for kind in ("serve", "runserver"):
        port = free_port()
        proc = run_server(kind, setup["env"], port)
        try:
            wait_up(port, proc)
            session = Session(port, sign_in(port))
            figures["servers"][kind] = {
                name: measure(session, paths, args.requests, args.concurrency)
                for name, paths in pages.items()
            }
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    print(
        f"{figures['machine']}; {figures['database']}; {args.requests} requests per page, "
        f"{args.concurrency} client threads"
    )
    print(f"{'page':<18}{'server':<11}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}")
    for name in pages:
        for kind in ("serve", "runserver"):
            f = figures["servers"][kind][name]
            print(f"{name:<18}{kind:<11}{f['rps']:>8}{f['p50_ms']:>9}{f['p95_ms']:>9}{f['errors']:>8}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
