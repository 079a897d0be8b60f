"""Pages speak Chinese by default and English on request; the English catalogue leaves nothing out.

Refresh the catalogue after adding strings: README, "Translations" (make messages).
"""

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

CATALOGUE = Path(settings.BASE_DIR) / "insurdesk" / "locale" / "en" / "LC_MESSAGES"
CJK = re.compile(r"[\u3400-\u9fff\uff08\uff09\uff1a\uff0c]")
PLACEHOLDER = re.compile(r"%\([^)]+\)[sd]|%[sd]|%%")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clerk_client(make_user):
    client = Client()
    client.force_login(make_user("clerk"))
    return client


def _texts(html: str, tag: str) -> list[str]:
    found = re.findall(rf"<{tag}\b[^>]*>(.*?)</{tag}>", html, flags=re.S)
    return [re.sub(r"<[^>]+>|\s+", " ", t).strip() for t in found]


def _interface_text(html: str) -> list[str]:
    """Return the words the interface itself writes: title, headings, navigation, column heads, labels."""
    # The language switch names each language in that language.
    html = re.sub(r'<form[^>]*class="inline langswitch".*?</form>', "", html, flags=re.S)
    texts = _texts(html, "title") + _texts(html, "h1") + _texts(html, "h2") + _texts(html, "th")
    texts += _texts(html, "label") + _texts(html, "button")
    nav = re.search(r'<nav class="mainnav".*?</nav>', html, flags=re.S)
    if nav:
        texts += _texts(nav.group(0), "a")
    return [t for t in texts if t]


def _english(client: Client, url: str) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


# Pages -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_are_chinese_by_default():
    html = Client().get(reverse("login")).content.decode()
    assert '<html lang="zh-hans">' in html
    assert "<h1>登录</h1>" in html
    assert ">English</button>" in html  # the switch offers the other language


@pytest.mark.django_db
def test_a_chinese_browser_gets_chinese():
    html = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").get(reverse("login")).content.decode()
    assert "<h1>登录</h1>" in html


@pytest.mark.django_db
def test_an_english_browser_gets_english():
    html = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").get(reverse("login")).content.decode()
    assert '<html lang="en">' in html
    assert "<h1>Sign in</h1>" in html
    assert "登录" not in html
    assert ">简体中文</button>" in html


@pytest.mark.django_db
def test_the_language_switch_posts_with_csrf_and_sticks():
    client = Client(enforce_csrf_checks=True)
    login_url = reverse("login")
    page = client.get(login_url).content.decode()
    form = re.search(r'<form[^>]*class="inline langswitch".*?</form>', page, flags=re.S).group(0)
    assert f'action="{reverse("set_language")}"' in form and 'method="post"' in form
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)

    refused = client.post(reverse("set_language"), {"language": "en", "next": login_url})
    assert refused.status_code == 403

    switched = client.post(
        reverse("set_language"), {"language": "en", "next": login_url, "csrfmiddlewaretoken": token}
    )
    assert switched.status_code == 302 and switched["Location"] == login_url
    assert switched.cookies[settings.LANGUAGE_COOKIE_NAME]["samesite"] == "Lax"
    assert "<h1>Sign in</h1>" in client.get(login_url).content.decode()

    back = client.post(
        reverse("set_language"), {"language": "zh-hans", "next": login_url, "csrfmiddlewaretoken": token}
    )
    assert back.status_code == 302
    assert "<h1>登录</h1>" in client.get(login_url).content.decode()


@pytest.mark.django_db
def test_main_pages_are_chinese_for_a_signed_in_user_by_default(clerk_client):
    html = clerk_client.get(reverse("customers:list")).content.decode()
    assert "<h1>客户档案</h1>" in html
    assert "<th>客户号</th>" in html


@pytest.mark.parametrize(
    ("url_name", "expected"),
    [
        ("login", ["Sign in", "Username", "Password"]),
        ("customers:list", ["Customer archives", "Customer no.", "Risk level", "Search", ">Individual<"]),
        (
            "customers:create_individual",
            [
                "New individual customer",
                "Basic information",
                "ID number",
                ">Resident identity card<",
                ">Male<",
            ],
        ),
        (
            "applications:list",
            ["<h1>Application</h1>", "Application no.", "Policyholder", "Work queues", ">In underwriting<"],
        ),
    ],
)
@pytest.mark.django_db
def test_main_pages_are_english_on_request(clerk_client, url_name, expected):
    client = Client() if url_name == "login" else clerk_client
    html = _english(client, reverse(url_name))
    assert '<html lang="en">' in html
    for text in expected:
        assert text in html, text
    chinese = [t for t in _interface_text(html) if CJK.search(t)]
    assert not chinese, f"untranslated interface text on {url_name}: {chinese}"


