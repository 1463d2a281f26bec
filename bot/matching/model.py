"""What the matcher sees: plain, immutable views of open lots and orders, and what it proposes.

The storage layer builds these from rows; the matcher never touches the database. Quantities
are whole kilograms, money is whole VND per kilogram, ids are database ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

GRADES: frozenset[str] = frozenset({"1", "2", "xo"})
CERTIFICATIONS: frozenset[str] = frozenset(
    {"vietgap", "globalgap", "ocop3", "ocop4", "ocop5", "growing_area_code"}
)

type PriceFloors = Mapping[tuple[str, int], int]
"""(product code, province code) -> lowest acceptable price in VND/kg (reference minus margin)."""


@dataclass(frozen=True, slots=True)
class LotView:
    """A harvest lot offered by a cooperative, with the volume still unallocated."""

    id: int
    product: str
    remaining_kg: int
    grade: str  # "1" | "2" | "xo"
    certifications: frozenset[str]
    collection_point_id: int
    province_code: int
    ready_from: date
    ready_to: date
    asking_price: int | None
    perishable_days: int
    posted_seq: int

    def priority(self) -> tuple[int, date, int, int]:
        """Sort key: most perishable, earliest ready, earliest posted, then id."""
        return (self.perishable_days, self.ready_from, self.posted_seq, self.id)


@dataclass(frozen=True, slots=True)
class OrderView:
    """A trader's purchase order, with the volume still wanted."""

    id: int
    product: str
    remaining_kg: int
    price: int
    min_lot_kg: int
    pickup_from: date
    pickup_to: date
    provinces: frozenset[int]  # empty and no points = anywhere
    collection_points: frozenset[int]  # a lot qualifies by its point OR by its province
    grades: frozenset[str]  # empty = any grade
    required_certs: frozenset[str]  # all of them are required
    posted_seq: int

    def priority(self) -> tuple[int, int, int]:
        """Sort key: best price for the farmer, earliest posted, then id."""
        return (-self.price, self.posted_seq, self.id)

    @property
    def anywhere(self) -> bool:
        """True when the trader buys from any province."""
        return not self.provinces and not self.collection_points


@dataclass(frozen=True, slots=True, order=True)
class Allocation:
    """Propose ``kg`` of a lot to an order at the order's price."""

    lot_id: int
    order_id: int
    kg: int
    price: int
