"""Past one machine: two `insurdesk serve` and two job workers on one PostgreSQL and one Redis.

Requests spread over both servers see the same sessions, rate limits and lockouts; both schedulers try
the daily duties and they run once; every task is claimed by one worker; a worker killed in the middle of
a task leaves it to the other. Needs the PostgreSQL test run and Redis at 127.0.0.1:6379 (under CI=true a
missing Redis fails instead of skipping).
"""

from __future__ import annotations

import http.cookiejar
import http.server
import json
import os
import re
import signal
import subprocess
import threading
import urllib.parse
import urllib.request
import uuid

import pytest

from insurdesk.lifecycle.tests.scratch import ROOT, pg_url
from insurdesk.ops.tests.serving import (
    collect_static,
    free_port,
    get,
    insurdesk,
    ready,
    start,
    stop,
    wait_until,
)

pytestmark = pytest.mark.django_db
REDIS = "redis://127.0.0.1:6379/0"
PASSWORD = "Scale-out-test-1"


def _redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def cluster(scratch, tmp_path_factory):
    if not pg_url():
        pytest.skip(
            "several servers need PostgreSQL: run with DATABASE_URL=postgres://… (SQLite is one machine)"
        )
    if not _redis_answers():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis does not answer at {REDIS}; CI requires it")
        pytest.skip(f"Redis does not answer at {REDIS}: start redis-server to run this test")
    site = scratch("postgresql")
    static = tmp_path_factory.mktemp("static")
    logs = tmp_path_factory.mktemp("logs")
    env = site.env()
    collect_static(env, static)
    env.update(
        INSURDESK_STATIC_ROOT=str(static),
        INSURDESK_DEBUG="0",
        INSURDESK_STATIC_COMPRESS="0",
        INSURDESK_CACHE_URL=REDIS,
        INSURDESK_CACHE_PREFIX=f"scale-{uuid.uuid4().hex[:8]}",
        INSURDESK_API_RATE_LIMIT="6",
        INSURDESK_API_RATE_WINDOW="300",
        INSURDESK_LOGIN_FAILURE_LIMIT="3",
        INSURDESK_SCHEDULER_INTERVAL="1",
        INSURDESK_WORKER_HEARTBEAT_SECONDS="1",
        INSURDESK_WORKER_STALE_SECONDS="4",
        INSURDESK_WEBHOOK_BACKOFF_SECONDS="1",
    )

    def cli(*args, stdin=None):
        r = subprocess.run(
            insurdesk(*args), cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=120
        )
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    cli("addunit", "HQ", "总公司")
    for name in ("clerk_a", "clerk_b"):
        cli("adduser", name, "--role", "clerk", "--password-stdin", stdin=PASSWORD + "\n")
    ports = [free_port(), free_port()]
    procs = [
        start(
            insurdesk("serve", "--bind", f"127.0.0.1:{p}", "--workers", "1", "--no-jobs"),
            env,
            logs / f"serve-{i}.log",
        )
        for i, p in enumerate(ports)
    ]
    workers = [
        start(
            insurdesk(
                "db_worker",
                "--queue-name",
                "*",
                "--no-reload",
                "--worker-id",
                f"worker-{i}",
                "--interval",
                "0.2",
            ),
            env,
            logs / f"worker-{i}.log",
        )
        for i in range(2)
    ]
    try:
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        for base in bases:
            wait_until(lambda b=base: ready(b), f"{base}/readyz answers 200")
        yield {"bases": bases, "cli": cli, "workers": workers, "serves": procs}
    finally:
        for proc in procs + workers:
            stop(proc)


def _browser():
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)), jar


def _login(opener, jar, base, username, password):
    status, _, body = get(f"{base}/login/", opener=opener)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    data = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    return get(f"{base}/login/", opener=opener, data=data.encode(), headers={"Referer": f"{base}/login/"})


def test_a_session_started_on_one_server_is_good_on_the_other(cluster):
    a, b = cluster["bases"]
    opener, jar = _browser()
    _login(opener, jar, a, "clerk_a", PASSWORD)
    assert any(c.name == "sessionid" for c in jar)
    status, _, body = get(f"{b}/customers/", opener=opener)
    assert status == 200 and b"clerk_a" in body  # signed in on b, not sent to the login page


def test_the_api_rate_limit_counts_requests_on_both_servers_together(cluster):
    a, b = cluster["bases"]
    body = json.dumps({"username": "clerk_b", "password": PASSWORD}).encode()
    status, _, answer = get(f"{a}/api/v1/auth/token", data=body, headers={"Content-Type": "application/json"})
    assert status == 200, answer
    auth = {"Authorization": f"Bearer {json.loads(answer)['token']}"}
    seen = []
    for i in range(7):
        status, headers, _ = get(f"{(a, b)[i % 2]}/api/v1/customers", headers=auth)
        seen.append((status, headers.get("X-RateLimit-Remaining")))
    assert seen[:6] == [(200, str(n)) for n in (5, 4, 3, 2, 1, 0)], seen
    assert seen[6][0] == 429  # the seventh, on server b, counted with a's


