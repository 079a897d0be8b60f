"""`insurdesk policies lapse-check | mature-check` — the daily premium and policy checks."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from insurdesk.common.cli import command_error
from insurdesk.common.errors import DomainError
from insurdesk.policies.services import policies_lapse_check, policies_mature_check


def _day(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"error format: --today: 日期应为 YYYY-MM-DD，不是 {value!r}", returncode=2
        ) from None


class Command(BaseCommand):
    help = (
        "Daily checks of policies: `lapse-check` marks premiums past due as overdue and suspends policies "
        "whose grace period has ended (保险法 §36); `mature-check` ends policies past their expiry (满期)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        for name, text in (
            ("lapse-check", "mark overdue premiums and lapse policies past their grace period"),
            ("mature-check", "end the policies whose cover has expired"),
        ):
            p = sub.add_parser(name, help=text)
            p.add_argument("--today", type=_day, default=None, help="the day to check as (default: today)")

    def handle(self, *args, sub, today=None, **opts):
        try:
            if sub == "lapse-check":
                result = policies_lapse_check(actor=None, today=today)
                self.stdout.write(
                    f"ok: {result.marked_overdue} premiums marked overdue, "
                    f"{len(result.lapsed)} policies lapsed"
                )
                for number in result.lapsed:
                    self.stdout.write(f"lapsed {number}")
            else:
                ended = policies_mature_check(actor=None, today=today)
                self.stdout.write(f"ok: {len(ended)} policies matured")
                for number in ended:
                    self.stdout.write(f"matured {number}")
        except DomainError as exc:
            raise command_error(exc) from exc
