from django.core.management.base import BaseCommand, CommandError

from insurdesk.audit.services import audit_verify


class Command(BaseCommand):
    help = "The tamper-evident log: `audit verify` checks the whole hash chain."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        sub.add_parser("verify", help="report the first entry altered, removed or inserted")

    def handle(self, *args, sub, **opts):
        result = audit_verify()
        if result.ok:
            self.stdout.write(f"ok: {result.checked} entries, chain intact")
            return
        raise CommandError(
            f"error chain: entry {result.first_bad_seq}: {result.problem} "
            f"({result.checked} entries intact before it)"
        )
