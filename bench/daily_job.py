#!/usr/bin/env python
"""The daily job (issue 17): `insurdesk daily` over 1,000,000 policies beside plain SQL doing its updates.

    .venv/bin/python bench/daily_job.py [--policies 1000000] [--database-url URL] [--fresh]

The database is the benchmark's own (default: SQLite at var/bench/daily_job.sqlite3; PostgreSQL with
--database-url postgres://postgres@127.0.0.1:5432/insurdesk_daily_bench, created when missing).

1. Fill (direct path, executemany / COPY, no audit or history): --policies policies in force, each with
   its one open premium (the house keeps one instalment ahead). 10 % have a premium due by the business
   day — 1 % of all policies so long ago that their 60-day grace has ended (they lapse), the rest within
   the grace (they only turn overdue) — the other 90 % fall due later. 0.1 % expired yesterday (they
   mature). L101 policies whose anniversary is the business day draw a survival benefit.
2. Plain SQL: the same updates (overdue, lapse, maturity) in one transaction, timed, then rolled back.
3. `insurdesk daily --date D`: every registered duty once (lapse with its audit entries, maturity,
   servicing, loan interest, survival benefits), timed as a whole and per duty; the goal is ≤ 60 s.

A database that already holds the rows is reused only if the day has not been run on it (use --fresh).
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import random
import sys
import time
from contextlib import redirect_stdout
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from customer_lookup import prepare_database, setup_django  # noqa: E402
from new_business import CHUNK, _write, ensure_org, make_customers  # noqa: E402

GOAL_SECONDS = 60


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--policies", type=int, default=1_000_000)
    p.add_argument("--database-url", default="", help="default: sqlite:///var/bench/daily_job.sqlite3")
    p.add_argument("--fresh", action="store_true", help="drop the benchmark database and fill it again")
    p.add_argument("--seed", type=int, default=20261208)
    p.add_argument("--json", default="")
    return p.parse_args(argv)


def fill(target: int, agents: dict, seed: int, day: datetime.date) -> dict:
    """Bring the policies table to `target` rows, each with its open premium."""
    from django.db import connection, transaction
    from django.utils import timezone

    from insurdesk.customers.models import Customer
    from insurdesk.policies.models import Instalment, Policy
    from insurdesk.products.models import Product

    have = Policy.objects.count()
    if have >= target:
        print(f"  reusing {have:,} policies")
        return {"reused": have}
    holders = list(Customer.objects.order_by("id").values_list("pk", flat=True)[:20_000])
    if len(holders) < 2_000:
        first = next(iter(agents))
        holders += make_customers(2_000, first, agents[first], seed, 30_000_000)
    l101 = Product.objects.get(code="L101")
    now = timezone.now().replace(tzinfo=None) if connection.vendor == "sqlite" else timezone.now()
    units = list(agents)
    pfields = list(Policy._meta.concrete_fields)
    pcols = [f.column for f in pfields]
    icols = [f.column for f in Instalment._meta.concrete_fields if f.column != "id"]
    next_policy = (Policy.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    started = time.perf_counter()
    counts = {"due": 0, "lapsing": 0, "maturing": 0}
    for start in range(have, target, CHUNK):
        rng = random.Random(seed * 7919 + start)
        prow, irow = [], []
        for i in range(start, min(start + CHUNK, target)):
            pid = next_policy
            next_policy += 1
            unit = units[rng.randrange(len(units))]
            agent = agents[unit][rng.randrange(len(agents[unit]))]
            effective = day - datetime.timedelta(days=rng.randrange(400, 3650))
            r = rng.random()
            if r < 0.01:  # lapses today: due 61–120 days ago, past its 60-day grace
                due = day - datetime.timedelta(days=rng.randrange(61, 121))
                counts["lapsing"] += 1
            elif r < 0.10:  # due within the grace: turns overdue
                due = day - datetime.timedelta(days=rng.randrange(1, 61))
                counts["due"] += 1
            else:
                due = day + datetime.timedelta(days=rng.randrange(0, 365))
            expiry = None
            if rng.random() < 0.001:
                expiry = day - datetime.timedelta(days=1)
                counts["maturing"] += 1
            premium = Decimal(rng.randrange(2000, 40000))
            values = {
                "id": pid,
                "policy_no": f"DJ{i:010d}",
                "application_id": None,
                "product_id": l101.pk,
                "unit_id": unit,
                "agent_id": agent,
                "policyholder_id": holders[i % len(holders)],
                "insured_id": holders[(i * 7 + 3) % len(holders)],
                "relationship": "spouse",
                "is_group": False,
                "beneficiary_legal": True,
                "state": "in_force",
                "state_changed_at": now,
                "payment_mode": "annual",
                "payment_term": "20y",
                "instalment_total": 20,
                "coverage_term": "life" if expiry is None else "10y",
                "application_date": effective,
                "issue_date": effective,
                "effective_date": effective,
                "expiry_date": expiry,
                "receipt_date": None,
                "premium": premium,
                "annual_premium": premium,
                "extra_premium": Decimal("0.00"),
                "sum_insured": premium * 50,
                "cooling_off_days": 15,
                "grace_days": 60,
                "paid_to": due,
                "underwriting_decision": "standard",
                "exclusion": "",
                "lapsed_on": None,
                "reinstated_on": None,
                "terminated_on": None,
                "termination_reason": "",
                "created_by_id": None,
                "created_at": now,
                "updated_at": now,
            }
            prow.append(tuple(values[f.attname] for f in pfields))
            status = "unpaid"  # yesterday's run has not happened: premiums past due are still unpaid
            period_end = due + datetime.timedelta(days=364)
            irow.append(
                (pid, 5, due, due, period_end, premium, Decimal("0.00"), status, None, due, unit, agent)
            )
        _write(connection, "policies_policy", pcols, prow)
        _write(connection, "policies_instalment", icols, irow)
        done = min(start + CHUNK, target)
        if (done // CHUNK) % 10 == 0:
            print(f"    {done:,} policies…", flush=True)
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('policies_policy', 'id'), (SELECT max(id) FROM "
                "policies_policy))"
            )
        connection.ensure_connection()
        raw = connection.connection
        raw.autocommit = True
        raw.execute("VACUUM ANALYZE policies_policy")
        raw.execute("VACUUM ANALYZE policies_instalment")
    elapsed = time.perf_counter() - started
    print(f"  filled {target - have:,} policies in {elapsed:.0f} s ({counts})")
    return {"seconds": round(elapsed, 1), **counts}


PLAIN_SQL = [
    (
        "overdue",
        "UPDATE policies_instalment SET status = 'overdue' WHERE status = 'unpaid' AND due_date < %(day)s",
    ),
    (
        "lapse",
        "UPDATE policies_policy SET state = 'lapsed', lapsed_on = %(day)s WHERE state IN ('in_force', "
        "'reinstated') AND id IN (SELECT policy_id FROM policies_instalment WHERE status IN "
        "('unpaid', 'overdue', 'partial') AND due_date <= %(last_due)s)",
    ),
    (
        "maturity",
        "UPDATE policies_policy SET state = 'matured', terminated_on = expiry_date WHERE state IN "
        "('in_force', 'reinstated') AND expiry_date < %(day)s",
    ),
    (
        "void",
        "UPDATE policies_instalment SET status = 'void', open_due = NULL WHERE status IN ('unpaid', "
        "'overdue', 'partial') AND policy_id IN (SELECT id FROM policies_policy WHERE state = 'matured')",
    ),
]


def plain_sql(day: datetime.date) -> dict:
    """Run the same updates as plain SQL in one transaction, time each, then roll everything back."""
    from django.db import connection, transaction

    params = {"day": day, "last_due": day - datetime.timedelta(days=61)}
    if connection.vendor == "sqlite":
        params = {k: v.isoformat() for k, v in params.items()}
    out = {}
    total = time.perf_counter()
    try:
        with transaction.atomic(), connection.cursor() as cur:
            for name, sql in PLAIN_SQL:
                t = time.perf_counter()
                cur.execute(sql, params)
                out[name] = {"rows": cur.rowcount, "seconds": round(time.perf_counter() - t, 2)}
                print(f"  {name}: {cur.rowcount:,} rows in {out[name]['seconds']} s")
            raise _Rollback
    except _Rollback:
        pass
    out["total_seconds"] = round(time.perf_counter() - total, 2)
    print(f"  plain SQL total {out['total_seconds']} s (rolled back)")
    return out


class _Rollback(Exception):
    pass


def run_daily(day: datetime.date) -> dict:
    from django.core.management import call_command

    buffer = io.StringIO()
    t = time.perf_counter()
    cpu = time.process_time()
    with redirect_stdout(buffer):
        call_command("daily", date=day, stdout=buffer)
    seconds = time.perf_counter() - t
    lines = buffer.getvalue().strip().splitlines()
    for line in lines:
        print("  " + line)
    ok = seconds <= GOAL_SECONDS
    print(
        f"  insurdesk daily: {seconds:.1f} s wall, {time.process_time() - cpu:.1f} s CPU (this process) — "
        f"goal ≤ {GOAL_SECONDS} s {'met' if ok else 'MISSED'}"
    )
    return {"seconds": round(seconds, 1), "lines": lines, "goal_met": ok}


def main(argv=None) -> int:
    args = parse_args(argv)
    default = "" if args.database_url else str(ROOT / "var" / "bench" / "daily_job.sqlite3")
    if default:
        Path(default).parent.mkdir(parents=True, exist_ok=True)
        if args.fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(default + suffix).unlink(missing_ok=True)
    url = prepare_database(args.database_url or f"sqlite:///{default}", args.fresh)
    setup_django(url)
    from customer_lookup import database_version

    from insurdesk.common.models import DailyRun

    day = datetime.date(2026, 12, 8)
    version = database_version()
    print(
        f"insurdesk bench/daily_job.py — {version}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, {datetime.datetime.now():%Y-%m-%d %H:%M}"
    )
    if DailyRun.objects.filter(day=day).exists():
        sys.exit("the business day has already run on this database: use --fresh")
    _users, agents = ensure_org()
    figures = {"database": version, "policies": args.policies}
    print(f"\n1. fill to {args.policies:,} policies")
    figures["fill"] = fill(args.policies, agents, args.seed, day)
    print(f"\n2. plain SQL, the same updates for {day}")
    figures["plain_sql"] = plain_sql(day)
    print(f"\n3. insurdesk daily --date {day}")
    figures["daily"] = run_daily(day)
    figures["load_after"] = round(os.getloadavg()[0], 1)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
