"""The long-lived collaborators a handler may need, passed explicitly (no module globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.catalog import CATALOG, ProductCatalog
from bot.clock import Clock
from bot.config import Settings
from bot.places import Gazetteer, gazetteer

if TYPE_CHECKING:
    from bot.dialog import Router
    from storage.uow import Database


def _noop() -> None:
    return None


@dataclass
class Services:
    settings: Settings
    clock: Clock
    db: Database
    router: Router
    catalog: ProductCatalog = CATALOG
    places: Gazetteer = field(default_factory=gazetteer)
    wake_outbox: Callable[[], None] = _noop
    # Called after commit when a lot or order is created, changed, cancelled or expired:
    # (kind "lot" | "order", its id). The matcher subscribes here.
    market_changed: Callable[[str, int], None] = lambda _kind, _id: None
    # Filled by later layers (matcher, scheduler) when they run inside this process.
    extras: dict[str, Any] = field(default_factory=dict)
