"""`insurdesk backup PATH`: an encrypted snapshot of the database and the files, safe while in use."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from insurdesk.lifecycle.archive import BackupError
from insurdesk.lifecycle.backup import create_backup


class Command(BaseCommand):
    help = (
        "Write one encrypted file (AES-256-GCM under INSURDESK_BACKUP_KEY) with a consistent snapshot of the "
        "database and every file under DATA_DIR/files, and a manifest of SHA-256 checksums. PATH is a new "
        "file, or a directory to create insurdesk-YYYYMMDD-HHMMSS.idbk in. The field keys are not in the "
        "backup: keep them, and the backup key, somewhere else."
    )

    # Checks load every URL and app; a backup at night should not depend on them.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("path", help="the backup file to create, or a directory")

    def handle(self, *args, path: str, verbosity: int, **options):
        log = self.stdout.write if verbosity > 1 else (lambda s: None)
        try:
            manifest = create_backup(Path(path), log=log)
        except BackupError as exc:
            raise CommandError(f"error backup: {exc}") from None
        members = manifest["members"]
        size = sum(m["size"] for m in members)
        self.stdout.write(
            f"ok: {manifest['path']} — database ({manifest['database']['vendor']}, "
            f"{sum(manifest['database']['tables'].values())} rows) and {manifest['files']['count']} file(s), "
            f"{len(members)} members, {size} bytes before encryption"
        )
        if manifest["files"]["skipped"]:
            self.stderr.write(f"skipped (not regular files): {', '.join(manifest['files']['skipped'][:20])}")
