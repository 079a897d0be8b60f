"""The side menu, declared once beside the access policy and drawn from it.

An item names a URL (as in PAGES); a role sees the item exactly when the policy lets it open that page,
so a menu item and its page can never disagree. The item highlighted on a page comes from the
declaration too: the item whose URL the page is, else the one that `covers` it by name, else by its
namespace ("policies:*"). Declaration order breaks ties, so each page has at most one active item.

Adding a page to the menu is one line in MENU: `Item(Group.CLAIMS, "claims:list", _("理赔案件"))`.
"""

from dataclasses import dataclass, field
from enum import StrEnum

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from insurdesk.org.policy import allows, page_access


class Group(StrEnum):
    WORKBENCH = "workbench"
    CUSTOMERS = "customers"
    NEW_BUSINESS = "new_business"
    POLICIES = "policies"
    CLAIMS = "claims"
    SERVICE = "service"
    COMPLIANCE = "compliance"
    REPORTS = "reports"
    SYSTEM = "system"


GROUP_LABELS = {
    Group.WORKBENCH: _("工作台"),
    Group.CUSTOMERS: _("客户"),
    Group.NEW_BUSINESS: _("新契约"),
    Group.POLICIES: _("保单与保全"),
    Group.CLAIMS: _("理赔"),
    Group.SERVICE: _("客户服务"),
    Group.COMPLIANCE: _("合规"),
    Group.REPORTS: _("报表"),
    Group.SYSTEM: _("系统"),
}


@dataclass(frozen=True)
class Item:
    """One menu entry: its group, the URL name it opens, its label, and the pages it stands for."""

    group: Group
    url_name: str
    label: str
    covers: tuple[str, ...] = field(default=())
    query: str = ""  # appended to the URL ("?status=due"), for an item that opens a filtered list


MENU: list[Item] = [
    Item(Group.WORKBENCH, "home", _("工作台")),
    Item(Group.CUSTOMERS, "customers:list", _("客户档案"), covers=("customers:*", "exchange:customer_file")),
    Item(Group.CUSTOMERS, "customers:create_individual", _("新建个人客户")),
    Item(Group.CUSTOMERS, "customers:create_corporate", _("新建单位客户")),
    Item(Group.NEW_BUSINESS, "applications:queues", _("投保单"), covers=("applications:*",)),
    Item(Group.NEW_BUSINESS, "applications:create", _("新建投保单"), covers=("applications:lookup",)),
    Item(Group.NEW_BUSINESS, "applications:problems", _("问题件")),
    Item(Group.NEW_BUSINESS, "underwriting:queue", _("核保"), covers=("underwriting:*",)),
    Item(Group.NEW_BUSINESS, "policies:to_issue", _("待出单"), covers=("policies:issue",)),
    Item(Group.NEW_BUSINESS, "products:list", _("险种"), covers=("products:*",)),
    Item(Group.POLICIES, "policies:list", _("保单"), covers=("policies:*",)),
    Item(Group.POLICIES, "policies:due", _("应收清单"), covers=("policies:payment_new",)),
    Item(Group.POLICIES, "servicing:queue", _("保全"), covers=("servicing:*",)),
    Item(Group.CLAIMS, "claims:list", _("理赔案件"), covers=("claims:*",)),
    Item(Group.SERVICE, "care:contacts", _("沟通记录"), covers=("care:*",)),
    Item(Group.COMPLIANCE, "compliance:home", _("合规工作台"), covers=("compliance:*",)),
    Item(Group.COMPLIANCE, "compliance:tasks", _("整改任务"), covers=("compliance:task_detail",)),
    Item(Group.COMPLIANCE, "compliance:flags", _("大额与可疑交易")),
    Item(
        Group.COMPLIANCE,
        "compliance:pi_requests",
        _("个人信息请求"),
        covers=("compliance:pi_request_create", "compliance:pi_request_detail"),
    ),
    Item(Group.COMPLIANCE, "compliance:audit_log", _("档案使用记录"), covers=("compliance:audit_verify",)),
    Item(Group.COMPLIANCE, "lifecycle:index", _("归档与销毁"), covers=("lifecycle:*",)),
    Item(Group.REPORTS, "applications:entry_errors", _("录入差错统计")),
    Item(Group.SYSTEM, "system:users", _("用户"), covers=("system:user*",)),
    Item(Group.SYSTEM, "system:units", _("机构"), covers=("system:unit*",)),
    Item(Group.SYSTEM, "exchange:index", _("批量导入"), covers=("exchange:*",)),
    Item(
        Group.SYSTEM,
        "exchange:exports",
        _("导出"),
        covers=("exchange:export_list", "exchange:customer_file_lookup"),
    ),
    Item(Group.SYSTEM, "webhooks:list", _("Webhook 订阅"), covers=("webhooks:*",)),
    Item(Group.SYSTEM, "account", _("账户安全"), covers=("otp_setup", "api_token_create")),
]

# Items the home page also offers as buttons (those a role may open).
SHORTCUTS = frozenset(
    {"customers:create_individual", "applications:create", "policies:payment_new", "exchange:index"}
)


def _covers(pattern: str, view_name: str) -> bool:
    if pattern.endswith("*"):
        return view_name.startswith(pattern[:-1])
    return pattern == view_name


def active_item(view_name: str | None, items: list[Item] | None = None) -> Item | None:
    """Return the one item a page highlights: its own URL, else an exact cover, else a wildcard."""
    if not view_name:
        return None
    items = MENU if items is None else items
    for item in items:
        if item.url_name == view_name:
            return item
    for item in items:
        if view_name in item.covers:
            return item
    for item in items:
        if any(_covers(p, view_name) for p in item.covers if p.endswith("*")):
            return item
    return None


def visible(user, item: Item) -> bool:
    """Tell whether the user's role may open the item's page (the policy's answer, nothing else)."""
    access = page_access(item.url_name)
    return access is not None and allows(user, access)


@dataclass
class Entry:
    item: Item
    url: str
    active: bool


@dataclass
class Section:
    group: Group
    label: str
    entries: list[Entry]

    @property
    def active(self) -> bool:
        return any(e.active for e in self.entries)


def menu_for(user, view_name: str | None) -> list[Section]:
    """Return the groups of items the user may open, in declared order, with the active one marked."""
    if user is None or not user.is_authenticated:
        return []
    active = active_item(view_name)
    sections: dict[Group, Section] = {}
    for item in MENU:
        if not visible(user, item):
            continue
        try:
            url = reverse(item.url_name) + item.query
        except NoReverseMatch:  # an app that is not installed
            continue
        section = sections.setdefault(item.group, Section(item.group, GROUP_LABELS[item.group], []))
        section.entries.append(Entry(item, url, item is active))
    return [sections[g] for g in Group if g in sections]
