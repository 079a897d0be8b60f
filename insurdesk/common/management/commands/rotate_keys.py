"""Re-encrypt stored values under the newest key of INSURDESK_FIELD_KEYS."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connections, models, router, transaction
from django.db.models.functions import Substr

from insurdesk.common.crypto import DecryptionError, decrypt, encrypt, get_keyring, key_id_of
from insurdesk.common.fields import EncryptedTextField


@dataclass
class _Tally:
    label: str
    old_keys: Counter = field(default_factory=Counter)
    rotated: int = 0
    changed_meanwhile: int = 0
    failures: list[str] = field(default_factory=list)


def encrypted_columns() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Return every (model, field) whose table holds an encrypted column, historical models included."""
    found = []
    seen: set[tuple[str, str]] = set()
    for model in apps.get_models():
        opts = model._meta
        if opts.proxy or not opts.managed:
            continue
        for f in opts.local_concrete_fields:
            if isinstance(f, EncryptedTextField) and (opts.db_table, f.column) not in seen:
                seen.add((opts.db_table, f.column))
                found.append((model, f))
    return found


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted value whose key is not the first (primary) key of "
        "INSURDESK_FIELD_KEYS. Safe to stop and run again: each batch commits on its own and rows "
        "already under the primary key are skipped. Keep the old keys in the ring until it reports 0."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction (default 500)")
        parser.add_argument("--dry-run", action="store_true", help="count and test-decrypt, write nothing")

    def handle(self, *args, batch_size: int, dry_run: bool, verbosity: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        primary = get_keyring().primary_id
        tallies = [
            self._rotate(
                model, f, primary=primary, batch_size=batch_size, dry_run=dry_run, verbosity=verbosity
            )
            for model, f in encrypted_columns()
        ]

        total = sum(t.rotated for t in tallies)
        touched = len({t.label.rsplit(".", 1)[0] for t in tallies if t.rotated})
        failures = [msg for t in tallies for msg in t.failures]
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        self.stdout.write(
            f"{'Dry run: ' if dry_run else ''}{verb} {total} value(s) in {touched} model(s) "
            f"under key {primary!r}; {len(tallies)} encrypted column(s) checked."
        )
        changed = sum(t.changed_meanwhile for t in tallies)
        if changed:
            self.stdout.write(
                f"{changed} value(s) were rewritten by others meanwhile; run again to check them."
            )
        if failures:
            for msg in failures[:20]:
                self.stderr.write(msg)
            raise CommandError(
                f"{len(failures)} value(s) could not be decrypted and were left as they are; "
                "put their keys back in INSURDESK_FIELD_KEYS or repair the rows, then run again."
            )

    def _rotate(self, model, f, *, primary: str, batch_size: int, dry_run: bool, verbosity: int) -> _Tally:
        tally = _Tally(label=f"{model._meta.label}.{f.name}")
        db = router.db_for_write(model)
        connection = connections[db]
        kid = primary.encode("ascii")
        primary_prefix = bytes([1, len(kid)]) + kid
        # Wrapping the column in a plain BinaryField skips from_db_value: the raw blob, not its text.
        raw = models.ExpressionWrapper(models.F(f.attname), output_field=models.BinaryField())
        head = Substr(models.F(f.attname), 1, len(primary_prefix), output_field=models.BinaryField())
        pending = (
            model._base_manager.using(db)
            .filter(**{f"{f.attname}__isnull": False})
            .alias(_head=head)
            .exclude(_head=primary_prefix)
            .annotate(_raw=raw)
            .order_by("pk")
        )
        qn = connection.ops.quote_name
        pk_field = model._meta.pk
        # Compare-and-set on the old blob: a value saved by someone else since the read is newer
        # than the one re-encrypted here and must not be overwritten with it.
        update_sql = (
            f"UPDATE {qn(model._meta.db_table)} SET {qn(f.column)} = %s "
            f"WHERE {qn(pk_field.column)} = %s AND {qn(f.column)} = %s"
        )
        aad = f.aad
        last_pk = None
        while True:
            page = pending if last_pk is None else pending.filter(pk__gt=last_pk)
            with transaction.atomic(using=db):
                rows = list(page.values_list("pk", "_raw")[:batch_size])
                params = []
                for pk, blob in rows:
                    blob = bytes(blob)
                    plaintext = self._decrypt_old(blob, aad, primary, pk, tally)
                    if plaintext is not None:
                        params.append(
                            (encrypt(plaintext, aad=aad), pk_field.get_db_prep_value(pk, connection), blob)
                        )
                if params and not dry_run:
                    with connection.cursor() as cursor:
                        cursor.executemany(update_sql, params)
                        updated = cursor.rowcount
                    tally.rotated += updated
                    tally.changed_meanwhile += len(params) - updated
                elif params:
                    tally.rotated += len(params)
            if not rows:
                break
            last_pk = rows[-1][0]
            if verbosity >= 2:
                self.stdout.write(f"  {tally.label}: up to pk {last_pk}")

        old = ", ".join(f"{k}: {n}" for k, n in sorted(tally.old_keys.items())) or "none"
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        line = f"{tally.label}: {verb} {tally.rotated} (old keys {old})"
        if tally.failures:
            line += f", {len(tally.failures)} undecryptable"
        self.stdout.write(line)
        return tally

    @staticmethod
    def _decrypt_old(blob: bytes, aad: str, primary: str, pk, tally: _Tally) -> str | None:
        """Return the text of a blob under an old key, None when it needs nothing or cannot be read."""
        try:
            old_kid = key_id_of(blob)
            if old_kid == primary:
                return None
            plaintext = decrypt(blob, aad=aad)
        except DecryptionError as exc:
            tally.failures.append(f"{tally.label} pk={pk}: {exc}")
            return None
        tally.old_keys[old_kid] += 1
        return plaintext
