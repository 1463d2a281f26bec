"""The long-lived collaborators a handler or a service may need, built once at start-up.

Frozen: nothing is patched in afterwards. Whatever runs in the background (the outbox sender,
the event bus) is started with this object, not stored in it; only their wake-up calls are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.catalog import CATALOG, ProductCatalog
from bot.clock import Clock
from bot.config import Settings
from bot.engine.actions import ActionCodec
from bot.events import Capabilities
from bot.places import Gazetteer, gazetteer

if TYPE_CHECKING:
    from bot.engine.router import Router
    from storage.uow import Database


def _noop() -> None:
    return None


@dataclass(frozen=True)
class Services:
    settings: Settings
    clock: Clock
    db: Database
    router: Router
    codec: ActionCodec
    messengers: Mapping[str, Capabilities]
    catalog: ProductCatalog = CATALOG
    places: Gazetteer = field(default_factory=gazetteer)
    # Something was queued for these background workers: look now rather than at the next poll.
    wake_outbox: Callable[[], None] = _noop
    wake_events: Callable[[], None] = _noop

    def capabilities(self, channel: str) -> Capabilities:
        """What the messenger of ``channel`` can do."""
        return self.messengers[channel]
