#!/usr/bin/env python
# ruff: noqa: E501 -- benchmark tables and their headings read best unwrapped
"""Bulk import of the archive table at 1,000,000 rows (issue 4), against the limit and the peer.

    .venv/bin/python bench/import.py [--rows 1000000] [--database-url URL] [--peer-rows 10000]

In one run, on a fresh database of its own (SQLite at var/bench/import.sqlite3 by default; PostgreSQL
with --database-url postgres://postgres@127.0.0.1:5432/insurdesk_import_bench, created when missing):

1. generates the office archive table (seed 003: 客户姓名, 身份证号码, 联系方式, 地址, 保单号, 保险产品名称 …,
   20 columns) as a GB18030 CSV of --rows rows; a fifth of the rows are a customer's further policy
   (most next to the first, some thousands of rows later), so about 80% of the rows are new customers;
2. django-import-export 4 with default settings (a ModelResource, row by row, with diff) imports the
   first --peer-rows rows' customers into the empty database; those archives are then deleted;
3. `insurdesk import` 's pipeline (insurdesk.exchange.pipeline.import_file) imports the whole file
   with full validation, encryption, history and audit, committing per batch; its rate overall and
   for the first and last 100,000 rows, and the process's peak memory (getrusage) after it;
4. the limit: the same customer records, as the import stored them (ciphertext included), written
   into an empty copy of the customer table with its indexes by plain bulk SQL — executemany on
   SQLite, COPY on PostgreSQL — in batches of the same size, no checks, no history, no audit.

Rates are given per input row (rows of the file per second), so the limit and the import are
compared over the same work: the limit's time covers only its inserts and commits.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import random
import resource
import sys
import time
from pathlib import Path

import tablib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "out"
HEADERS = ["客户姓名", "身份证号码", "联系方式", "地址", "保单号", "保险产品名称", "保险金额", "保险起始日期",
           "保险到期日期", "缴费方式", "缴费金额", "缴费日期", "缴费状态", "理赔申请日期", "理赔金额", "理赔状态",
           "沟通日期", "沟通方式", "沟通内容", "后续跟进"]  # fmt: skip
REGIONS = ("110101", "110105", "110108", "120101", "310104", "310115", "320102", "330106", "350211",
           "370102", "420102", "440104", "440305", "500103", "510107", "610113")  # fmt: skip
FIRST_BIRTH = datetime.date(1940, 1, 1)
BIRTH_DAYS = (datetime.date(2005, 12, 31) - FIRST_BIRTH).days + 1
ID_SLOTS = len(REGIONS) * BIRTH_DAYS * 1000
ID_STEP = 2_654_435_761  # a prime: walking the slots by it visits each once, scattered
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧巧美兰霞平刚桂玉萍红娥玲芬燕彬鑫斌宇浩凯"
DATE_FORMS = ("{:%Y-%m-%d}", "{d.year}/{d.month}/{d.day}", "{d.year}年{d.month}月{d.day}日")
MODE_WORDS = {
    "single": "趸缴",
    "annual": "年缴",
    "semiannual": "半年缴",
    "quarterly": "季缴",
    "monthly": "月缴",
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--database-url", default="", help="default: sqlite:///var/bench/import.sqlite3")
    p.add_argument("--peer-rows", type=int, default=10_000, help="rows for django-import-export (0: skip)")
    p.add_argument("--peer-customers-only", action="store_true", help="the peer imports the customers alone")
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--skip-limit", action="store_true")
    p.add_argument("--seed", type=int, default=20261121)
    p.add_argument("--json", default="", help="also write the figures to this file")
    return p.parse_args(argv)


# --- set-up ----------------------------------------------------------------------------------------------


_LOCKS: list = []


def _hold(lock: Path) -> None:
    """Refuse to start while another run uses this SQLite file: deleting it would pull it from under
    that run (which then goes on, unseen, in a deleted file)."""
    import fcntl

    f = open(lock, "w")  # noqa: SIM115 -- held open, and locked, for the whole run
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sys.exit(
            f"another bench/import.py run is using {lock.with_suffix('')}: wait for it, or give --database-url"
        )
    _LOCKS.append(f)


def prepare_database(url: str) -> str:
    """Return the DATABASE_URL of a fresh benchmark database (never the app's or the tests')."""
    if not url:
        path = ROOT / "var" / "bench" / "import.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
    if url.startswith("sqlite:///"):
        _hold(Path(url[len("sqlite:///") :] + ".lock"))
        for suffix in ("", "-wal", "-shm"):
            Path(url[len("sqlite:///") :] + suffix).unlink(missing_ok=True)
        return url
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    if cfg["NAME"] in ("test", "postgres", "template0", "template1", "insurdesk"):
        sys.exit(f"refusing to use database {cfg['NAME']!r}: give the benchmark its own")
    with psycopg.connect(
        host=cfg["HOST"] or "127.0.0.1",
        port=cfg["PORT"] or 5432,
        user=cfg["USER"],
        password=cfg["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{cfg["NAME"]}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{cfg["NAME"]}"')
    return url


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "insurdesk.settings")
    os.environ.setdefault("INSURDESK_DEBUG", "0")  # production code path: no query log
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from insurdesk.org.services import unit_create
    from insurdesk.products.catalogue import load_starter_catalogue

    unit_create(actor=None, code="HQ", name="总公司")
    load_starter_catalogue()


def database_version() -> str:
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("SELECT sqlite_version()")
            return f"SQLite {cur.fetchone()[0]}"
        cur.execute("SHOW server_version")
        return f"PostgreSQL {cur.fetchone()[0]}"


def peak_mb() -> float:
    """Return this process's peak resident memory since the last reset_peak() (Linux), in MB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def written_bytes() -> float:
    """Bytes this process has written with write(2) and its kin (Linux's /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/io") as f:
            return float(next(line.split()[1] for line in f if line.startswith("wchar:")))
    except (OSError, StopIteration):
        return 0.0


def reset_peak() -> None:
    """Start the peak over at the current size (Linux ≥ 4.0: clear_refs 5), so it is the import's own."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


