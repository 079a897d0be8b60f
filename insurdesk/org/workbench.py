"""The home page's tiles (工作台): a registry each app fills from its own `workbench.py`.

A tile is a count of what a role acts on today and the filtered list behind it. Each app registers its
tiles in AppConfig.ready (`from insurdesk.<app> import workbench`), so `org` names no domain app, like
the daily duties. A tile shows to the roles it names, and only when the policy lets the user open the
list it links to (so a tile never leads to a refusal).

    @tile("claims.deadline", _("理赔临近时限"), roles={"claims"}, url="claims:list", query="?due=soon")
    def _claims_due(user) -> Count:
        return Count(claims_due_soon(viewer=user).count(), overdue=...)
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from insurdesk.org.policy import allows, page_access, role_of


@dataclass(frozen=True)
class Count:
    """How many records wait, and how many of them are past their deadline (shown in red)."""

    n: int
    overdue: int = 0
    overdue_query: str = ""  # the list of the overdue ones, when it has its own filter


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    roles: frozenset[str]
    url: str
    query: str
    order: int
    count: Callable[[object], Count]
    kwargs: tuple = ()


_TILES: dict[str, Tile] = {}


def tile(key: str, label, *, roles, url: str, query: str = "", kwargs: dict | None = None, order: int = 100):
    """Register a home-page tile under a stable key; lower `order` comes first."""

    def register(func: Callable[[object], Count]):
        _TILES[key] = Tile(
            key, label, frozenset(roles), url, query, order, func, tuple((kwargs or {}).items())
        )
        return func

    return register


def tiles() -> list[Tile]:
    return sorted(_TILES.values(), key=lambda t: (t.order, t.key))


@dataclass
class Shown:
    tile: Tile
    url: str
    count: Count

    @property
    def overdue_url(self) -> str:
        return self.url.split("?")[0] + self.count.overdue_query if self.count.overdue_query else self.url


def tiles_for(user) -> list[Shown]:
    """Return the tiles of the user's role that lead to a list it may open, with their counts."""
    role = role_of(user)
    out = []
    for t in tiles():
        if role not in t.roles:
            continue
        access = page_access(t.url)
        if access is None or not allows(user, access):
            continue
        try:
            url = reverse(t.url, kwargs=dict(t.kwargs)) + t.query
        except NoReverseMatch:
            continue
        out.append(Shown(t, url, t.count(user)))
    return out
