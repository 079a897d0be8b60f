# ruff: noqa: E501 - the in-page check is JavaScript, one condition a line
"""Every page of every role at 1366 × 768 and 768 px wide, in Chinese and English: no horizontal
overflow, no wrapped or clipped menu label, exactly one active menu item, no text under a fixed bar.
Screenshots of each role's home page go to var/screenshots/workbench/."""

import re

import pytest
from django.conf import settings
from django.test import Client

from insurdesk.org.models import Role
from tests.test_browser_security import signed_in_pages  # noqa: I001

pytestmark = pytest.mark.browser

ROLES = list(Role.values)
SIZES = [(1366, 768), (768, 1024)]
LANGS = ["zh-hans", "en"]
CJK = re.compile(r"[\u4e00-\u9fff]+")

# Runs in the page: what the user would see wrong on it.
CHECK = """() => {
  const out = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth + 1) out.push(`horizontal overflow ${doc.scrollWidth}px > ${window.innerWidth}px`);
  const menu = document.querySelector('#sidemenu');
  const shown = menu && getComputedStyle(menu).display !== 'none';
  const active = menu ? menu.querySelectorAll('a.active') : [];
  if (menu && active.length > 1) out.push(`${active.length} active menu items`);
  if (shown) {
    for (const a of menu.querySelectorAll('a, summary')) {
      const lh = parseFloat(getComputedStyle(a).lineHeight) || 20;
      if (a.getClientRects().length && a.clientHeight > lh * 1.6 + 12) out.push(`menu label wraps: ${a.textContent.trim()}`);
      if (a.scrollWidth > a.clientWidth + 1) out.push(`menu label clipped: ${a.textContent.trim()}`);
    }
  }
  const bar = document.querySelector('.topbar');
  for (const el of bar ? bar.querySelectorAll('a, button, input') : []) {
    const r = el.getBoundingClientRect();
    if (r.width && (r.right > window.innerWidth + 1 || r.bottom > bar.getBoundingClientRect().bottom + 1)) out.push(`top bar item off screen: ${el.textContent.trim() || el.name}`);
  }
  const h1 = document.querySelector('main h1');
  if (h1 && bar) {
    const r = h1.getBoundingClientRect();
    if (r.top < bar.getBoundingClientRect().bottom - 1) out.push('the page title is under the top bar');
  }
  return out;
}"""


def _records():
    from insurdesk.compliance.selectors import QUEUES

    return {"compliance:queue": {"name": next(iter(QUEUES))}}


@pytest.fixture
def people(make_user):
    return {
        role: make_user(role, "HQ" if role in ("admin", "compliance") else "SZ", username=f"wb_{role}")
        for role in ROLES
    }


def _session(page, base, user, lang):
    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": base,
            },
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": lang, "url": base},
        ]
    )


def test_every_page_of_every_role_fits_the_screen_and_has_one_active_menu_item(
    live_server, people, chromium_page, screenshot
):
    from pathlib import Path

    (Path(__file__).resolve().parent.parent / "var" / "screenshots" / "workbench").mkdir(
        parents=True, exist_ok=True
    )
    page = chromium_page
    base = live_server.url
    problems: list[str] = []
    for role, user in people.items():
        urls = signed_in_pages(user, _records())
        assert urls, role
        for lang in LANGS:
            _session(page, base, user, lang)
            for url in urls:
                # One load a page; the narrower width is a resize of the same page (the CSS reflows).
                page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
                page.goto(base + url, wait_until="domcontentloaded")
                for width, height in SIZES:
                    if width != SIZES[0][0]:
                        page.set_viewport_size({"width": width, "height": height})
                    for issue in page.evaluate(CHECK):
                        problems.append(f"{role} {lang} {width}px {url}: {issue}")
                    if url == "/":
                        screenshot(page, f"workbench/{role}_{lang}_{width}")
    assert not problems, "\n".join(problems)


@pytest.mark.xfail(
    strict=True,
    reason="issue 16 (open): 289 Chinese strings still reach English pages at the 2026-12-08 merge "
    "(choice labels, verbose names, unmarked strings); strict, so it fails once they are all translated "
    "and this mark must go",
)
def test_no_chinese_reaches_an_english_page(live_server, people, chromium_page):
    """Crawls every page of every role in English; lists each Chinese string and the pages it is on.

    Fails until the integrator translates the catalogue (make messages) after a branch adds strings."""
    page = chromium_page
    base = live_server.url
    found: dict[str, set[str]] = {}
    for user in people.values():
        _session(page, base, user, "en")
        for url in signed_in_pages(user, _records()):
            page.goto(base + url, wait_until="domcontentloaded")
            text = page.evaluate("document.body.innerText")
            for match in set(CJK.findall(text)):
                found.setdefault(match, set()).add(url)
    report = "\n".join(f"{s}  ← {', '.join(sorted(u)[:5])}" for s, u in sorted(found.items()))
    assert not found, f"{len(found)} Chinese strings on English pages:\n{report}"