# --- the file --------------------------------------------------------------------------------------------


class People:
    """Valid, distinct people by a running counter (identity numbers ending in 000 are skipped: see
    exchange.normalize.looks_truncated)."""

    def __init__(self, seed: int):
        from insurdesk.identity.resident_id import check_char
        from insurdesk.identity.testing import MOBILE_PREFIXES

        self.check_char, self.prefixes = check_char, MOBILE_PREFIXES
        self.rng = random.Random(seed)
        self.k = 0

    def next(self, i: int) -> tuple[str, str, str, str]:
        while True:
            j = (self.k * ID_STEP + 12_345) % ID_SLOTS
            self.k += 1
            j, seq = divmod(j, 1000)
            region, day = divmod(j, BIRTH_DAYS)
            birth = FIRST_BIRTH + datetime.timedelta(days=day)
            first17 = f"{REGIONS[region]}{birth:%Y%m%d}{seq:03d}"
            number = first17 + self.check_char(first17)
            if not number.endswith("000"):
                break
        rng = self.rng
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        mobile = f"{self.prefixes[i % len(self.prefixes)]}{(i * 7_919) % 100_000_000:08d}"
        if i % 7 == 0:
            mobile = f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}"
        address = f"{rng.choice(('北京市朝阳区', '上海市浦东新区', '广东省深圳市南山区', '四川省成都市武侯区'))}建设路{i % 997 + 1}号"
        return name, number, mobile, address


def generate(path: Path, rows: int, seed: int, products: list) -> int:
    """Write the archive table; return the number of distinct customers in it."""
    people, rng = People(seed), random.Random(seed + 1)
    recent: list[tuple] = []
    customers = 0
    with open(path, "w", encoding="gb18030", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADERS)
        for r in range(rows):
            if r % 5 == 4 and recent:
                # a further policy: usually the row before's customer, sometimes one from thousands of rows ago
                person = recent[-1] if r % 50 != 49 else recent[max(0, len(recent) - 3000)]
            else:
                person = people.next(customers)
                customers += 1
                recent.append(person)
                if len(recent) > 5000:
                    del recent[:1000]
            product = products[r % len(products)]
            start = datetime.date(2015, 1, 1) + datetime.timedelta(days=rng.randrange(3000))
            form = DATE_FORMS[r % 3]
            mode = product["modes"][r % len(product["modes"])]
            out.writerow([
                person[0], person[1], person[2], person[3], f"P{r + 1:012d}", product["name"],
                f"{rng.randrange(1, 200) * 5}万", form.format(start, d=start),
                form.format(start.replace(year=start.year + 20), d=start.replace(year=start.year + 20)),
                MODE_WORDS[mode], f"{rng.randrange(100, 20000):,}元", form.format(start, d=start), "已缴费",
                "", "", "", "", "", "", "",
            ])  # fmt: skip
    return customers


