#!/usr/bin/env python
"""New business at scale (issue 3): issuing throughput, and the due list (应收清单) at 1,000,000 policies.

    .venv/bin/python bench/new_business.py [--policies 1000000] [--issue 300] [--database-url URL]

The database is the benchmark's own (default: SQLite at var/bench/new_business.sqlite3; PostgreSQL with
--database-url postgres://postgres@127.0.0.1:5432/insurdesk_nb_bench, created when missing), migrated here.

1. Issuing throughput: --issue applications go the whole way through the services, as the pages and
   the API drive them — first entry (初录), blind second entry (二次录入), submission, automatic
   underwriting (all rules pass → accepted) and issue (承保出单), which the submission's on-commit jobs
   run, then the first premium (首期保费) → in force — and the time of each step and of the whole line
   is printed (applications → in force per second).
2. Fill: the policies table is brought to --policies rows by a direct path — rows built in Python
   and written with executemany (SQLite) or COPY (PostgreSQL), no audit or history — each with its
   open premium (unpaid, overdue or part-paid, due from 90 days ago to a year ahead) and, for half of
   them, the premium paid before it. A database that already holds the rows is reused.
3. Due list: `due_list(viewer=..., filters=...)` exactly as GET /api/v1/payments/due runs it — the
   first page of 20 evaluated, plus `.count()` — for a superuser, a branch clerk (分公司) and an agent,
   with the filters a collector uses (next 30 days, overdue, one agent, one sub-branch); p50/p95/p99.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from customer_lookup import CpuClock, percentile, prepare_database, setup_django  # noqa: E402

PAGE = 20
CHUNK = 20_000
MODES = (("annual", 50), ("monthly", 30), ("quarterly", 10), ("semiannual", 5), ("single", 5))
STATES = (("in_force", 85), ("lapsed", 5), ("pending", 5), ("surrendered", 3), ("matured", 2))
REGIONS = ("110105", "310104", "440305", "440304", "320102", "330106", "510107", "420102")
FIRST_BIRTH = datetime.date(1971, 1, 1)
BIRTH_DAYS = (datetime.date(2000, 12, 31) - FIRST_BIRTH).days + 1
ID_SLOTS = len(REGIONS) * BIRTH_DAYS * 1000
ID_STEP = 2_654_435_761  # a prime not dividing ID_SLOTS: index → slot is a permutation
PER_YEAR = {"annual": 1, "semiannual": 2, "quarterly": 4, "monthly": 12, "single": 1}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--policies", type=int, default=1_000_000, help="policies in the database (default 1,000,000)"
    )
    p.add_argument(
        "--issue", type=int, default=300, help="applications taken through the services (default 300)"
    )
    p.add_argument("--queries", type=int, default=300, help="timed due-list queries per filter and viewer")
    p.add_argument("--database-url", default="", help="default: sqlite:///var/bench/new_business.sqlite3")
    p.add_argument("--fresh", action="store_true", help="drop the benchmark database and fill it again")
    p.add_argument("--seed", type=int, default=20261122)
    p.add_argument("--json", default="", help="also write the figures to this file")
    p.add_argument("--no-explain", action="store_true")
    return p.parse_args(argv)


# --- set-up ------------------------------------------------------------------------------------------------


def ensure_org():
    """总公司 → 2 省公司 → 3 分公司 each → 3 支公司 each, five agents per 支公司, the new-business staff."""
    from insurdesk.org.models import OrgUnit, User
    from insurdesk.org.services import unit_create, user_create
    from insurdesk.products.catalogue import load_starter_catalogue

    if not OrgUnit.objects.filter(code="NHQ").exists():
        unit_create(actor=None, code="NHQ", name="总公司")
        for p in range(1, 3):
            unit_create(actor=None, code=f"NP{p}", name=f"第{p}省分公司", parent_code="NHQ")
            for b in range(1, 4):
                unit_create(actor=None, code=f"NB{p}{b}", name=f"第{p}{b}分公司", parent_code=f"NP{p}")
                for s in range(1, 4):
                    unit_create(
                        actor=None, code=f"NS{p}{b}{s}", name=f"第{p}{b}{s}支公司", parent_code=f"NB{p}{b}"
                    )
                    for a in range(1, 6):
                        user_create(
                            actor=None,
                            username=f"nb_agent_{p}{b}{s}{a}",
                            role="agent",
                            unit_code=f"NS{p}{b}{s}",
                        )
        for name, role in (("nb_clerk", "clerk"), ("nb_clerk2", "clerk"), ("nb_service", "service")):
            user_create(actor=None, username=name, role=role, unit_code="NB11")
        admin = user_create(actor=None, username="nb_admin", role="admin", unit_code="NHQ")
        admin.is_superuser = admin.is_staff = True
        admin.save(update_fields=["is_superuser", "is_staff"])
    load_starter_catalogue()
    users = {u.username: u for u in User.objects.filter(username__startswith="nb_")}
    leaves = list(OrgUnit.objects.filter(code__startswith="NS").order_by("code").values_list("pk", flat=True))
    agents = {
        pk: list(User.objects.filter(unit_id=pk, role="agent").order_by("pk").values_list("pk", flat=True))
        for pk in leaves
    }
    return users, agents


def make_customers(count: int, unit_id: int, agent_ids: list[int], seed: int, offset: int) -> list[int]:
    """Create individuals through the import path (customer_bulk_create); return their ids."""
    from insurdesk.customers.bulk import customer_bulk_create
    from insurdesk.identity.testing import make_resident_id

    rng = random.Random(seed + offset)
    rows = []
    for i in range(count):
        # Distinct identities by index: a permutation of (region, birth day 1971–2000, sequence) slots.
        j = ((offset + i) * ID_STEP + 977) % ID_SLOTS
        j, seq = divmod(j, 1000)
        region, day = divmod(j, BIRTH_DAYS)
        birth = FIRST_BIRTH + datetime.timedelta(days=day)
        gender = "M" if seq % 2 else "F"
        rows.append(
            {
                "name": rng.choice("张王李赵刘陈杨黄") + rng.choice("伟芳娜敏静磊洋强"),
                "id_type": "resident_id",
                "id_number": make_resident_id(birth, gender, region=REGIONS[region], seq=seq),
                "gender": gender,
                "birth_date": birth,
                "occupation_class": 1,
                "id_valid_to": datetime.date(2040, 1, 1),
                "unit_id": unit_id,
                "agent_id": agent_ids[(offset + i) % len(agent_ids)],
            }
        )
    result = customer_bulk_create(actor=None, kind="individual", rows=rows)
    if result.refused:
        raise RuntimeError(f"bench customers refused: {result.refused[:3]}")
    return result.created_ids


# --- 1. issuing throughput ---------------------------------------------------------------------------------


def issue_line(users: dict, agents: dict, n: int, seed: int) -> dict:
    """Take n applications from first entry to a policy in force; return per-step and total timings."""
    if n <= 0:
        print("  skipped (--issue 0)")
        return {}
    from insurdesk.applications.models import Application
    from insurdesk.applications.services import (
        application_create,
        application_second_entry,
        application_submit,
    )
    from insurdesk.applications.testing import application_input, second_entry_of
    from insurdesk.org.models import OrgUnit
    from insurdesk.policies.models import Policy
    from insurdesk.policies.services import payment_record, policy_issue
    from insurdesk.underwriting.services import underwriting_open

    clerk, clerk2 = users["nb_clerk"], users["nb_clerk2"]
    unit = OrgUnit.objects.get(code="NS111")
    offset = Application.objects.count() * 2 + 10_000_000
    customers = make_customers(2 * n, unit.pk, agents[unit.pk], seed, offset)
    steps = {k: [] for k in ("first_entry", "second_entry", "submit+underwriting+issue", "first_premium")}
    totals = []
    today = datetime.date.today()
    for i in range(n):
        holder, insured = customers[2 * i], customers[2 * i + 1]
        t = [time.perf_counter()]
        data = application_input(policyholder_id=holder, insured_id=insured, agent_id=agents[unit.pk][0])
        app, _ = application_create(actor=clerk, data=data)
        t.append(time.perf_counter())
        application_second_entry(actor=clerk2, application_id=app.pk, data=second_entry_of(app))
        t.append(time.perf_counter())
        # Submission commits, then its on-commit jobs run the rules (all pass: accepted) and issue the policy.
        application_submit(actor=clerk, application_id=app.pk)
        policy = Policy.objects.filter(application_id=app.pk).first()
        if policy is None:  # the jobs did not run (an outer transaction): do their work here
            case = underwriting_open(actor=None, application_id=app.pk)
            assert case.state == "accepted", [r.reason for r in case.rule_results.all()]
            policy = policy_issue(actor=clerk, application_id=app.pk)
        t.append(time.perf_counter())
        payment_record(
            actor=clerk, policy_id=policy.pk, amount=policy.premium, method="transfer", paid_on=today
        )
        t.append(time.perf_counter())
        for key, a, b in zip(steps, t, t[1:], strict=False):
            steps[key].append((b - a) * 1000)
        totals.append((t[-1] - t[0]) * 1000)
    elapsed = sum(totals) / 1000
    out = {
        "applications": n,
        "seconds": round(elapsed, 2),
        "per_second": round(n / elapsed, 1),
        "mean_ms": round(statistics.mean(totals), 1),
        "p99_ms": round(percentile(sorted(totals), 99), 1),
        "steps_mean_ms": {k: round(statistics.mean(v), 1) for k, v in steps.items()},
    }
    print(
        f"  {n} applications → in force in {elapsed:.1f} s: {out['per_second']} per second, "
        f"{out['mean_ms']} ms each (p99 {out['p99_ms']} ms)"
    )
    print("  per step (mean ms): " + ", ".join(f"{k} {v}" for k, v in out["steps_mean_ms"].items()))
    return out


# --- 2. the direct fill ------------------------------------------------------------------------------------


def _pick(rng, table):
    r = rng.randrange(100)
    for value, weight in table:
        if r < weight:
            return value
        r -= weight
    return table[-1][0]


def fill(target: int, agents: dict, seed: int) -> dict:
    """Bring the policies table to `target` rows with their premiums, by executemany / COPY."""
    from django.db import connection, transaction
    from django.utils import timezone

    from insurdesk.customers.models import Customer
    from insurdesk.policies.models import Instalment, Policy
    from insurdesk.products.models import Product

    have = Policy.objects.count()
    if have >= target:
        print(f"  reusing {have:,} policies")
        return {"reused": have}
    holders = list(Customer.objects.order_by("id").values_list("pk", flat=True)[:50_000])
    if len(holders) < 20_000:
        first = next(iter(agents))
        holders += make_customers(20_000, first, agents[first], seed, 20_000_000)
    products = {p.code: p for p in Product.objects.filter(code__in=("L101", "L102", "H301", "A401"))}
    today = timezone.localdate()
    now = timezone.now().replace(tzinfo=None) if connection.vendor == "sqlite" else timezone.now()
    units = list(agents)
    pfields = [f for f in Policy._meta.concrete_fields]
    ifields = [f for f in Instalment._meta.concrete_fields]
    pcols = [f.column for f in pfields]
    icols = [f.column for f in ifields if f.column != "id"]
    assert icols == [
        "policy_id",
        "seq",
        "due_date",
        "period_start",
        "period_end",
        "amount",
        "paid_amount",
        "status",
        "paid_on",
        "open_due",
        "unit_id",
        "agent_id",
    ], icols
    next_policy = (Policy.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    started, cpu0 = time.perf_counter(), time.process_time()
    written = inst_written = 0
    for start in range(have, target, CHUNK):
        rng = random.Random(seed * 7919 + start)
        prow, irow = [], []
        for i in range(start, min(start + CHUNK, target)):
            pid = next_policy
            next_policy += 1
            unit = units[rng.randrange(len(units))]
            agent = agents[unit][rng.randrange(len(agents[unit]))]
            mode = _pick(rng, MODES)
            state = _pick(rng, STATES)
            code = "A401" if mode == "single" else ("L102" if mode == "monthly" else "L101")
            product = products[code]
            premium = Decimal(
                rng.randrange(100, 3000) * 5 if mode == "monthly" else rng.randrange(2000, 40000)
            )
            effective = today - datetime.timedelta(days=rng.randrange(30, 3650))
            months = 12 // PER_YEAR[mode]
            due = today + datetime.timedelta(days=rng.randrange(-90, 366))
            values = {
                "id": pid,
                "policy_no": f"NB{i:010d}",
                "application_id": None,
                "product_id": product.pk,
                "unit_id": unit,
                "agent_id": agent,
                "policyholder_id": holders[i % len(holders)],
                "insured_id": holders[(i * 7 + 3) % len(holders)],
                "relationship": "spouse",
                "is_group": False,
                "beneficiary_legal": True,
                "state": state,
                "state_changed_at": now,
                "payment_mode": mode,
                "payment_term": "single" if mode == "single" else "20y",
                "instalment_total": 1 if mode == "single" else 20 * PER_YEAR[mode],
                "coverage_term": "1y" if mode == "single" else "life",
                "application_date": effective,
                "issue_date": effective,
                "effective_date": effective,
                "expiry_date": None,
                "receipt_date": None,
                "premium": premium,
                "annual_premium": premium * PER_YEAR[mode],
                "extra_premium": Decimal("0.00"),
                "sum_insured": premium * 50,
                "cooling_off_days": product.cooling_off_days,
                "grace_days": product.grace_days,
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
            open_premium = mode != "single" and state in ("in_force", "lapsed", "pending")
            if open_premium:
                paid = Decimal("0.00")
                status = "unpaid" if due >= today else "overdue"
                if rng.random() < 0.05:
                    paid, status = (premium / 2).quantize(Decimal("0.01")), "partial"
                irow.append(
                    (
                        pid,
                        40,
                        due,
                        due,
                        due + datetime.timedelta(days=30 * months - 1),
                        premium,
                        paid,
                        status,
                        None,
                        due,
                        unit,
                        agent,
                    )
                )
            if rng.random() < 0.5:  # the premium paid before it
                before = due - datetime.timedelta(days=30 * months)
                irow.append(
                    (
                        pid,
                        39,
                        before,
                        before,
                        due - datetime.timedelta(days=1),
                        premium,
                        premium,
                        "paid",
                        before,
                        None,
                        unit,
                        agent,
                    )
                )
        _write(connection, "policies_policy", pcols, prow)
        _write(connection, "policies_instalment", icols, irow)
        written += len(prow)
        inst_written += len(irow)
        if (written // CHUNK) % 10 == 0:
            print(f"    {have + written:,} policies…", flush=True)
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
    rate = {
        "policies": written,
        "instalments": inst_written,
        "seconds": round(elapsed, 1),
        "policies_per_second": round(written / elapsed),
        "cpu_seconds": round(time.process_time() - cpu0, 1),
    }
    print(
        f"  direct path: {written:,} policies and {inst_written:,} premiums in {elapsed:.0f} s "
        f"({rate['policies_per_second']:,} policies/s)"
    )
    return rate


def _write(connection, table: str, cols: list[str], rows: list[tuple]) -> None:
    from django.db import transaction

    if not rows:
        return
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            conv = [tuple(_sqlite(v) for v in row) for row in rows]
            cur.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('%s' for _ in cols)})", conv
            )


def _sqlite(v):
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, datetime.date):
        return v.isoformat()
    return v


# --- 3. the due list ---------------------------------------------------------------------------------------


def one_due(viewer, filters, clock=None) -> tuple[float, float, int]:
    """What GET /api/v1/payments/due does: the viewer's due list, first page evaluated, plus the count."""
    from insurdesk.policies.selectors import due_list, due_page

    before = clock.read() if clock else (0, 0)
    t0 = time.perf_counter()
    qs = due_list(viewer=viewer, filters=filters)
    rows = due_page(qs, 0, PAGE)
    shown = [
        (i.policy.policy_no, i.policy.policyholder.name, i.policy.product.name, i.unit.name) for i in rows
    ]  # the fields the endpoint reads
    assert len(shown) == len(rows)
    total = qs.count()
    wall = (time.perf_counter() - t0) * 1000
    after = clock.read() if clock else (0, 0)
    return wall, (after[0] - before[0]) / 1e6, total


