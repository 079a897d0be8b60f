"""A separate process for the backup and fault tests: fills, writes under load, and inspects a database.

Run as ``python -m insurdesk.lifecycle.tests.worker <command>`` with DATABASE_URL, INSURDESK_DATA_DIR
and the keys in the environment (insurdesk.lifecycle.tests.scratch builds it). Every command prints
one JSON document on stdout, except ``create-loop``, which prints one archive number per committed
customer and never stops by itself, and ``fork-loop``, which starts such writers on demand.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "insurdesk.settings")
    import django

    django.setup()


def _root_unit():
    from insurdesk.org.models import OrgUnit
    from insurdesk.org.services import unit_create

    return OrgUnit.objects.filter(parent__isnull=True).first() or unit_create(
        actor=None, code="HQ", name="总公司"
    )


def _person(rng: random.Random, unit_id: int) -> dict:
    from insurdesk.identity.testing import make_mobile, make_resident_id

    birth = datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(0, 20000))
    gender = rng.choice("MF")
    return {
        "name": rng.choice("张王李赵刘陈杨黄周吴")
        + rng.choice(["伟", "芳", "娜", "敏", "静", "强", "磊", "洋"]),
        "id_number": make_resident_id(birth, gender, rng=rng),
        "mobile": make_mobile(rng),
        "residence_address": f"深圳市南山区科技园{rng.randrange(1, 999)}号",
        "health_notes": rng.choice(["无", "高血压", "糖尿病"]),
        "unit_id": unit_id,
    }


def populate(args) -> dict:
    """Customers of both kinds with encrypted values, changes (history), relations, views, and files."""
    from django.conf import settings

    from insurdesk.customers.services import (
        customer_create,
        customer_record_view,
        customer_update,
        relation_add,
    )
    from insurdesk.identity.testing import make_uscc
    from insurdesk.org.services import user_create

    rng = random.Random(args.seed)
    unit = _root_unit()
    clerk = user_create(actor=None, username=f"clerk{args.seed}", role="clerk", unit_code=unit.code)
    made = []
    for i in range(args.customers):
        if i % 4 == 3:
            data = {
                "name": f"深圳市测试{i}科技有限公司",
                "uscc": make_uscc(rng=rng),
                "legal_rep_name": "李强",
                "tax_account": f"62220202{rng.randrange(10**9):09d}",
                "unit_id": unit.pk,
                "beneficial_owners": [
                    {
                        "name": "赵六",
                        "ownership_kind": "equity",
                        "percentage": "60",
                        "id_number": _person(rng, unit.pk)["id_number"],
                    }
                ],
            }
            c, _ = customer_create(actor=clerk, kind="corporate", data=data)
        else:
            c, _ = customer_create(actor=clerk, kind="individual", data=_person(rng, unit.pk))
            customer_update(
                actor=clerk, customer_id=c.pk, data={"occupation": "教师", "annual_income": Decimal("1.5")}
            )
        customer_record_view(actor=clerk, customer=c, channel="web")
        made.append(c)
    for a, b in zip(made[::2], made[1::2], strict=False):
        relation_add(actor=clerk, customer_id=a.pk, other_id=b.pk, relation="other")
    media = Path(settings.MEDIA_ROOT)
    for i in range(args.files):
        path = media / "scans" / f"{i:03d}" / f"扫描件-{i}.pdf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"%PDF-1.7\n" + rng.randbytes(rng.randrange(10, 200_000)))
    out = {"customers": len(made), "first": first_customer(args) if made else None}
    if args.then_state:
        out["state"] = state(args)
    if args.then_check:
        out["check"] = check(args)
    return out


def _plain(value):
    if isinstance(value, memoryview | bytes | bytearray):
        return "x" + bytes(value).hex()
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def state(args) -> dict:
    """Every table's raw rows (ciphertext as stored) and every file, hashed; and the audit chain."""
    from django.conf import settings
    from django.db import connection

    from insurdesk.audit.services import audit_verify

    tables = {}
    with connection.cursor() as cur:
        for table in sorted(connection.introspection.table_names(cur)):
            cur.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows = sorted(
                json.dumps([_plain(v) for v in row], ensure_ascii=False, default=str)
                for row in cur.fetchall()
            )
            tables[table] = [len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()]
    media = Path(settings.MEDIA_ROOT)
    files = (
        {
            p.relative_to(media).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(media.rglob("*"))
            if p.is_file()
        }
        if media.is_dir()
        else {}
    )
    result = audit_verify()
    return {"tables": tables, "files": files, "audit": [result.ok, result.checked, result.problem]}


def create_loop(args) -> None:
    """Create customers until killed; print each archive number once its transaction has committed."""
    from insurdesk.common.errors import Duplicate
    from insurdesk.customers.services import customer_create

    rng = random.Random(f"{args.seed}-{os.getpid()}")
    unit = _root_unit()
    if not getattr(args, "forked", False):
        print("ready", flush=True)
    while True:
        data = _person(rng, unit.pk)
        if rng.random() < 0.3:
            data["beneficial_owners"] = None
        try:
            c, _ = customer_create(actor=None, kind="individual", data=data)
        except Duplicate:
            continue
        print(c.archive_no, flush=True)


