import getpass
import sys

from django.core.management.base import BaseCommand, CommandError

from insurdesk.common.cli import command_error
from insurdesk.common.errors import DomainError
from insurdesk.org.models import Role
from insurdesk.org.services import user_create


class Command(BaseCommand):
    help = "Create a user: adduser USERNAME --role ROLE [--unit CODE] [--password-stdin]."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--unit", default=None, help="unit code (default: the root unit)")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )
        parser.add_argument("--name", default="", help="full name (姓名)")
        parser.add_argument("--email", default="")

    def handle(self, *args, username, role, unit, password_stdin, name, email, **opts):
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        elif sys.stdin.isatty():
            password = getpass.getpass("Password: ")
        else:
            password = None
        if password is not None and len(password) < 8:
            raise CommandError("error password: password: 密码至少 8 位", returncode=2)
        try:
            user = user_create(
                actor=None,
                username=username,
                role=role,
                unit_code=unit,
                password=password,
                full_name=name,
                email=email,
            )
        except DomainError as exc:
            raise command_error(exc) from exc
        self.stdout.write(f"created user {user.username} role={user.role} unit={user.unit.code}")
