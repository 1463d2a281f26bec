"""Collection points (điểm tập kết): the rules officials follow to add, change, close and approve them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from bot import formatting as fmt
from bot.domain_events import LotChanged, emit
from bot.events import Choice, Reply
from bot.i18n import _, use_locale
from bot.places import Gazetteer
from bot.services.container import Services
from bot.services.notify import notify
from bot.services.quantities import RuleError
from bot.services.slots import hours_text, parse_hours
from storage import dto
from storage.uow import UnitOfWork

MAX_SLOT_KG = 1_000_000  # 1.000 tấn in one hour is a typing slip
MAX_SLOT_TRUCKS = 200
EDITABLE = (
    "name",
    "ward_code",
    "address",
    "latitude",
    "longitude",
    "opening_hours",
    "slot_capacity_kg",
    "slot_capacity_trucks",
)


def clean_point_name(text: str) -> str:
    """A point's name, tidied; raises :class:`RuleError` when too short or too long."""
    name = " ".join(text.split())
    if not 2 <= len(name) <= 120:
        raise RuleError(_("Tên điểm tập kết cần từ 2 đến 120 ký tự."), "name")
    return name


def clean_address(text: str) -> str:
    address = " ".join(text.split())
    if not 3 <= len(address) <= 200:
        raise RuleError(_("Địa chỉ cần từ 3 đến 200 ký tự."), "address")
    return address


def clean_hours(text: str) -> str:
    """Opening hours as stored ("6:00-18:00"); raises :class:`RuleError` with an example."""
    hours = parse_hours(text)
    if hours is None:
        raise RuleError(
            _("Giờ mở cửa chưa đúng. Gõ theo dạng giờ mở - giờ đóng, ví dụ: 6:00-18:00."), "opening_hours"
        )
    return hours_text(*hours)


def check_capacity(kg: float | None, trucks: float | None) -> None:
    """Capacities per slot must be positive and plausible."""
    if kg is not None and not 1 <= kg <= MAX_SLOT_KG:
        raise RuleError(_("Sức chứa mỗi khung giờ phải từ 1 đến 1.000.000 kg."), "slot_capacity_kg")
    if trucks is not None and not 1 <= trucks <= MAX_SLOT_TRUCKS:
        raise RuleError(_("Số xe mỗi khung giờ phải từ 1 đến 200."), "slot_capacity_trucks")


def matchable(point: dto.CollectionPoint | None, unapproved: str) -> bool:
    """May lots at this point be proposed to traders? Active points yes; proposed ones only in "warn" mode.

    Closed points (and rejected proposals) never: no pickup can be booked there.
    """
    if point is None:
        return False
    return point.status == "active" or (point.status == "proposed" and unapproved == "warn")


def point_place(places: Gazetteer, point: dto.CollectionPoint) -> str:
    """ "Xã Chi Lăng, Tỉnh Lạng Sơn" (or the province alone)."""
    place = places.ward(point.ward_code) if point.ward_code else places.province(point.province_code)
    return place.label if place else ""


async def create_point(uow: UnitOfWork, official: dto.User, **values: Any) -> dto.CollectionPoint:
    """Save a new active point in the official's province, audited."""
    check_capacity(values.get("slot_capacity_kg"), values.get("slot_capacity_trucks"))
    point = await uow.points.add(status="active", **values)
    await uow.audit.add(official.id, "point_add", f"point:{point.id}", details={"name": point.name})
    return point