def test_a_username_locked_out_on_one_server_is_locked_on_the_other(cluster):
    a, b = cluster["bases"]
    for _ in range(3):
        opener, jar = _browser()
        _login(opener, jar, a, "clerk_b", "wrong-password")
    opener, jar = _browser()
    status, _, body = _login(opener, jar, b, "clerk_b", PASSWORD)
    assert not any(c.name == "sessionid" for c in jar)
    assert "锁定".encode() in body or status == 429


def test_both_schedulers_try_the_daily_duties_and_they_run_once(cluster):
    result = _shell(
        cluster,
        "from django.db.models import Count\n"
        "from insurdesk.common.models import DailyRun\n"
        "from insurdesk.ops.models import ScheduledRun\n"
        "runs = list(ScheduledRun.objects.filter(job='daily').values_list('period', 'ok'))\n"
        "per = DailyRun.objects.values('day', 'duty').annotate(n=Count('id'))\n"
        "print(json.dumps({'runs': runs, 'most': max([r['n'] for r in per] or [0])}))",
    )
    assert len(result["runs"]) == 1 and result["runs"][0][1] is True, result
    assert result["most"] == 1


class _Receiver:
    """Webhook receiver: holds the first request open until released; answers the rest at once."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                first = not receiver.first_arrived.is_set() and body["data"].get("hold")
                receiver.bodies.append(body)
                if first:
                    receiver.first_arrived.set()
                    receiver.release.wait(60)
                    return  # the worker that sent it was killed meanwhile
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _shell(cluster, code: str) -> dict:
    out = cluster["cli"]("shell", "-c", "import json\n" + code)
    return json.loads(out.strip().splitlines()[-1])


def test_every_task_is_claimed_once_and_a_killed_workers_task_goes_to_the_other(cluster):
    receiver = _Receiver()
    try:
        _shell(
            cluster,
            (
                "from insurdesk.webhooks.models import Subscription\n"
                f"Subscription.objects.create(url={receiver.url!r}, events=['policy.lapsed'],\n"
                "    secret='s' * 20)\n"
                "print(json.dumps({}))"
            ),
        )
        # 1. twenty events with both workers polling: each delivered once, each task claimed once
        _shell(
            cluster,
            (
                "from insurdesk.webhooks.services import on_event\n"
                "for n in range(20): on_event('policy.lapsed', {'policy_id': n, 'state': 'lapsed'}, {})\n"
                "print(json.dumps({}))"
            ),
        )
        wait_until(lambda: len(receiver.bodies) >= 20, "twenty deliveries received")
        claims = _shell(
            cluster,
            (
                "from django_tasks_db.models import DBTaskResult\n"
                "rows = list(DBTaskResult.objects.values_list('status', 'worker_ids'))\n"
                "print(json.dumps(rows))"
            ),
        )
        assert sorted(b["data"]["policy_id"] for b in receiver.bodies) == list(range(20))
        assert all(status == "SUCCESSFUL" and len(ids) == 1 for status, ids in claims), claims

        # 2. a worker killed in the middle of a delivery: the other one sends it again
        _shell(
            cluster,
            (
                "from insurdesk.webhooks.services import on_event\n"
                "on_event('policy.lapsed', {'policy_id': 99, 'state': 'lapsed', 'hold': True}, {})\n"
                "print(json.dumps({}))"
            ),
        )
        assert receiver.first_arrived.wait(60), "the held delivery never arrived"
        running = _shell(
            cluster,
            (
                "from django_tasks_db.models import DBTaskResult\n"
                "rows = DBTaskResult.objects.filter(status='RUNNING').values_list('id', 'worker_ids')\n"
                "print(json.dumps([[str(i), w] for i, w in rows]))"
            ),
        )
        ((task_id, (holder,)),) = running
        victim = cluster["workers"][int(holder.rsplit("-", 1)[1])]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        done = wait_until(
            lambda: (t := _task(cluster, task_id))[0] == "SUCCESSFUL" and t,
            "the killed worker's task finished elsewhere",
        )
        status, worker_ids = done
        assert status == "SUCCESSFUL" and worker_ids[0] == holder and worker_ids[1] != holder
        held = [b for b in receiver.bodies if b["data"]["policy_id"] == 99]
        assert len(held) == 2 and held[0]["id"] == held[1]["id"]  # the same event, sent again
    finally:
        receiver.close()


def _task(cluster, task_id) -> list:
    return _shell(
        cluster,
        "from django_tasks_db.models import DBTaskResult\n"
        f"t = DBTaskResult.objects.get(pk={task_id!r})\n"
        "print(json.dumps([t.status, t.worker_ids]))",
    )
