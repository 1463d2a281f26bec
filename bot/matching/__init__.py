"""The matcher: allocates open harvest-lot volume to open purchase orders (pure, no I/O)."""

from bot.matching.allocator import match_incremental, plan_batch, plan_book
from bot.matching.book import OrderBook
from bot.matching.compat import REASONS, fits, why_incompatible
from bot.matching.model import Allocation, LotView, OrderView, PriceFloors

__all__ = [
    "REASONS",
    "Allocation",
    "LotView",
    "OrderBook",
    "OrderView",
    "PriceFloors",
    "fits",
    "match_incremental",
    "plan_batch",
    "plan_book",
    "why_incompatible",
]