@pytest.mark.parametrize("kind", ["individual", "corporate"])
@pytest.mark.django_db
def test_an_archive_reads_in_english(make_user, units, individual_data, corporate_data, kind):
    """The detail page finds its sections by their translated titles, in either language."""
    from insurdesk.customers.services import customer_create

    data = individual_data() if kind == "individual" else corporate_data()
    customer, _ = customer_create(actor=None, kind=kind, data={**data, "unit_id": units["SZ"].pk})
    client = Client()
    client.force_login(make_user("admin", unit="HQ"))
    url = reverse("customers:detail", args=[customer.pk])
    assert "基本信息" in client.get(url).content.decode()

    html = _english(client, url)
    assert "Basic information" in html and "Contact details" in html
    missing = re.search(r'<div class="missing">(.*?)</div>', html, flags=re.S).group(1)
    assert "To complete" in missing and not re.search(r"[\u3400-\u9fff、]", missing)
    if kind == "corporate":
        assert "Legal representative and controllers" in html


# The catalogue ----------------------------------------------------------------------------------


def _unquote(text: str) -> str:
    out, escapes = [], {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    chars = iter(text[1:-1])
    for ch in chars:
        out.append(escapes.get(next(chars), "") if ch == "\\" else ch)
    return "".join(out)


def _po_entries(path: Path) -> list[dict]:
    """Read a .po file into entries of flags, msgid, msgid_plural and msgstr (a dict by plural index)."""
    entries, entry, key = [], None, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry and "msgid" in entry:
                entries.append(entry)
            entry, key = None, None
            continue
        entry = entry or {"flags": set(), "msgstr": {}, "obsolete": False}
        if line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#,"):
            entry["flags"] |= {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif m := re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$', line):
            if m.group(1).startswith("msgstr"):
                key = int(m.group(2) or 0)
                entry["msgstr"][key] = _unquote(m.group(3))
            else:
                key = m.group(1)
                entry[key] = _unquote(m.group(3))
        elif line.startswith('"'):
            if isinstance(key, int):
                entry["msgstr"][key] += _unquote(line)
            else:
                entry[key] += _unquote(line)
    return [e for e in entries if not e["obsolete"]]


def _messages() -> list[dict]:
    return [e for e in _po_entries(CATALOGUE / "django.po") if e["msgid"]]


def test_the_english_catalogue_exists_and_is_what_locale_paths_names():
    assert CATALOGUE.parent.parent in [Path(p) for p in settings.LOCALE_PATHS]
    assert len(_messages()) > 500


def test_every_message_has_an_english_translation():
    missing = [e["msgid"] for e in _messages() if "fuzzy" in e["flags"] or not all(e["msgstr"].values())]
    assert not missing, f"{len(missing)} untranslated or fuzzy (README, Translations): {missing[:20]}"


def test_the_catalogue_header_is_not_fuzzy():
    header = next(e for e in _po_entries(CATALOGUE / "django.po") if e["msgid"] == "")
    assert "fuzzy" not in header["flags"]
    assert "Language: en\n" in header["msgstr"][0]


def test_translations_keep_the_placeholders():
    wrong = []
    for e in _messages():
        if "python-format" not in e["flags"]:
            continue
        for index, text in e["msgstr"].items():
            source = e["msgid_plural"] if index and "msgid_plural" in e else e["msgid"]
            if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(text)):
                wrong.append((e["msgid"], text))
    assert not wrong


def test_the_compiled_catalogue_matches_the_po_file():
    """The .mo is committed (CI may lack gettext): it must be compiled from the current .po."""
    with open(CATALOGUE / "django.mo", "rb") as fh:
        compiled = gettext.GNUTranslations(fh)._catalog
    stale = []
    for e in _messages():
        if "msgid_plural" in e:
            pairs = [((e["msgid"], i), text) for i, text in e["msgstr"].items()]
        else:
            pairs = [(e["msgid"], e["msgstr"][0])]
        stale += [key for key, text in pairs if compiled.get(key) != text]
    assert not stale, f"run compilemessages: {len(stale)} messages differ, e.g. {stale[:5]}"
