from django.core.management.base import BaseCommand

from insurdesk.common.cli import command_error
from insurdesk.common.errors import DomainError
from insurdesk.org.services import unit_create


class Command(BaseCommand):
    help = "Create an org unit (机构): addunit CODE NAME [--parent CODE]; the parent defaults to the root."

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("name")
        parser.add_argument("--parent", default=None, help="parent unit code (default: the root unit)")
        parser.add_argument("--level", default=None, choices=["head", "province", "branch", "sub"])

    def handle(self, *args, code, name, parent, level, **opts):
        try:
            unit = unit_create(actor=None, code=code, name=name, parent_code=parent, level=level)
        except DomainError as exc:
            raise command_error(exc) from exc
        self.stdout.write(
            f"created unit {unit.code} {unit.name} (parent: {unit.parent.code if unit.parent else '-'})"
        )
