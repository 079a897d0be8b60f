"""Helpers of the tests that run `insurdesk serve` and job workers as real processes on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from insurdesk.lifecycle.tests.scratch import ROOT

# Every wait is for a state; this bound only ends a test whose process never gets there.
DEADLINE = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_plain = urllib.request.build_opener()


def get(url: str, *, headers: dict | None = None, data: bytes | None = None, opener=None):
    """(status, headers, body) of a request; HTTP errors are answers too."""
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310 - http://127.0.0.1 only
    try:
        with (opener or _plain).open(request, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def wait_until(check, what: str, deadline: float = DEADLINE):
    """Poll check() until it returns something truthy; fail naming the state that never came."""
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        try:
            last = check()
        except OSError as exc:  # not listening yet
            last = exc
        else:
            if last:
                return last
        time.sleep(0.2)
    raise AssertionError(f"never reached: {what} (last: {last!r})")


def ready(base: str) -> bool:
    status, _, body = get(f"{base}/readyz")
    return status == 200 and json.loads(body)["status"] == "ok"


def children(pid: int) -> set[int]:
    """Every live descendant of a process (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                if fields[0] != "Z":
                    parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    out = open(log, "ab")  # noqa: SIM115 - closed with the process by stop()
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = DEADLINE) -> int:
    """Signal the process and wait for it; kill its whole group if it does not end."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # anything the process left behind


def insurdesk(*args: str) -> list[str]:
    return [sys.executable, "-m", "insurdesk.cli", *args]


def collect_static(env: dict, root: Path) -> None:
    """Collect the static files once for every server a test starts (hashed, uncompressed: quick)."""
    subprocess.run(
        insurdesk("collectstatic", "--noinput", "-v0"),
        cwd=ROOT,
        check=True,
        timeout=DEADLINE,
        env={
            **env,
            "INSURDESK_STATIC_ROOT": str(root),
            "INSURDESK_DEBUG": "0",
            "INSURDESK_STATIC_COMPRESS": "0",
        },
    )
