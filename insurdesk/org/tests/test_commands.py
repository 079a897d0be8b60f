import io
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from insurdesk.org.models import OrgUnit, User

pytestmark = pytest.mark.django_db


def test_addunit_builds_the_tree_under_the_root():
    call_command("addunit", "HQ", "总公司", stdout=io.StringIO())
    call_command("addunit", "GD", "广东省分公司", stdout=io.StringIO())
    call_command("addunit", "SZ", "深圳分公司", "--parent", "GD", stdout=io.StringIO())
    sz = OrgUnit.objects.get(code="SZ")
    assert sz.parent.code == "GD" and sz.parent.parent.code == "HQ"
    assert sz.level == "branch"


def test_addunit_refuses_unknown_parent_and_duplicates():
    call_command("addunit", "HQ", "总公司", stdout=io.StringIO())
    with pytest.raises(CommandError, match="not_found"):
        call_command("addunit", "X", "某机构", "--parent", "NOPE")
    with pytest.raises(CommandError, match="duplicate"):
        call_command("addunit", "HQ", "又一个总公司")


def test_adduser_reads_the_password_from_stdin(monkeypatch):
    call_command("addunit", "HQ", "总公司", stdout=io.StringIO())
    monkeypatch.setattr(sys, "stdin", io.StringIO("S3cret-pass\n"))
    call_command("adduser", "li", "--role", "clerk", "--password-stdin", stdout=io.StringIO())
    user = User.objects.get(username="li")
    assert user.unit.code == "HQ" and user.role == "clerk"
    assert user.check_password("S3cret-pass")
    assert user.password.startswith("argon2")


def test_adduser_refuses_an_unknown_unit(monkeypatch):
    call_command("addunit", "HQ", "总公司", stdout=io.StringIO())
    monkeypatch.setattr(sys, "stdin", io.StringIO("S3cret-pass\n"))
    with pytest.raises(CommandError, match="not_found"):
        call_command("adduser", "li", "--role", "clerk", "--unit", "NOPE", "--password-stdin")


def test_console_command_runs_management_commands():
    out = subprocess.run(
        [sys.executable, "-m", "insurdesk.cli", "help", "adduser"], capture_output=True, text=True, check=True
    )
    assert "--password-stdin" in out.stdout
