"""`insurdesk compliance check [--check CODE ...]`: run the compliance checks (合规检查) on every archive."""

from django.core.management.base import BaseCommand, CommandError

from insurdesk.common.cli import command_error
from insurdesk.common.errors import DomainError
from insurdesk.compliance.checks import CHECKS
from insurdesk.compliance.services import compliance_check_run
from insurdesk.org.models import User


class Command(BaseCommand):
    help = "Compliance checks (合规检查): `compliance check` opens findings and rectification tasks."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        check = sub.add_parser(
            "check", help="run the declared checks; re-running never duplicates open findings"
        )
        check.add_argument(
            "--check",
            action="append",
            dest="codes",
            choices=[c.code for c in CHECKS],
            help="one check (repeatable); default: all",
        )
        check.add_argument(
            "--actor", default=None, help="username of the compliance officer (default: the system)"
        )

    def handle(self, *args, sub, codes, actor, **opts):
        user = None
        if actor:
            user = User.objects.filter(username=actor, is_active=True).first()
            if user is None:
                raise CommandError(f"error not_found: actor: 用户 {actor} 不存在或已停用", returncode=2)

        def progress(done, total, label):
            if label:
                self.stderr.write(f"[{done + 1}/{total}] {label} …")

        try:
            run = compliance_check_run(actor=user, codes=codes, progress=progress)
        except DomainError as exc:
            raise command_error(exc) from exc
        labels = {c.code: c.label for c in CHECKS}
        for code, c in run.counts.items():
            self.stdout.write(
                f"{code:<22} {labels[code]}: found {c['found']}, new {c['new']}, "
                f"closed {c['closed']}, reopened {c['reopened']}"
            )
        seconds = (run.finished_at - run.started_at).total_seconds()
        self.stdout.write(f"ok: run {run.pk} in {seconds:.1f} s")
