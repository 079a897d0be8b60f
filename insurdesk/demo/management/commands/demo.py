"""`insurdesk demo`: load the demo org tree, logins and archives into an empty database; print the logins."""

import time
import unicodedata

from django.core.management.base import BaseCommand, CommandError

from insurdesk.demo.data import (
    DEFAULT_CUSTOMERS,
    DEFAULT_PASSWORD,
    SEED,
    DemoConflict,
    demo_loaded,
    demo_logins,
    load_demo,
    password_works,
)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def login_table(rows: list[dict], password: str) -> str:
    """Return the logins as an aligned text table (Chinese characters count two columns)."""
    header = {"username": "用户名 username", "role": "角色 role", "unit": "机构 unit",
              "password": "密码 password"}
    from insurdesk.org.models import Role
    from insurdesk.org.policy import SECOND_FACTOR_ROLES

    needs = {str(Role(r).label) for r in SECOND_FACTOR_ROLES}
    lines = [dict(header)] + [
        {**r, "password": password + ("  + 动态口令 authenticator*" if r.get("role") in needs else "")}
        for r in rows
    ]
    widths = {k: max(_width(line[k]) for line in lines) for k in header}
    out = []
    for i, line in enumerate(lines):
        out.append("  ".join(_pad(line[k], widths[k]) for k in header).rstrip())
        if i == 0:
            out.append("  ".join("-" * widths[k] for k in header))
    out.append(
        "* 首次登录时扫码绑定身份验证器（任一 TOTP 应用，如 Google Authenticator、Microsoft Authenticator），"
        "以后每次登录输入其 6 位数字 / first sign-in shows a QR code: scan it with any TOTP app, "
        "then enter its 6-digit code at every sign-in. "
        "A lost phone: an administrator resets it under 系统 › 用户."
    )
    return "\n".join(out)


class Command(BaseCommand):
    help = ("Load demo data (演示数据) into an empty database: org tree, one login per role, customers. "
            "When it is already loaded, print the logins again and change nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--password", default=None,
                            help=f"password of every demo login (default: {DEFAULT_PASSWORD})")
        parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS,
                            help=f"number of archives, one in six a company (default: {DEFAULT_CUSTOMERS})")
        parser.add_argument("--seed", type=int, default=SEED, help="random seed (same seed, same people)")
        parser.add_argument("--if-empty", action="store_true",
                            help="for `make run`: on a database holding other data, say so and exit 0")

    def handle(self, *args, password, customers, seed, if_empty, **opts):
        if password is not None and len(password) < 8:
            raise CommandError("error password: password: 密码至少 8 位", returncode=2)
        if customers < 0:
            raise CommandError("error customers: --customers 不能为负数", returncode=2)
        if demo_loaded():
            shown = password or DEFAULT_PASSWORD
            if not password_works(shown):
                shown = "（首次装入时设定的密码）"
            self.stdout.write("演示数据已存在，未作任何修改 (demo data already loaded; nothing changed).\n")
            self.stdout.write(login_table(demo_logins(), shown))
            return
        started = time.monotonic()
        try:
            loaded = load_demo(password=password or DEFAULT_PASSWORD, customers=customers, seed=seed)
        except DemoConflict as exc:
            if if_empty:
                self.stdout.write(f"未装入演示数据 (demo data not loaded): {exc}")
                return
            raise CommandError(f"error conflict: {exc}", returncode=1) from exc
        self.stdout.write(
            f"演示数据已装入 (demo data loaded) in {time.monotonic() - started:.1f} s: "
            f"{loaded.individuals} 个人客户 individuals, {loaded.corporates} 单位客户 companies, "
            f"{loaded.relations} 关联关系 links.\n")
        self.stdout.write(login_table(demo_logins(), password or DEFAULT_PASSWORD))
