from django.core.management.base import BaseCommand, CommandError

from insurdesk.audit.services import AnchorError, audit_anchor, audit_check_anchors, audit_verify


class Command(BaseCommand):
    help = (
        "The tamper-evident log: `audit verify` checks the whole hash chain, its signed head and the "
        "anchors; `audit anchor` appends the signed head to the anchor file."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        sub.add_parser("verify", help="report the first entry altered, removed or inserted, and a cut tail")
        sub.add_parser("anchor", help="append the signed chain head to the append-only anchor file")

    def handle(self, *args, sub, **opts):
        if sub == "anchor":
            try:
                anchor = audit_anchor()
            except AnchorError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"anchored: entry {anchor.seq} {anchor.hash[:16]}… at {anchor.at}")
            return
        result = audit_verify()
        if not result.ok:
            raise CommandError(
                f"error chain: entry {result.first_bad_seq}: {result.problem} "
                f"({result.checked} entries intact before it)"
            )
        anchors = audit_check_anchors()
        if not anchors.ok:
            raise CommandError("error anchors: " + "; ".join(anchors.problems))
        self.stdout.write(
            f"ok: {result.checked} entries, chain intact, head signed, {anchors.anchors} anchors hold"
        )