# --- the three measurements ------------------------------------------------------------------------------


def run_peer(path: Path, rows: int, *, full: bool = True) -> dict:
    """django-import-export 4, default settings, on the customers of the first `rows` rows (and, with
    `full`, their policies and payments too: see _peer_parts)."""
    from import_export import resources

    from insurdesk.customers.models import Customer
    from insurdesk.org.models import OrgUnit

    unit = OrgUnit.objects.get(code="HQ")

    class CustomerResource(resources.ModelResource):
        class Meta:
            model = Customer
            fields = (
                "id",
                "archive_no",
                "kind",
                "name",
                "id_type",
                "id_number",
                "mobile",
                "residence_address",
                "unit",
            )

    # Default settings: import_id_fields = ["id"]; an empty id makes each row a new record.
    data = tablib.Dataset(
        headers=[
            "id",
            "archive_no",
            "kind",
            "name",
            "id_type",
            "id_number",
            "mobile",
            "residence_address",
            "unit",
        ]
    )
    with open(path, encoding="gb18030", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for i, row in zip(range(rows), reader, strict=False):
            data.append(
                [
                    "",
                    f"IE{i:010d}",
                    "individual",
                    row[0],
                    "resident_id",
                    row[1],
                    row[2].replace(" ", ""),
                    row[3],
                    unit.pk,
                ]
            )
    started, cpu = time.perf_counter(), time.process_time()
    result = CustomerResource().import_data(data, dry_run=False, raise_errors=False)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    written = Customer.objects.filter(archive_no__startswith="IE").count()
    errors = result.totals["error"] + result.totals["invalid"]
    out = {
        "rows": rows,
        "seconds": seconds,
        "rate": rows / seconds,
        "cpu_seconds": cpu,
        "cpu_rate": rows / cpu,
        "written": written,
        "errors": errors,
    }
    if full:
        out["same_records"] = _peer_parts(path, rows, unit, seconds, cpu)
    # Leave the tables as the import will find them: empty.
    from insurdesk.policies.models import Payment, Policy

    Payment.objects.filter(policy__policy_no__startswith="IE").delete()
    Policy.objects.filter(policy_no__startswith="IE").delete()
    Customer.history.filter(archive_no__startswith="IE").delete()
    Customer.objects.filter(archive_no__startswith="IE").delete()
    return out


def run_peer_apart(path: Path, rows: int, *, full: bool) -> dict:
    """Run the peer in a child process, so its memory is not counted in the import's peak."""
    import multiprocessing

    from django.db import connections

    connections.close_all()  # the child opens its own
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_peer_child, args=(queue, path, rows, full))
    child.start()
    result = queue.get()
    child.join()
    if isinstance(result, BaseException):
        raise result
    return result


def _peer_child(queue, path: Path, rows: int, full: bool) -> None:
    try:
        queue.put(run_peer(path, rows, full=full))
    except BaseException as exc:  # noqa: BLE001 -- handed to the parent, which raises it
        queue.put(RuntimeError(f"peer failed: {exc!r}"))


