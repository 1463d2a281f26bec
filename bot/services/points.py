"""Collection points (điểm tập kết): the rules officials follow to add, change, close and approve
them, and the proposal a rep makes while reporting a lot.

Typed inputs in, outcomes out; what the matcher and people must learn goes out as domain events
(:class:`PointProposed`, :class:`PointReviewed`, :class:`LotChanged` for the lots a decision frees
or holds back). Nothing here words a message.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from bot.domain_events import LotChanged, PointProposed, PointReviewed, emit
from bot.services.slots import hours_text, parse_hours
from storage import dto
from storage.uow import UnitOfWork

ADMIN = "admin"
MAX_SLOT_KG = 1_000_000  # 1.000 tấn in one hour is a typing slip
MAX_SLOT_TRUCKS = 200
LISTED = ("proposed", "active")
EDITABLE = frozenset(
    {
        "name",
        "ward_code",
        "address",
        "latitude",
        "longitude",
        "opening_hours",
        "slot_capacity_kg",
        "slot_capacity_trucks",
    }
)


class PointProblem(enum.StrEnum):
    """Why a value was refused (presentation words it)."""

    NAME = "name"
    ADDRESS = "address"
    HOURS = "hours"
    CAPACITY_KG = "kg"
    CAPACITY_TRUCKS = "trucks"


class PointRuleError(ValueError):
    """A value breaks one of the point rules; ``problem`` says which."""

    def __init__(self, problem: PointProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class PointDraft:
    """A new point as the official described it."""

    name: str
    province_code: int
    ward_code: int | None
    address: str | None
    latitude: float | None
    longitude: float | None
    opening_hours: str
    slot_capacity_kg: int
    slot_capacity_trucks: int


class Review(enum.Enum):
    DONE = "done"
    ALREADY = "already"  # someone decided it first (or the button was pressed twice)
    NOT_FOUND = "not_found"  # gone, or in another province


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    result: Review
    point: dto.CollectionPoint | None


@dataclass(frozen=True, slots=True)
class Closed:
    """A point closed; ``booked`` pickups there are still on the calendar."""

    point: dto.CollectionPoint
    booked: int


# --- rules -------------------------------------------------------------------------------------------


def clean_point_name(text: str) -> str:
    """A point's name, tidied; 2 to 120 characters."""
    name = " ".join(text.split())
    if not 2 <= len(name) <= 120:
        raise PointRuleError(PointProblem.NAME)
    return name


def clean_address(text: str) -> str:
    address = " ".join(text.split())
    if not 3 <= len(address) <= 200:
        raise PointRuleError(PointProblem.ADDRESS)
    return address


def clean_hours(text: str) -> str:
    """Opening hours as stored ("6:00-18:00") from "6h-18h", "6 - 18", "từ 6h30 đến 17h"."""
    hours = parse_hours(text)
    if hours is None:
        raise PointRuleError(PointProblem.HOURS)
    return hours_text(*hours)


def check_capacity_kg(kg: float) -> int:
    if not 1 <= kg <= MAX_SLOT_KG:
        raise PointRuleError(PointProblem.CAPACITY_KG)
    return round(kg)


def check_capacity_trucks(trucks: int) -> int:
    if not 1 <= trucks <= MAX_SLOT_TRUCKS:
        raise PointRuleError(PointProblem.CAPACITY_TRUCKS)
    return trucks


def matchable(point: dto.CollectionPoint | None, unapproved: str) -> bool:
    """May lots at this point be proposed to traders? Active points yes; proposed ones only in "warn" mode.

    Closed points (and rejected proposals) never: no pickup can be booked there.
    """
    if point is None:
        return False
    return point.status == "active" or (point.status == "proposed" and unapproved == "warn")


def may_manage(official: dto.User, point: dto.CollectionPoint) -> bool:
    """Officials manage the points of their province; admins every province's."""
    return official.role == ADMIN or point.province_code == official.province_code


# --- reading -------------------------------------------------------------------------------------------


async def province_points(uow: UnitOfWork, province_code: int) -> list[dto.CollectionPoint]:
    """The province's open and proposed points, proposals first (they wait for a decision)."""
    points = await uow.points.in_province(province_code, statuses=LISTED)
    return sorted(points, key=lambda p: (p.status != "proposed", p.name))


async def managed_point(uow: UnitOfWork, official: dto.User, point_id: int) -> dto.CollectionPoint | None:
    """The point if this official manages it, else None."""
    point = await uow.points.get(point_id)
    return point if point is not None and may_manage(official, point) else None


async def waiting_kg(uow: UnitOfWork, point_id: int) -> int:
    """Volume of open lots at a point (what waits for its approval)."""
    return sum(lot.remaining_kg for lot in await uow.lots.open_at_point(point_id))


