"""Break each protected rule on purpose, one line at a time, and check that the suite notices.

    .venv/bin/python bench/mutants.py            # every mutant (make mutants); exit 1 if one survives
    .venv/bin/python bench/mutants.py --list     # the list, without running anything
    .venv/bin/python bench/mutants.py audit-actor-name masking-export-address   # some of them

Each mutant below changes one line of a rule that keeps data safe or right (masking, scope, the audit
chain, the blind second entry, identity checks, retention, money invariants) — the actor_name mutant
changes the one line on each of the chain's two hashing paths, as a careless refactoring would. The
tool applies it, runs only the tests that guard that rule (so the whole run takes minutes, not the
suite's quarter of an hour), restores the file byte for byte, and reports whether the tests failed
("killed") or passed ("SURVIVED": a green run that proves nothing about the rule). Every mutant on
the list must be killed. docs/testing.md says how to add one when a rule is added.

A mutant whose original text is no longer in its file fails the run: the rule moved, so its mutant
must move with it. The files are restored even if the run is interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
TIMEOUT = 900  # seconds per mutant's tests: a hang counts as killed only if the tests say so


@dataclass(frozen=True)
class Edit:
    path: str  # relative to the repository
    old: str  # must occur exactly once in the file (a line, with enough context to be unique)
    new: str


@dataclass(frozen=True)
class Mutant:
    id: str
    rule: str
    edits: tuple[Edit, ...]
    tests: tuple[str, ...]  # pytest arguments: files, node ids, -k expressions


def m(id: str, rule: str, path: str, old: str, new: str, *tests: str) -> Mutant:
    return Mutant(id, rule, (Edit(path, old, new),), tests)


MUTANTS: list[Mutant] = [
    # ---------------------------------------------------------------- masking
    # Of the roles that see masks only the manager may export (exchange.export): export mutants run it.
    m(
        "masking-declaration-address",
        "masking: the residence address has a masker",
        "insurdesk/customers/selectors.py",
        '    "residence_address": masking.mask_address,\n',
        '    "residence_address": lambda v: v,\n',
        "tests/test_masking_everywhere.py", "-k", "manager",
    ),
    m(
        "masking-export-address",
        "masking: the customer export masks the residence address",
        "insurdesk/exchange/exporters.py",
        '                shown(viewer, "residence_address", c.residence_address),\n',
        "                c.residence_address,\n",
        "tests/test_masking_everywhere.py", "-k", "manager",
    ),
    m(
        "masking-export-landline",
        "masking: the customer export masks the landline",
        "insurdesk/exchange/exporters.py",
        '                shown(viewer, "landline", c.landline),\n',
        "                c.landline,\n",
        "tests/test_masking_everywhere.py", "-k", "manager",
    ),
    m(
        "masking-export-email",
        "masking: the customer export masks the email",
        "insurdesk/exchange/exporters.py",
        '                shown(viewer, "email", c.email),\n',
        "                c.email,\n",
        "tests/test_masking_everywhere.py", "-k", "manager",
    ),
    m(
        "masking-application-health",
        "masking: the application page masks health details",
        "insurdesk/applications/views.py",
        '"health_details": shown(viewer, "health_notes", app.health_details),',
        '"health_details": app.health_details,',
        "tests/test_masking_everywhere.py", "-k", "manager",
    ),
    m(
        "masking-shown-bypass",
        "masking: shown() masks for roles without customer.see_sensitive",
        "insurdesk/customers/selectors.py",
        '    if value in (None, "") or sees_sensitive(viewer) or field not in MASKERS:\n',
        '    if value in (None, "") or True or field not in MASKERS:\n',
        "tests/test_masking_everywhere.py", "-k", "manager",
    ),
    m(
        "masking-address-function",
        "masking: an address keeps only its first 6 characters",
        "insurdesk/common/masking.py",
        '    return value[:6] + "****"\n',
        '    return value[:60] + "****"\n',
        "insurdesk/common/tests/test_masking.py", "tests/test_masking_everywhere.py",
        "-k", "address or manager",
    ),
    m(
        "masking-policy-grant",
        "masking: customer service does not see sensitive data",
        "insurdesk/org/policy.py",
        '    "customer.see_sensitive": frozenset({"clerk", "reviewer",',
        '    "customer.see_sensitive": frozenset({"cs", "clerk", "reviewer",',
        "tests/test_access_matrix.py", "-k", "action",
    ),
    # ---------------------------------------------------------------- scope
    m(
        "scope-agent-own-customers",
        "scope: an agent sees only its own customers",
        "insurdesk/customers/selectors.py",
        "        return qs.filter(agent_id=viewer.pk)\n",
        "        return qs\n",
        "tests/test_access_matrix.py", "-k", "own_record and customers",
    ),
    m(
        "scope-unit-subtree",
        "scope: a user sees only its unit's subtree",
        "insurdesk/customers/selectors.py",
        "    return qs if ids is None else qs.filter(unit_id__in=ids)\n",
        "    return qs\n",
        "tests/test_access_matrix.py", "-k", "own_record and customers",
    ),
    m(
        "scope-policy-grant",
        "scope: only compliance and admin read the audit log",
        "insurdesk/org/policy.py",
        '    "audit.view": frozenset({"compliance", "admin"}),\n',
        '    "audit.view": frozenset({"compliance", "admin", "manager"}),\n',
        "tests/test_access_matrix.py", "-k", "grants",
    ),
    # ---------------------------------------------------------------- audit chain
    Mutant(
        "audit-actor-name",
        "audit chain: the hash covers who acted (actor_name), on both hashing paths",
        (
            Edit(
                "insurdesk/audit/services.py",
                "        actor_name,\n        action,\n",
                "        action,\n",
            ),
            Edit(
                "insurdesk/audit/services.py",
                "        start = _ENCODER.encode([seq, at_text, who[0], who[1], p.action, ttype, tid])\n",
                "        start = _ENCODER.encode([seq, at_text, who[0], p.action, ttype, tid])\n",
            ),
        ),
        ("insurdesk/audit/tests",),
    ),
    m(
        "audit-verify-hash",
        "audit chain: verify recomputes every entry's hash",
        "insurdesk/audit/services.py",
        "        if entry_hash(prev, **fields) != e.hash:\n",
        "        if False:\n",
        "insurdesk/audit/tests",
    ),
    m(
        "audit-verify-head",
        "audit chain: verify compares the last hash with the head",
        "insurdesk/audit/services.py",
        "    if head_hash != prev:\n",
        "    if False:\n",
        "insurdesk/audit/tests",
    ),
    # ---------------------------------------------------------------- blind second entry
    m(
        "blind-second-entry",
        "double entry: before second entry only the first clerk sees the key fields",
        "insurdesk/applications/selectors.py",
        "    return app.state != State.SECOND_ENTRY"
        " or (viewer is not None and viewer.pk == app.first_entry_by_id)"
        "\n",
        "    return True\n",
        "insurdesk/applications/tests/test_api.py", "-k", "hidden or second_entry",
    ),
    # ---------------------------------------------------------------- identity checks
    m(
        "identity-checksum",
        "identity: a resident ID's check digit (GB 11643) is verified",
        "insurdesk/identity/resident_id.py",
        "    if _CHECK_CHARS[(2 * int(first17, 13)) % 11] != last:\n",
        "    if False:\n",
        "insurdesk/identity/tests/test_resident_id.py",
    ),
    m(
        "identity-expired-blocks",
        "identity: an expired document blocks entry, underwriting and issue",
        "insurdesk/applications/selectors.py",
        "        if reason:\n            errors.append(FieldError(field, \"id_expired\"",
        "        if False:\n            errors.append(FieldError(field, \"id_expired\"",
        "tests/test_expired_identity_blocks_new_business.py",
    ),
    m(
        "identity-expiry-predicate",
        "identity: a document past its validity is expired",
        "insurdesk/compliance/selectors.py",
        "        if customer.id_valid_to and not customer.id_long_term and customer.id_valid_to < limit:\n",
        "        if customer.id_valid_to and not customer.id_long_term"
        " and customer.id_valid_to < limit - timedelta(days=3650):\n",
        "insurdesk/compliance/tests/test_queues.py", "-k", "expired",
    ),
    # ---------------------------------------------------------------- retention
    m(
        "retention-aml-years",
        "retention: customer identity data is kept 10 years (AML law)",
        "insurdesk/lifecycle/rules.py",
        '        code="aml_identity",\n        label="客户身份资料",\n'
        '        records="个人及单位客户的身份资料：证件、联系方式、职业、受益所有人、反洗钱信息",\n'
        '        anchor="业务关系结束之日",\n        years=10,\n',
        '        code="aml_identity",\n        label="客户身份资料",\n'
        '        records="个人及单位客户的身份资料：证件、联系方式、职业、受益所有人、反洗钱信息",\n'
        '        anchor="业务关系结束之日",\n        years=5,\n',
        "insurdesk/lifecycle/tests/test_rules.py",
    ),
    m(
        "retention-due-day",
        "retention: a record is due for destruction only after its last day",
        "insurdesk/lifecycle/selectors.py",
        "        return not self.destroyed and self.ends_on is not None and self.ends_on < self.today\n",
        "        return not self.destroyed and self.ends_on is not None and self.ends_on <= self.today\n",
        "insurdesk/lifecycle/tests/test_destruction.py", "-k", "period",
    ),
    # ---------------------------------------------------------------- money invariants
    m(
        "money-total-equals-lines",
        "money: an application's premium total equals the sum of its lines to the cent",
        "insurdesk/applications/calculations.py",
        "    return money(total) == premium_total(premiums)\n",
        "    return abs(money(total) - premium_total(premiums)) <= 1\n",
        "insurdesk/applications/tests/test_calculations.py",
    ),
]  # fmt: skip


_ORIGINALS: dict[Path, bytes] = {}


def _restore() -> None:
    for path, data in _ORIGINALS.items():
        path.write_bytes(data)
    _ORIGINALS.clear()


def _apply(mutant: Mutant) -> None:
    for edit in mutant.edits:
        path = ROOT / edit.path
        if path not in _ORIGINALS:
            _ORIGINALS[path] = path.read_bytes()
        text = path.read_text(encoding="utf-8")
        count = text.count(edit.old)
        if count != 1:
            raise SystemExit(
                f"mutant {mutant.id}: its original text occurs {count} times in {edit.path} (must be once); "
                "the rule moved or changed: update its entry in bench/mutants.py"
            )
        path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")


def run(mutant: Mutant, env: dict) -> tuple[str, float, str]:
    """Apply, test, restore; return (verdict, seconds, last lines of the test output)."""
    started = time.monotonic()
    try:
        _apply(mutant)
        try:
            proc = subprocess.run(
                [str(PYTHON), "-m", "pytest", "-x", "-q", "-o", "addopts=", "-p", "no:cacheprovider",
                 *mutant.tests],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return "TIMEOUT", time.monotonic() - started, ""
    finally:
        _restore()
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
    # pytest exits 1 when a test failed; anything else (no test selected, a usage or collection error)
    # says nothing about the rule and is reported as such.
    verdict = {0: "SURVIVED", 1: "killed", 5: "NO TESTS"}.get(proc.returncode, f"ERROR {proc.returncode}")
    return verdict, time.monotonic() - started, tail


def baseline(mutant: Mutant, env: dict) -> bool:
    """Tell whether the mutant's tests pass on the unchanged code (else 'killed' would mean nothing)."""
    proc = subprocess.run(
        [str(PYTHON), "-m", "pytest", "-x", "-q", "-o", "addopts=", "-p", "no:cacheprovider", *mutant.tests],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    return proc.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ids", nargs="*", help="run only these mutants")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument(
        "--baseline", action="store_true", help="first check each mutant's tests pass on the unchanged code"
    )
    args = parser.parse_args()
    chosen = [x for x in MUTANTS if not args.ids or x.id in args.ids]
    unknown = set(args.ids) - {x.id for x in MUTANTS}
    if unknown:
        print(f"unknown mutants: {sorted(unknown)}", file=sys.stderr)
        return 2
    if args.list:
        for x in chosen:
            print(f"{x.id:30} {x.rule}")
        return 0
    ids = [x.id for x in MUTANTS]
    assert len(ids) == len(set(ids)), "two mutants share an id"
    signal.signal(signal.SIGTERM, lambda *_: (_restore(), sys.exit(143)))
    env = {**os.environ, "DATABASE_URL": os.environ.get("MUTANTS_DATABASE_URL", "")}
    results = []
    if args.baseline:
        passed: dict[tuple, bool] = {}
        for x in chosen:
            if x.tests not in passed:
                passed[x.tests] = baseline(x, env)
        failing = sorted({" ".join(t) for t, ok in passed.items() if not ok})
        if failing:
            print("tests failing without any mutant (fix them first):\n  " + "\n  ".join(failing))
            return 1
    try:
        for x in chosen:
            verdict, seconds, tail = run(x, env)
            results.append((x, verdict))
            print(f"{verdict:9} {seconds:6.0f}s  {x.id:30} {x.rule}", flush=True)
            if verdict != "killed" and tail:
                print("          " + tail.replace("\n", "\n          "), flush=True)
    finally:
        _restore()
    survivors = [x.id for x, verdict in results if verdict != "killed"]
    print(f"\n{len(results) - len(survivors)} of {len(results)} mutants killed", end="")
    print(f"; not killed: {', '.join(survivors)}" if survivors else "")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