def due_queries(users: dict, agents: dict, n: int, seed: int) -> list[dict]:
    from django.utils import timezone

    from insurdesk.org.models import OrgUnit, User
    from insurdesk.policies.selectors import DueFilters

    rng = random.Random(seed)
    today = timezone.localdate()
    leaves = list(agents)
    all_agents = [a for pool in agents.values() for a in pool]
    branch = users["nb_clerk"]
    agent_user = User.objects.get(pk=all_agents[0])
    viewers = {"superuser": users["nb_admin"], "branch clerk": branch, "agent": agent_user}
    branch_leaves = list(OrgUnit.objects.filter(parent_id=branch.unit_id).values_list("pk", flat=True))

    def window():
        start = today + datetime.timedelta(days=rng.randrange(0, 60))
        return DueFilters(due_from=start, due_to=start + datetime.timedelta(days=30))

    kinds = {
        "next 30 days": lambda v: window(),
        "overdue": lambda v: DueFilters(due_to=today - datetime.timedelta(days=1)),
        "one agent": lambda v: DueFilters(
            agent_id=(
                v.pk
                if v.effective_role == "agent"
                else rng.choice(
                    [a for u in (branch_leaves if v.username == "nb_clerk" else leaves) for a in agents[u]]
                )
            )
        ),
        "one sub-branch, 30 days": lambda v: DueFilters(
            unit_id=rng.choice(branch_leaves if v.username == "nb_clerk" else leaves),
            due_from=today,
            due_to=today + datetime.timedelta(days=30),
        ),
    }
    clock = CpuClock()
    out = []
    print(
        f"  {'viewer':<13} {'filter':<24} {'wall ms: p50':>12} {'p95':>7} {'p99':>7} {'max':>7}  "
        f"{'on-CPU p50':>10} {'p99':>6}  {'rows':>9}"
    )
    for vlabel, viewer in viewers.items():
        for kind, make in kinds.items():
            if vlabel == "agent" and kind == "one sub-branch, 30 days":
                continue
            for _ in range(20):
                one_due(viewer, make(viewer))
            wall, cpu, counts = [], [], []
            for _ in range(n):
                ms, cpu_ms, total = one_due(viewer, make(viewer), clock)
                wall.append(ms)
                cpu.append(cpu_ms)
                counts.append(total)
            wall.sort()
            cpu.sort()
            row = {
                "viewer": vlabel,
                "filter": kind,
                "n": n,
                "p50": round(percentile(wall, 50), 2),
                "p95": round(percentile(wall, 95), 2),
                "p99": round(percentile(wall, 99), 2),
                "max": round(wall[-1], 2),
                "cpu_p50": round(percentile(cpu, 50), 2),
                "cpu_p99": round(percentile(cpu, 99), 2),
                "mean_rows": round(statistics.mean(counts)),
            }
            out.append(row)
            print(
                f"  {vlabel:<13} {kind:<24} {row['p50']:12.2f} {row['p95']:7.2f} {row['p99']:7.2f} "
                f"{row['max']:7.2f}  {row['cpu_p50']:10.2f} {row['cpu_p99']:6.2f}  {row['mean_rows']:9,}"
            )
    return out


