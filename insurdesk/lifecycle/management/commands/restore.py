"""`insurdesk restore PATH [--yes]`: verify a backup completely, then replace the database and files."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from insurdesk.lifecycle.archive import BackupError
from insurdesk.lifecycle.backup import restore_backup


class Command(BaseCommand):
    help = (
        "Check every chunk and every member checksum of the backup, and that its field keys, index key and "
        "migrations fit this installation; then, after confirmation, replace the database and DATA_DIR/files "
        "with the backup's. Stop the application servers first. --check verifies without restoring."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("path", help="the backup file")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        parser.add_argument("--check", action="store_true", help="only verify the backup; change nothing")

    def handle(self, *args, path: str, yes: bool, check: bool, verbosity: int, **options):
        def confirm(manifest, notes) -> bool:
            if yes:
                return True
            if not sys.stdin.isatty():
                raise CommandError("error restore: refusing to replace the database without --yes")
            self.stdout.write(
                f"This replaces the {manifest['database']['vendor']} database and every file under "
                f"DATA_DIR/files with the backup of {manifest['created_at']} ({manifest['host']})."
            )
            return input("Type yes to restore: ").strip().lower() == "yes"

        try:
            report = restore_backup(Path(path), confirm=confirm, log=self.stdout.write, check_only=check)
        except BackupError as exc:
            raise CommandError(f"error restore: {exc}") from None
        if report is None:
            self.stdout.write("ok: backup verified; nothing restored" if check else "not restored")
            return
        for note in report.notes:
            self.stdout.write(f"note: {note}")
        if not report.counts_ok:
            raise CommandError(
                "error restore: row counts differ from the backup: "
                + "; ".join(report.count_differences[:10])
            )
        if not report.audit_ok:
            raise CommandError(f"error restore: the audit chain does not verify: {report.audit_problem}")
        self.stdout.write(
            f"ok: restored {sum(report.manifest['database']['tables'].values())} rows and "
            f"{report.manifest['files']['count']} file(s); audit chain intact "
            f"({report.audit_checked} entries)"
        )
