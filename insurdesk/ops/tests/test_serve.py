"""`insurdesk serve` as an operator runs it: web workers, job worker and scheduler start, answer, reload on
HUP and stop together on TERM; and the exact command line of deploy/insurdesk.service."""

from __future__ import annotations

import json
import shlex
import signal
from pathlib import Path

import pytest

from insurdesk.lifecycle.tests.scratch import ROOT, backends
from insurdesk.ops.tests.serving import (
    alive,
    children,
    cmdline,
    collect_static,
    free_port,
    get,
    ready,
    start,
    stop,
    wait_until,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def site(scratch, tmp_path_factory):
    """A migrated installation, its static files collected, and the environment of its processes."""
    installation = scratch(backends()[0])
    static = tmp_path_factory.mktemp("static")
    env = installation.env()
    collect_static(env, static)
    env.update(
        INSURDESK_STATIC_ROOT=str(static),
        INSURDESK_DEBUG="0",
        INSURDESK_STATIC_COMPRESS="0",
        INSURDESK_SCHEDULER_INTERVAL="1",
        INSURDESK_WORKER_HEARTBEAT_SECONDS="1",
    )
    installation.env_vars = env
    return installation


def _tree(pid):
    """{"gunicorn": [...], "db_worker": [...], "scheduler": [...]} of the serve process's descendants."""
    out = {"gunicorn": [], "db_worker": [], "scheduler": []}
    for child in children(pid):
        line = cmdline(child)
        for key in out:
            if key in line:
                out[key].append(child)
    return out


def test_serve_answers_reloads_on_hup_and_stops_everything_on_term(site, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start(
        [*site_cli(), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        site.env_vars,
        tmp_path / "serve.log",
    )
    try:
        # ready: database, storage, migrations, a job worker beating, and the scheduler ran the daily duties
        wait_until(
            lambda: ready(base),
            "/readyz answers 200",
        )
        tree = _tree(proc.pid)
        assert len(tree["gunicorn"]) == 3, tree  # master and two workers
        assert len(tree["db_worker"]) == 1 and len(tree["scheduler"]) == 1, tree

        status, headers, _ = get(f"{base}/healthz", headers={"X-Request-ID": "probe-1"})
        assert status == 200 and headers["Server"] == "gunicorn" and headers["X-Request-ID"] == "probe-1"
        manifest = json.loads((Path(site.env_vars["INSURDESK_STATIC_ROOT"]) / "staticfiles.json").read_text())
        hashed = manifest["paths"]["insurdesk/app.css"]
        status, headers, body = get(f"{base}/static/{hashed}")
        assert status == 200 and b"{" in body and "max-age=315360000" in headers.get("Cache-Control", "")
        status, _, metrics = get(f"{base}/metrics")
        assert (
            status == 200
            and b'insurdesk_http_requests_total{method="GET",route="healthz",status="200"}' in metrics
        )
        assert b"insurdesk_job_workers_alive 1.0" in metrics

        # HUP: new web workers and a new job worker, and it keeps answering
        master = [p for p in tree["gunicorn"] if f"{proc.pid}" in str(_parent(p))]
        old_workers = set(tree["gunicorn"]) - set(master)
        old_jobs = set(tree["db_worker"])
        proc.send_signal(signal.SIGHUP)
        wait_until(
            lambda: len(set(_tree(proc.pid)["gunicorn"]) - set(master) - old_workers) == 2,
            "gunicorn replaced both workers",
        )
        wait_until(
            lambda: _tree(proc.pid)["db_worker"] and not set(_tree(proc.pid)["db_worker"]) & old_jobs,
            "the job worker restarted",
        )
        assert get(f"{base}/healthz")[0] == 200
        assert proc.poll() is None

        everything = children(proc.pid)
        assert stop(proc) == 0
        assert not [p for p in everything if alive(p)], "a child outlived serve"
    finally:
        stop(proc)
    log = (tmp_path / "serve.log").read_text()
    lines = [json.loads(x) for x in log.splitlines() if x.startswith("{")]
    probe = [x for x in lines if x.get("request_id") == "probe-1"]
    assert probe and probe[0]["route"] == "healthz" and probe[0]["status"] == 200


def _parent(pid):
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def site_cli():
    from insurdesk.ops.tests.serving import insurdesk

    return insurdesk()


def unit(path: Path) -> tuple[list[str], dict[str, str]]:
    """The ExecStart command line and the Environment= settings of a systemd unit file."""
    command, env = None, {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "ExecStart":
            command = shlex.split(value)
        elif key == "Environment":
            name, _, setting = value.partition("=")
            env[name] = setting
    assert command, f"no ExecStart in {path}"
    return command, env


def test_the_systemd_units_command_line_serves(site, tmp_path):
    command, unit_env = unit(ROOT / "deploy" / "insurdesk.service")
    assert command[0] == "/opt/insurdesk/.venv/bin/insurdesk" and command[1] == "serve"
    # The same command with this checkout's insurdesk in place of the installed one.
    args = [*site_cli(), *command[1:]]
    port = free_port()
    env = {**site.env_vars, **unit_env, "INSURDESK_BIND": f"127.0.0.1:{port}", "INSURDESK_WEB_WORKERS": "1"}
    assert env["INSURDESK_PRODUCTION"] == "1"
    proc = start(args, env, tmp_path / "unit.log")
    try:
        wait_until(lambda: get(f"http://127.0.0.1:{port}/healthz")[0] == 200, "the unit's server answers")
        status, headers, _ = get(f"http://127.0.0.1:{port}/login/")
        assert status == 200 and "Secure" in headers.get("Set-Cookie", "")  # production: secure cookies
        assert stop(proc) == 0
    finally:
        stop(proc)


def test_bad_bind_and_workers_are_refused_naming_the_option(site):
    import subprocess

    for args, needle in ((["--bind", "nowhere"], "--bind"), (["--workers", "0"], "--workers")):
        r = subprocess.run(
            [*site_cli(), "serve", *args],
            cwd=ROOT,
            env=site.env_vars,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 2 and needle in r.stderr, r.stderr
