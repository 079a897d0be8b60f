"""`insurdesk aml rate [--all | --customer KH...]`: AML risk rating by the declared rules."""

from django.core.management.base import BaseCommand, CommandError

from insurdesk.common.cli import command_error
from insurdesk.common.errors import DomainError
from insurdesk.compliance.management.progress import Progress
from insurdesk.compliance.selectors import normalise_archive_no
from insurdesk.compliance.services import aml_rate_many
from insurdesk.customers.models import Customer
from insurdesk.org.models import User


class Command(BaseCommand):
    help = "AML risk rating (反洗钱风险评级): `aml rate --all` or `aml rate --customer KH0000000001 ...`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        rate = sub.add_parser(
            "rate", help="rate customers by insurdesk/compliance/rules.py; keep every reason"
        )
        which = rate.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help="every archive")
        which.add_argument("--customer", nargs="+", metavar="KH", help="archive numbers (客户号)")
        rate.add_argument(
            "--actor", default=None, help="username of the compliance officer (default: the system)"
        )
        rate.add_argument("--batch", type=int, default=500, help="customers read per batch (default 500)")

    def handle(self, *args, sub, all, customer, actor, batch, **opts):
        user = None
        if actor:
            user = User.objects.filter(username=actor, is_active=True).first()
            if user is None:
                raise CommandError(f"error not_found: actor: 用户 {actor} 不存在或已停用", returncode=2)
        ids = None
        if customer:
            numbers = [normalise_archive_no(n) for n in customer]
            found = dict(Customer.objects.filter(archive_no__in=numbers).values_list("archive_no", "pk"))
            missing = [n for n in numbers if n not in found]
            if missing:
                raise CommandError(
                    f"error not_found: customer: 客户号不存在：{'、'.join(missing)}", returncode=2
                )
            ids = list(found.values())
        if batch < 1:
            raise CommandError("error range: batch: --batch 至少为 1", returncode=2)
        # The raw stream: Django's OutputWrapper would end every "\r" update with a newline.
        bar = Progress("aml rate", 0, stream=self.stderr._out)
        try:
            summary = aml_rate_many(actor=user, customer_ids=ids, batch=batch, progress=bar.update)
        except DomainError as exc:
            raise command_error(exc) from exc
        seconds = bar.finish()
        rate = summary.rated / seconds if seconds > 0 else 0.0
        levels = "，".join(
            f"{label} {summary.levels.get(key, 0)}"
            for key, label in (("high", "高"), ("medium", "中"), ("low", "低"))
        )
        self.stdout.write(
            f"rated {summary.rated} customers in {seconds:.1f} s ({rate:,.0f} rows/s): {levels}; "
            f"{summary.level_changes} 个等级变化，{summary.assessed} 条新评级记录"
        )