def _peer_parts(path: Path, rows: int, unit, customer_seconds: float, customer_cpu: float) -> dict:
    """The rows' policies and payments by two more default ModelResources, after the customers.

    What insurdesk's import writes from a row — the customer, a policy, a payment — written by the
    peer as an office would set it up: one resource per model, foreign keys by natural key
    (ForeignKeyWidget: product by name, policyholder by archive number, policy by number). The peer is
    given values already parsed (dates, amounts, modes, terms): its time is only its own work. The
    policy's state is left at its default (django-fsm refuses it as a plain field).
    """
    from import_export import fields, resources, widgets

    from insurdesk.customers.models import Customer
    from insurdesk.exchange import normalize as N
    from insurdesk.policies.models import Payment, Policy
    from insurdesk.products.models import Product

    modes = {v: k for k, v in MODE_WORDS.items()}
    per_year = {"single": 1, "annual": 1, "semiannual": 2, "quarterly": 4, "monthly": 12}

    class PolicyResource(resources.ModelResource):
        product = fields.Field("product", "product", widgets.ForeignKeyWidget(Product, field="name"))
        policyholder = fields.Field(
            "policyholder", "policyholder", widgets.ForeignKeyWidget(Customer, field="archive_no")
        )
        insured = fields.Field("insured", "insured", widgets.ForeignKeyWidget(Customer, field="archive_no"))

        class Meta:
            model = Policy
            fields = ("id", "policy_no", "product", "unit", "policyholder", "insured", "relationship",
                      "state_changed_at", "payment_mode", "payment_term", "instalment_total", "coverage_term",
                      "application_date", "issue_date", "effective_date", "expiry_date", "premium",
                      "annual_premium", "sum_insured", "cooling_off_days", "grace_days")  # fmt: skip

    class PaymentResource(resources.ModelResource):
        policy = fields.Field("policy", "policy", widgets.ForeignKeyWidget(Policy, field="policy_no"))

        class Meta:
            model = Payment
            fields = ("id", "policy", "kind", "method", "amount", "paid_on", "unit")

    policies = tablib.Dataset(headers=list(PolicyResource._meta.fields))
    payments = tablib.Dataset(headers=list(PaymentResource._meta.fields))
    now = datetime.datetime.now(datetime.UTC)
    with open(path, encoding="gb18030", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for i, row in zip(range(rows), reader, strict=False):
            mode, start, end = modes[row[9]], N.date(row[7]), N.date(row[8])
            premium, years = N.amount(row[10]), end.year - start.year
            number = f"IE{i:010d}"
            policies.append([
                "", number, row[5], unit.pk, number, number, "self", now, mode,
                "single" if mode == "single" else f"{years}y", 1 if mode == "single" else years * per_year[mode],
                f"{years}y", start, start, start, end, premium, premium * per_year[mode], N.amount(row[6]), 15, 60,
            ])  # fmt: skip
            payments.append(["", number, "premium", "transfer", premium, N.date(row[11]), unit.pk])
    started, cpu = time.perf_counter(), time.process_time()
    errors = 0
    for peer, data in ((PolicyResource(), policies), (PaymentResource(), payments)):
        totals = peer.import_data(data, dry_run=False, raise_errors=False).totals
        errors += totals["error"] + totals["invalid"]
    seconds, cpu = time.perf_counter() - started + customer_seconds, time.process_time() - cpu + customer_cpu
    return {
        "seconds": seconds,
        "rate": rows / seconds,
        "cpu_seconds": cpu,
        "cpu_rate": rows / cpu,
        "policies": Policy.objects.filter(policy_no__startswith="IE").count(),
        "payments": Payment.objects.filter(policy__policy_no__startswith="IE").count(),
        "errors": errors,
    }


def run_import(path: Path, batch_size: int) -> dict:
    from insurdesk.exchange.pipeline import import_file

    marks: list[tuple[int, float]] = []  # (rows done, wall clock) at each committed batch
    cpu_marks: list[tuple[int, float]] = []  # (rows done, this process's CPU time)
    io_marks: list[tuple[int, float]] = []  # (rows done, bytes this process has written to files)
    last_print = [0.0, 0, 0.0, 0.0]  # when, rows, wall, CPU at the last line printed

    def progress(run):
        now, cpu_now = time.perf_counter(), time.process_time()
        marks.append((run.processed, now))
        cpu_marks.append((run.processed, cpu_now))
        io_marks.append((run.processed, written_bytes()))
        if now - last_print[0] > 30 or run.status == "done":
            _, rows_before, wall_before, cpu_before = last_print
            done = run.processed - rows_before
            wall, spent = now - (wall_before or now), cpu_now - (cpu_before or cpu_now)
            print(
                f"  import {run.processed:>9,}/{run.total_rows:,} rows  since the last line "
                f"{done / wall if wall else 0:>7,.0f} rows/s, {done / spent if spent else 0:>7,.0f} per CPU-second, "
                f"load {os.getloadavg()[0]:.1f}  peak {peak_mb():.0f} MB",
                flush=True,
            )
            last_print[:] = [now, run.processed, now, cpu_now]

    started, cpu = time.perf_counter(), time.process_time()
    cpu_started = cpu
    run = import_file(actor=None, path=path, batch_size=batch_size, progress=progress)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    # The first call comes after the pre-pass (reading the whole file once to count the rows and find
    # repeated customers and policies): windows start there, and the pre-pass is reported on its own
    # and shared out over the rows where a window is compared with the peer.
    loop_start = next((t for n, t in marks if n == 0), started)
    loop_cpu = next((t for n, t in cpu_marks if n == 0), cpu_started)
    loop_io = next((b for n, b in io_marks if n == 0), 0.0)
    prepass, prepass_cpu = loop_start - started, loop_cpu - cpu_started
    marks = [m for m in marks if m[0] > 0] or marks
    cpu_marks = [m for m in cpu_marks if m[0] > 0] or cpu_marks
    io_marks = [m for m in io_marks if m[0] > 0] or io_marks
    last = run.processed - 100_000
    first_10k = _window(marks, loop_start, 0, 10_000)
    if first_10k and run.processed:
        first_10k = 10_000 / (10_000 / first_10k + prepass * 10_000 / run.processed)
    from insurdesk.exchange import reader

    return {
        # The reader process's own peak (exchange/reader.py); pages it shares with the import since
        # the fork count in both.
        "reader_peak_mb": reader.stats.get("peak_mb"),
        "seconds": seconds,
        "rate": run.processed / seconds,
        "processed": run.processed,
        "cpu_seconds": cpu,
        "cpu_rate": run.processed / cpu,
        "load_after": os.getloadavg()[0],
        "created": run.created,
        "merged": run.merged,
        "refused": run.refused,
        "status": run.status,
        "prepass_seconds": prepass,
        "prepass_cpu_seconds": prepass_cpu,
        "first_100k": _window(marks, loop_start, 0, 100_000),
        "last_100k": _window(marks, loop_start, last, run.processed),
        "first_100k_cpu": _window(cpu_marks, loop_cpu, 0, 100_000),
        "last_100k_cpu": _window(cpu_marks, loop_cpu, last, run.processed),
        # KB the importing process wrote (SQLite: its log and checkpoints) per row in those windows.
        "first_100k_kb_per_row": _per_row(io_marks, loop_io, 0, 100_000),
        "last_100k_kb_per_row": _per_row(io_marks, loop_io, last, run.processed),
        "first_10k": first_10k,
        # When each of the first 10,000 rows' batches was committed, in seconds from the loop's start.
        "first_batches": [(n, round(t - loop_start, 3)) for n, t in marks if n <= 10_000],
    }


def _at(marks, started, rows: int) -> float:
    """Return the moment `rows` rows were done, interpolated between committed batches."""
    prev = (0, started)
    for done, t in marks:
        if done >= rows:
            span = done - prev[0]
            return prev[1] + (t - prev[1]) * ((rows - prev[0]) / span if span else 1)
        prev = (done, t)
    return prev[1]


def _per_row(marks, started, a: int, b: int) -> float | None:
    """Return KB per row between rows `a` and `b` of a (rows, bytes) series."""
    a = max(a, 0)
    if b <= a or not marks or b > marks[-1][0]:
        return None
    return (_at(marks, started, b) - _at(marks, started, a)) / (b - a) / 1024


def _window(marks, started, a: int, b: int) -> float | None:
    a = max(a, 0)
    if b <= a or not marks or b > marks[-1][0]:
        return None
    t = _at(marks, started, b) - _at(marks, started, a)
    return (b - a) / t if t > 0 else None


def table_marks() -> dict:
    """Return {model: (rows, highest id)} of every table, to tell afterwards what the import wrote."""
    from django.apps import apps

    out = {}
    for model in apps.get_models():
        if (
            model._meta.proxy
            or not model._meta.managed
            or model._meta.pk.get_internal_type() not in ("AutoField", "BigAutoField")
        ):
            continue
        qs = model._base_manager.all()
        out[model] = (qs.count(), qs.order_by("-pk").values_list("pk", flat=True).first() or 0)
    return out


def _empty_copy(model, *, foreign_keys: bool = True) -> tuple[str, list[str]]:
    """Create an empty copy of the model's table with its indexes; return its name and columns.

    With its foreign keys too, pointing at the same tables as the original's: on SQLite the copy is
    made from the table's own CREATE statement, which carries them; PostgreSQL's CREATE TABLE … LIKE
    copies no foreign keys, so they are added from the catalogue (until 2026-12-06 they were not,
    and PostgreSQL's limit skipped the checks SQLite's made: see docs/benchmarks.md).
    """
    from django.db import connection

    table = model._meta.db_table
    copy = f"bl_{table}"[:60]
    columns = [f.column for f in model._meta.concrete_fields]
    with connection.cursor() as cur:
        cur.execute(f'DROP TABLE IF EXISTS "{copy}"')
        if connection.vendor == "sqlite":
            cur.execute(
                f"SELECT type, name, sql FROM sqlite_master WHERE tbl_name = '{table}' AND sql IS NOT NULL"
            )
            for kind, name, statement in cur.fetchall():
                statement = statement.replace(f'"{table}"', f'"{copy}"', 1)
                if kind == "index":
                    statement = statement.replace(f'"{name}"', f'"bl_{name}"', 1)
                cur.execute(statement)
        else:
            cur.execute(f'CREATE TABLE "{copy}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING INDEXES)')
            if foreign_keys:
                cur.execute(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass",
                    [table],
                )
                for (definition,) in cur.fetchall():
                    cur.execute(f'ALTER TABLE "{copy}" ADD {definition}')
    return copy, columns


def run_limit(
    input_rows: int, batch_size: int, before: dict, after: dict, *, foreign_keys: bool = True
) -> dict:
    """The limit: every record the import wrote, in every table, written again by plain bulk SQL.

    Each table the import added rows to (archives, their history, policies, payments, claims,
    contacts, audit entries, the run's problems …) gets an empty copy with the same indexes; its new
    rows, as stored (ciphertext included), are written into it by executemany on SQLite or COPY on
    PostgreSQL, in as many batches as the import wrote, committed as the import committed them
    (on SQLite, `group` batches a transaction: decision 0010) — the import's work without any of its
    checks or computing. Only the writes and commits are timed (reading the rows back is not). Its
    first and last 100,000 input rows are timed as the import's are, to tell how much of the
    import's growing cost is the database's.
    """
    from django.db import connection

    raw = connection.connection
    batches = max(1, -(-input_rows // batch_size))
    plan = []
    for model, (rows_after, _top) in after.items():
        rows_before, top_before = before.get(model, (0, 0))
        added = rows_after - rows_before
        if added <= 0:
            continue
        copy, columns = _empty_copy(model, foreign_keys=foreign_keys)
        plan.append((model, copy, columns, top_before, -(-added // batches), added))
    per_table = {m._meta.db_table: {"records": n, "seconds": 0.0} for m, *_, n in plan}
    cursors = {m: top for m, _, _, top, _, _ in plan}
    total, spent, cpu = 0, 0.0, 0.0
    group = _import_group() if connection.vendor == "sqlite" else 1
    marks, cpu_marks = [(0, 0.0)], [(0, 0.0)]  # (input rows, seconds / CPU seconds spent writing)
    for number in range(batches):
        chunk = []
        for model, copy, columns, _, size, _ in plan:
            cols = ", ".join(f'"{c}"' for c in columns)
            pk = model._meta.pk.column
            with connection.cursor() as cur:
                cur.execute(
                    f'SELECT {cols} FROM "{model._meta.db_table}" WHERE "{pk}" > %s ORDER BY "{pk}" LIMIT %s',
                    [cursors[model], size],
                )
                rows = [
                    tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in cur.fetchall()
                ]
            if rows:
                cursors[model] = rows[-1][columns.index(pk)]
                chunk.append((model, copy, cols, len(columns), rows))
        if not chunk:
            break
        started, cpu_started = time.perf_counter(), time.process_time()
        if connection.vendor == "sqlite":
            if not raw.in_transaction:
                raw.execute("BEGIN IMMEDIATE")
            for model, copy, cols, width, rows in chunk:
                t = time.perf_counter()
                raw.executemany(f'INSERT INTO "{copy}" ({cols}) VALUES ({", ".join("?" * width)})', rows)
                per_table[model._meta.db_table]["seconds"] += time.perf_counter() - t
            if (number + 1) % group == 0 or number + 1 == batches:
                raw.execute("COMMIT")
        else:
            with raw.transaction(), raw.cursor() as pg:
                for model, copy, cols, _, rows in chunk:
                    t = time.perf_counter()
                    with pg.copy(f'COPY "{copy}" ({cols}) FROM STDIN') as out:
                        for r in rows:
                            out.write_row(r)
                    per_table[model._meta.db_table]["seconds"] += time.perf_counter() - t
        spent += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        total += sum(len(c[-1]) for c in chunk)
        done = min(input_rows, (number + 1) * batch_size)
        marks.append((done, spent))
        cpu_marks.append((done, cpu))
    if connection.vendor == "sqlite" and raw.in_transaction:
        raw.execute("COMMIT")
    with connection.cursor() as cur:
        for _, copy, *_ in plan:
            cur.execute(f'DROP TABLE IF EXISTS "{copy}"')
    customers = per_table.get("customers_customer", {}).get("seconds") or None
    return {
        "records": total,
        "tables": per_table,
        "seconds": spent,
        "rate": input_rows / spent if spent else None,
        "cpu_seconds": cpu,
        "records_per_s": total / spent if spent else None,
        # The earlier, narrower limit: the archive rows alone (their inserts, without commits).
        "customers_only_rate": input_rows / customers if customers else None,
        "batches_a_commit": group,
        "first_100k": _window(marks, 0.0, 0, 100_000),
        "last_100k": _window(marks, 0.0, input_rows - 100_000, input_rows),
        "first_100k_cpu": _window(cpu_marks, 0.0, 0, 100_000),
        "last_100k_cpu": _window(cpu_marks, 0.0, input_rows - 100_000, input_rows),
    }


def _import_group() -> int:
    """Batches the import commits together on SQLite (pipeline._Importer._group_size)."""
    from insurdesk.exchange import pipeline

    value = os.environ.get("INSURDESK_IMPORT_GROUP", "").strip()
    return max(1, int(value)) if value.isdigit() else pipeline._GROUP


def main(argv=None) -> None:
    args = parse_args(argv)
    url = prepare_database(args.database_url)
    setup_django(url)
    from insurdesk.products.models import Product

    products = [
        {"name": p.name, "modes": p.payment_modes or ["annual"]}
        for p in Product.objects.filter(is_rider=False, is_group=False).order_by("code")
    ]
    OUT.mkdir(parents=True, exist_ok=True)
    from django.db import connection

    # One file per database: two runs side by side must not rewrite the file the other is reading.
    path = OUT / f"archive-{args.rows}-{connection.vendor}.csv"
    t = time.perf_counter()
    customers = generate(path, args.rows, args.seed, products)
    print(
        f"bench/import.py: {args.rows:,} rows ({customers:,} customers) in {path.name}, "
        f"{path.stat().st_size / 1e6:.0f} MB, written in {time.perf_counter() - t:.0f} s; {database_version()}; "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; {datetime.datetime.now():%Y-%m-%d %H:%M}",
        flush=True,
    )
    figures = {
        "rows": args.rows,
        "customers": customers,
        "database": database_version(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg()[0],
        "when": datetime.datetime.now().isoformat(timespec="minutes"),
    }
    if args.peer_rows:
        figures["peer"] = run_peer_apart(path, args.peer_rows, full=not args.peer_customers_only)
        print(
            f"django-import-export (defaults), first {args.peer_rows:,} rows: "
            f"{figures['peer']['rate']:,.0f} rows/s, {figures['peer']['cpu_rate']:,.0f} per CPU-second "
            f"({figures['peer']['written']:,} written, {figures['peer']['errors']} row errors)",
            flush=True,
        )
        same = figures["peer"].get("same_records")
        if same:
            print(
                f"django-import-export, the same records (customers, policies, payments): "
                f"{same['rate']:,.0f} rows/s, {same['cpu_rate']:,.0f} per CPU-second "
                f"({same['policies']:,} policies, {same['payments']:,} payments, {same['errors']} row errors)",
                flush=True,
            )
    before = table_marks()
    reset_peak()
    figures["import"] = run_import(path, args.batch_size)
    after = table_marks()
    figures["peak_mb"] = peak_mb()
    imp = figures["import"]
    # Only SQLite's writes are the importing process's own; PostgreSQL's server writes its files.
    written = (
        f"; written {imp['first_100k_kb_per_row'] or 0:.1f} and {imp['last_100k_kb_per_row'] or 0:.1f} KB a row"
        if connection.vendor == "sqlite"
        else ""
    )
    print(
        f"import (validation, encryption, history, audit): {imp['processed']:,} rows in {imp['seconds']:,.0f} s = "
        f"{imp['rate']:,.0f} rows/s (pre-pass {imp['prepass_seconds']:.0f} s); "
        f"first 100k {imp['first_100k'] or 0:,.0f}, last 100k "
        f"{imp['last_100k'] or 0:,.0f} rows/s (per CPU-second {imp['first_100k_cpu'] or 0:,.0f} and "
        f"{imp['last_100k_cpu'] or 0:,.0f}{written}); created {imp['created']:,}, merged {imp['merged']:,}, "
        f"refused {imp['refused']:,}; peak memory {figures['peak_mb']:.0f} MB "
        f"(reader process {imp['reader_peak_mb'] or 0:.0f} MB); "
        f"CPU {imp['cpu_seconds']:,.0f} s = {imp['cpu_rate']:,.0f} rows per CPU-second",
        flush=True,
    )
    if not args.skip_limit:
        figures["limit"] = run_limit(args.rows, args.batch_size, before, after)
        lim = figures["limit"]
        print(
            f"limit (plain bulk SQL of the {lim['records']:,} records the import wrote, "
            f"{len(lim['tables'])} tables): {lim['seconds']:.1f} s = "
            f"{lim['rate']:,.0f} input rows/s ({lim['records_per_s']:,.0f} records/s); "
            f"archive rows alone {lim['customers_only_rate'] or 0:,.0f} input rows/s; "
            f"first 100k {lim['first_100k'] or 0:,.0f}, last 100k {lim['last_100k'] or 0:,.0f} input rows/s "
            f"(per CPU-second {lim['first_100k_cpu'] or 0:,.0f} and {lim['last_100k_cpu'] or 0:,.0f}); "
            f"{lim['batches_a_commit']} batches a commit"
        )
        if lim["first_100k"] and lim["last_100k"] and imp["first_100k"] and imp["last_100k"]:
            figures["ratio_to_limit_first_100k"] = imp["first_100k"] / lim["first_100k"]
            figures["ratio_to_limit_last_100k"] = imp["last_100k"] / lim["last_100k"]
            print(
                f"import / limit, first 100k rows {figures['ratio_to_limit_first_100k']:.3f}, "
                f"last 100k rows {figures['ratio_to_limit_last_100k']:.3f}"
            )
        for table, t in sorted(lim["tables"].items(), key=lambda kv: -kv[1]["seconds"]):
            print(f"    {table:<40} {t['records']:>10,} records  {t['seconds']:7.1f} s")
        figures["ratio_to_limit"] = imp["rate"] / lim["rate"]
        print(f"import / limit = {figures['ratio_to_limit']:.3f}")
        from django.db import connection

        if connection.vendor == "postgresql":
            # The limit as measured until 2026-12-06: copies without the tables' foreign keys.
            bare = figures["limit_without_foreign_keys"] = run_limit(
                args.rows, args.batch_size, before, after, foreign_keys=False
            )
            figures["ratio_to_limit_without_foreign_keys"] = imp["rate"] / bare["rate"]
            print(
                f"limit without the foreign keys (as before 2026-12-06): {bare['seconds']:.1f} s = "
                f"{bare['rate']:,.0f} input rows/s; import / that limit = "
                f"{figures['ratio_to_limit_without_foreign_keys']:.3f}"
            )
    if args.peer_rows:
        figures["ratio_to_peer_first_10k"] = (imp["first_10k"] or 0) / figures["peer"]["rate"]
        print(f"import (first 10k rows) / django-import-export = {figures['ratio_to_peer_first_10k']:.1f}x")
        same = figures["peer"].get("same_records")
        if same:
            figures["ratio_to_peer_same_records"] = (imp["first_10k"] or 0) / same["rate"]
            print(
                "import (first 10k rows) / django-import-export writing the same records = "
                f"{figures['ratio_to_peer_same_records']:.1f}x"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