def fork_loop(args) -> None:
    """Start up once, then for every "go" line on stdin fork a writer that runs create-loop until killed.

    Each writer prints "ready <pid>" and then what create-loop prints; when it dies this process
    prints "exited <status>". Django starts once instead of once per writer, so a test can kill many
    writers in the time a few process starts would take. Connections are closed before each fork:
    a writer opens its own.
    """
    from django.db import connections

    for line in sys.stdin:
        if line.strip() != "go":
            break
        connections.close_all()
        pid = os.fork()
        if pid == 0:  # the writer
            try:
                print(f"ready {os.getpid()}", flush=True)
                create_loop(argparse.Namespace(seed=args.seed, forked=True))
            finally:
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        print(f"exited {status}", flush=True)


def check(args) -> dict:
    """Look for what a killed writer could leave behind: half rows, rows without history or audit."""
    from django.db import connection

    from insurdesk.audit.models import AuditEntry
    from insurdesk.audit.services import audit_verify
    from insurdesk.customers.keys import identity_hash, mobile_hash
    from insurdesk.customers.models import ArchiveSequence, Customer

    problems = []
    if connection.vendor == "sqlite":
        with connection.cursor() as cur:
            cur.execute("PRAGMA integrity_check")
            integrity = [r[0] for r in cur.fetchall()]
            if integrity != ["ok"]:
                problems.append(f"integrity_check: {integrity[:5]}")
            cur.execute("PRAGMA foreign_key_check")
            if cur.fetchall():
                problems.append("foreign_key_check found rows")
    history = Customer.history.model
    created = set(AuditEntry.objects.filter(action="customer.create").values_list("target_id", flat=True))
    with_history = set(history.objects.filter(history_type="+").values_list("id", flat=True))
    numbers = []
    for c in Customer.objects.all().iterator():  # every encrypted value must decrypt: no half-written blob
        if str(c.pk) not in created:
            problems.append(f"customer {c.archive_no} has no customer.create audit entry")
        if c.pk not in with_history:
            problems.append(f"customer {c.archive_no} has no creation history row")
        if c.id_hash != identity_hash(c.id_type, c.id_number) or c.mobile_hash != mobile_hash(c.mobile):
            problems.append(f"customer {c.archive_no} has search hashes that do not match its values")
        numbers.append(int(c.archive_no[2:]))
    orphans = set(history.objects.values_list("id", flat=True)) - set(
        Customer.objects.values_list("pk", flat=True)
    )
    if orphans:
        problems.append(f"history rows of customers that do not exist: {sorted(orphans)[:5]}")
    seq = ArchiveSequence.objects.filter(name="KH").values_list("value", flat=True).first() or 0
    if numbers and max(numbers) > seq:
        problems.append(f"archive number {max(numbers)} is above the sequence {seq}")
    expected = Path(args.expect).read_text().split() if args.expect else []
    present = set(Customer.objects.values_list("archive_no", flat=True))
    missing = [n for n in expected if n not in present]
    if missing:
        problems.append(f"{len(missing)} committed customers are missing, e.g. {missing[:3]}")
    result = audit_verify()
    if not result.ok:
        problems.append(f"audit chain: {result.problem} at {result.first_bad_seq}")
    return {"problems": problems, "customers": len(numbers), "audit": result.checked}


def edit(args) -> dict:
    """Change one archive with the version read earlier, starting at a given instant (a race)."""
    from insurdesk.common.errors import Conflict
    from insurdesk.customers.services import customer_update

    if args.go:  # a start line: report ready, then wait for the test to create the file
        print("ready", flush=True)
        go, give_up = Path(args.go), time.monotonic() + 120
        while not go.exists() and time.monotonic() < give_up:
            time.sleep(0.001)
    time.sleep(max(0.0, args.at - time.time()))
    try:
        c, _ = customer_update(
            actor=None,
            customer_id=args.customer,
            data={"occupation": args.occupation},
            expected_version=args.version,
        )
    except Conflict as exc:
        return {"result": "conflict", "message": exc.errors[0].message}
    return {"result": "saved", "version": c.version}


def first_customer(args) -> dict:
    from insurdesk.customers.models import Customer

    c = Customer.objects.order_by("pk").first()
    return {"id": c.pk, "version": c.version, "occupation": c.occupation}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="worker")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("populate")
    p.add_argument("--customers", type=int, default=12)
    p.add_argument("--files", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--then-state", action="store_true", help="answer the state afterwards too")
    p.add_argument("--then-check", action="store_true", help="answer the consistency check afterwards too")
    p.set_defaults(expect=None)
    sub.add_parser("state")
    p = sub.add_parser("create-loop")
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("fork-loop")
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("check")
    p.add_argument("--expect", help="a file of archive numbers that were reported committed")
    p = sub.add_parser("edit")
    p.add_argument("--customer", type=int, required=True)
    p.add_argument("--version", type=int, required=True)
    p.add_argument("--occupation", required=True)
    p.add_argument("--at", type=float, default=0.0)
    p.add_argument("--go", help="start once this file exists (after printing ready)")
    sub.add_parser("first-customer")
    args = parser.parse_args(argv)
    _setup()
    command = {
        "populate": populate,
        "state": state,
        "create-loop": create_loop,
        "fork-loop": fork_loop,
        "check": check,
        "edit": edit,
        "first-customer": first_customer,
    }[args.command]
    out = command(args)
    if out is not None:
        json.dump(out, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")


if __name__ == "__main__":
    main()
