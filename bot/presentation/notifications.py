"""The notifications subscriber: domain events become messages for the people they concern.

Each presentation module registers a renderer per event type with :func:`renders`; the event
bus calls :func:`on_event`, which renders in one transaction (outbox dedupe keys make a
re-delivered event harmless).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.domain_events import DomainEvent

if TYPE_CHECKING:
    from bot.container import Services
    from storage.uow import UnitOfWork

Renderer = Callable[["UnitOfWork", "Services", DomainEvent], Awaitable[None]]
_RENDERERS: dict[type[DomainEvent], list[Renderer]] = {}


def renders[E: DomainEvent](
    kind: type[E],
) -> Callable[
    [Callable[[UnitOfWork, Services, E], Awaitable[None]]],
    Callable[[UnitOfWork, Services, E], Awaitable[None]],
]:
    """Decorator: ``fn(uow, services, event)`` queues the messages ``kind`` calls for."""

    def register(
        fn: Callable[[UnitOfWork, Services, E], Awaitable[None]],
    ) -> Callable[[UnitOfWork, Services, E], Awaitable[None]]:
        _RENDERERS.setdefault(kind, []).append(fn)  # type: ignore[arg-type]
        return fn

    return register


def load_renderers() -> None:
    """Import every presentation module so their renderers are registered."""
    import bot.presentation as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")


async def on_event(services: Services, ev: DomainEvent) -> None:
    """Render ``ev`` for everyone it concerns, in one transaction."""
    renderers = _RENDERERS.get(type(ev), [])
    if not renderers:
        return
    async with services.db.uow() as uow:
        for render in renderers:
            await render(uow, services, ev)
    services.wake_outbox()