async def approvers(uow: UnitOfWork, point: dto.CollectionPoint) -> list[dto.User]:
    """Who decides on a proposed point: the province's officials, or the admins when it has none."""
    return await uow.users.with_role(("official",), point.province_code) or await uow.users.with_role(
        (ADMIN,)
    )


async def proposer(uow: UnitOfWork, point: dto.CollectionPoint) -> dto.User | None:
    return await uow.users.get(point.proposed_by) if point.proposed_by else None


async def has_waiting_lots(uow: UnitOfWork, point_id: int) -> bool:
    return bool(await uow.lots.open_at_point(point_id))


# --- changing ------------------------------------------------------------------------------------------


async def create_point(uow: UnitOfWork, official: dto.User, draft: PointDraft) -> dto.CollectionPoint:
    """Save a new active point, audited."""
    check_capacity_kg(draft.slot_capacity_kg)
    check_capacity_trucks(draft.slot_capacity_trucks)
    point = await uow.points.add(
        name=clean_point_name(draft.name),
        province_code=draft.province_code,
        ward_code=draft.ward_code,
        address=draft.address,
        latitude=draft.latitude,
        longitude=draft.longitude,
        opening_hours=draft.opening_hours,
        slot_capacity_kg=draft.slot_capacity_kg,
        slot_capacity_trucks=draft.slot_capacity_trucks,
        status="active",
    )
    await uow.audit.add(official.id, "point_add", f"point:{point.id}", details={"name": point.name})
    return point


async def update_point(
    uow: UnitOfWork, official: dto.User, point_id: int, changes: dict[str, Any]
) -> dto.CollectionPoint | None:
    """Change some fields of a point the official manages, while it is open; None if it is gone,
    closed or elsewhere."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if "slot_capacity_kg" in changes:
        check_capacity_kg(changes["slot_capacity_kg"])
    if "slot_capacity_trucks" in changes:
        check_capacity_trucks(changes["slot_capacity_trucks"])
    if await managed_point(uow, official, point_id) is None:
        return None
    if not await uow.points.change_if(point_id, LISTED, **changes):
        return None
    await uow.audit.add(
        official.id, "point_edit", f"point:{point_id}", details={k: str(v) for k, v in changes.items()}
    )
    return await uow.points.get(point_id)


async def close_point(uow: UnitOfWork, official: dto.User, point_id: int, now: dt.datetime) -> Closed | None:
    """Close a point (no new lots or bookings); None if it was closed already (or is not theirs).

    Its open lots are announced to the matcher again, which now holds them back.
    """
    point = await managed_point(uow, official, point_id)
    if point is None or not await uow.points.change_if(point_id, ("active",), status="closed"):
        return None
    await uow.audit.add(official.id, "point_close", f"point:{point_id}")
    for lot in await uow.lots.open_at_point(point_id):
        await emit(uow, LotChanged(lot.id))
    upcoming = await uow.slots.pickups(now, now + dt.timedelta(days=366), point_id=point_id)
    closed = await uow.points.get(point_id)
    assert closed is not None
    return Closed(closed, len(upcoming))


async def propose_point(
    uow: UnitOfWork,
    rep: dto.User,
    *,
    name: str,
    address: str | None,
    province_code: int,
    ward_code: int | None,
) -> dto.CollectionPoint:
    """A rep proposes a new point (while reporting a lot); the province's officials are asked to
    approve it once the transaction commits (:class:`PointProposed`)."""
    point = await uow.points.add(
        name=name,
        address=address,
        province_code=province_code,
        ward_code=ward_code,
        status="proposed",
        proposed_by=rep.id,
    )
    await uow.events.record("point", point.id, rep.id, "propose", {"name": name, "address": address})
    await emit(uow, PointProposed(point.id))
    return point


async def review_proposal(
    uow: UnitOfWork, official: dto.User, point_id: int, *, approve: bool
) -> ReviewOutcome:
    """Approve or reject a proposed point, audited; the rep is told (:class:`PointReviewed`) and,
    once approved, the lots that waited for it go to the matcher (:class:`LotChanged`)."""
    point = await managed_point(uow, official, point_id)
    if point is None:
        return ReviewOutcome(Review.NOT_FOUND, None)
    status = "active" if approve else "closed"
    if not await uow.points.change_if(point_id, ("proposed",), status=status):
        return ReviewOutcome(Review.ALREADY, point)
    action = "point_approve" if approve else "point_reject"
    await uow.audit.add(official.id, action, f"point:{point_id}", details={"name": point.name})
    await uow.events.record("point", point_id, official.id, "approve" if approve else "reject")
    if approve:
        for lot in await uow.lots.open_at_point(point_id):
            await emit(uow, LotChanged(lot.id))
    await emit(uow, PointReviewed(point_id, approve, official.id))
    return ReviewOutcome(Review.DONE, await uow.points.get(point_id))
