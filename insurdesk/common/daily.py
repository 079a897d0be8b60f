"""The daily duties (`insurdesk daily`): a registry each app fills from its own `daily.py`.

A duty is a function of one day that returns what it did as counts ({"lapsed": 3}). Each app registers
its duties in its AppConfig.ready (`from insurdesk.<app> import daily`), so `common` names no domain app
and the command runs whatever is installed. A duty must be safe to run twice for one day: the command
records each (day, duty) it finished and skips it the next time, but a duty killed halfway runs again.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass

Duty = Callable[[datetime.date], dict[str, int]]


@dataclass(frozen=True)
class Registered:
    name: str
    order: int
    run: Duty
    title: str


_DUTIES: dict[str, Registered] = {}


def duty(name: str, *, order: int, title: str) -> Callable[[Duty], Duty]:
    """Register a daily duty under a stable name; lower `order` runs first on each day."""

    def register(func: Duty) -> Duty:
        _DUTIES[name] = Registered(name, order, func, title)
        return func

    return register


def duties() -> list[Registered]:
    """Return the registered duties in the order they run."""
    return sorted(_DUTIES.values(), key=lambda d: (d.order, d.name))