def explain(users: dict) -> None:
    from django.db import connection
    from django.utils import timezone

    from insurdesk.policies.selectors import DueFilters, due_list

    today = timezone.localdate()
    for label, viewer, f in (
        (
            "superuser, next 30 days",
            users["nb_admin"],
            DueFilters(due_from=today, due_to=today + datetime.timedelta(days=30)),
        ),
        (
            "branch clerk, next 30 days",
            users["nb_clerk"],
            DueFilters(due_from=today, due_to=today + datetime.timedelta(days=30)),
        ),
    ):
        qs = due_list(viewer=viewer, filters=f)
        for part, q in (("page ids", qs.values_list("pk", flat=True)[:PAGE]), ("count", qs)):
            sql, params = (
                q.query.sql_with_params()
                if part != "count"
                else q.order_by().values("id").query.sql_with_params()
            )
            if part == "count":
                sql = f"SELECT COUNT(*) FROM ({sql}) t"
            prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
            with connection.cursor() as cur:
                cur.execute(prefix + sql, params)
                plan = [" ".join(str(c) for c in r) for r in cur.fetchall()]
            print(f"  -- {label} ({part})")
            for line in plan[:14]:
                print(f"     {line}")


def main(argv=None) -> int:
    args = parse_args(argv)
    default = "" if args.database_url else str(ROOT / "var" / "bench" / "new_business.sqlite3")
    if default:
        Path(default).parent.mkdir(parents=True, exist_ok=True)
        if args.fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(default + suffix).unlink(missing_ok=True)
    url = prepare_database(args.database_url or f"sqlite:///{default}", args.fresh)
    setup_django(url)
    from customer_lookup import database_version

    version = database_version()
    print(
        f"insurdesk bench/new_business.py — {version}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {datetime.datetime.now():%Y-%m-%d %H:%M}"
    )
    users, agents = ensure_org()
    figures = {"database": version, "date": datetime.date.today().isoformat()}
    print("\n1. issuing: applications → in force, through the services")
    figures["issue"] = issue_line(users, agents, args.issue, args.seed)
    print(f"\n2. fill to {args.policies:,} policies (direct path)")
    figures["fill"] = fill(args.policies, agents, args.seed)
    from insurdesk.policies.models import Instalment, Policy

    figures["rows"] = {
        "policies": Policy.objects.count(),
        "instalments": Instalment.objects.count(),
        "open": Instalment.objects.filter(status__in=("unpaid", "overdue", "partial")).count(),
    }
    print(
        f"  {figures['rows']['policies']:,} policies, {figures['rows']['instalments']:,} premiums "
        f"({figures['rows']['open']:,} open)"
    )
    print(f"\n3. due list (GET /api/v1/payments/due): {args.queries} queries per viewer and filter")
    figures["due"] = due_queries(users, agents, args.queries, args.seed)
    if not args.no_explain:
        print("\nquery plans")
        explain(users)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