async def update_point(
    uow: UnitOfWork, official: dto.User, point_id: int, **changes: Any
) -> dto.CollectionPoint | None:
    """Change some fields of a point still open; None if it is gone or closed."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    check_capacity(changes.get("slot_capacity_kg"), changes.get("slot_capacity_trucks"))
    if not await uow.points.change_if(point_id, ("active", "proposed"), **changes):
        return None
    await uow.audit.add(
        official.id, "point_edit", f"point:{point_id}", details={k: str(v) for k, v in changes.items()}
    )
    return await uow.points.get(point_id)


async def close_point(uow: UnitOfWork, official: dto.User, point_id: int, now: dt.datetime) -> int | None:
    """Close a point (no new lots or bookings); returns how many pickups are still booked there, None if already closed."""
    if not await uow.points.change_if(point_id, ("active",), status="closed"):
        return None
    await uow.audit.add(official.id, "point_close", f"point:{point_id}")
    upcoming = await uow.slots.pickups(now, now + dt.timedelta(days=366), point_id=point_id)
    return len(upcoming)


async def after_review(
    uow: UnitOfWork, services: Services, point: dto.CollectionPoint
) -> Callable[[], Awaitable[None]]:
    """The matcher hears of the lots that waited for an approved point (they are matched at once);
    returns what to run once the review is committed (wake the workers)."""
    if point.status == "active":
        for lot in await uow.lots.open_at_point(point.id):
            await emit(uow, LotChanged(lot.id))

    async def hook() -> None:
        services.wake_events()
        services.wake_outbox()

    return hook


async def review_proposal(
    uow: UnitOfWork, official: dto.User, point_id: int, *, approve: bool
) -> dto.CollectionPoint | None:
    """Approve or reject a rep's proposed point and tell the rep; None if someone reviewed it already.

    Lots waiting at the point are matched once the transaction commits (see :func:`after_review`).
    """
    point = await uow.points.get(point_id)
    if point is None or (point.province_code != official.province_code and official.role != "admin"):
        return None
    status = "active" if approve else "closed"
    if not await uow.points.change_if(point_id, ("proposed",), status=status):
        return None
    action = "point_approve" if approve else "point_reject"
    await uow.audit.add(official.id, action, f"point:{point_id}", details={"name": point.name})
    await uow.events.record("point", point_id, official.id, "approve" if approve else "reject")
    owner = await uow.users.get(point.proposed_by) if point.proposed_by else None
    if owner is not None:
        with use_locale(owner.locale):
            if approve:
                text = _(
                    "Điểm tập kết «{name}» bạn đề xuất đã được cán bộ duyệt. Từ nay bà con có thể chọn điểm này."
                )
            else:
                text = _(
                    "Điểm tập kết «{name}» bạn đề xuất chưa được duyệt. Vui lòng chọn điểm khác hoặc liên hệ cán bộ."
                )
            text = text.format(name=point.name)
            if not approve and await uow.lots.open_at_point(point_id):
                text += "\n" + _(
                    "Lô hàng ở điểm này sẽ không được giới thiệu cho thương lái: hãy hủy lô trong /cuatoi rồi báo "
                    "lại với điểm khác."
                )
            await notify(uow, owner, Reply(text), dedupe_key=f"point:review:{point_id}")
    return await uow.points.get(point_id)


async def notify_point_proposed(uow: UnitOfWork, places: Gazetteer, point: dto.CollectionPoint) -> int:
    """Ask the province's officials (the admins if it has none) to approve a proposed point, with the
    Duyệt / Từ chối buttons and the volume waiting for it; how many were asked.

    Called in the transaction that saves the rep's lot at that point.
    """
    officials = await uow.users.with_role(("official",), point.province_code) or await uow.users.with_role(
        ("admin",)
    )
    waiting = sum(lot.remaining_kg for lot in await uow.lots.open_at_point(point.id))
    proposer = await uow.users.get(point.proposed_by) if point.proposed_by else None
    told = 0
    for official in officials:
        with use_locale(official.locale):
            lines = [
                _("Có điểm tập kết mới được đề xuất: «{name}», {address}, {place}. Duyệt điểm này?").format(
                    name=point.name, address=point.address or "—", place=point_place(places, point)
                )
            ]
            if proposer is not None:
                lines.append(
                    _("Người đề xuất: {name} ({phone}).").format(
                        name=proposer.name or proposer.key, phone=proposer.phone or "—"
                    )
                )
            if waiting:
                lines.append(
                    _("{kg} hàng đang chờ điểm này được duyệt mới được giới thiệu cho thương lái.").format(
                        kg=fmt.kg(waiting)
                    )
                )
            choices = (
                Choice(_("✅ Duyệt"), f"dtk:ok:{point.id}"),
                Choice(_("❌ Từ chối"), f"dtk:no:{point.id}"),
            )
        if await notify(
            uow,
            official,
            Reply("\n".join(lines), choices, columns=2),
            dedupe_key=f"point:proposed:{point.id}:{official.id}",
        ):
            told += 1
    return told
