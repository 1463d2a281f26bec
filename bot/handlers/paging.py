"""Long lists shown a page at a time, with "previous / next" buttons."""

from __future__ import annotations

from collections.abc import Sequence

from bot.events import Choice
from bot.i18n import _

PAGE_SIZE = 8


def page_of[T](items: Sequence[T], page: int, size: int = PAGE_SIZE) -> tuple[Sequence[T], int, int]:
    """(the items on ``page``, the page actually shown, the number of pages)."""
    pages = max(1, -(-len(items) // size))
    page = min(max(page, 0), pages - 1)
    return items[page * size : (page + 1) * size], page, pages


def nav_buttons(page: int, pages: int, prefix: str = "page") -> list[Choice]:
    """« Trước / Sau » buttons whose payload is ``prefix:N``."""
    buttons = []
    if page > 0:
        buttons.append(Choice(_("« Trước"), f"{prefix}:{page - 1}"))
    if page < pages - 1:
        buttons.append(Choice(_("Sau »"), f"{prefix}:{page + 1}"))
    return buttons
