"""Harvest lots: the rules for reporting one, and for changing, extending, cancelling or expiring it.

Every change is recorded in the lot's history (``entity_events``) and emitted as a domain event
(``LotChanged`` for the matcher; ``LotExpired`` for the notifications) in the
same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from bot import formatting as fmt
from bot.catalog import ProductCatalog
from bot.domain_events import LotChanged, LotExpired, emit
from bot.i18n import _
from bot.services.points import propose_point
from bot.services.quantities import RuleError, check_price, check_quantity, check_window
from bot.services.trade import expire_past, withdraw
from storage import dto
from storage.uow import UnitOfWork

GRADES = ("1", "2", "xo")
# What a new cooperative sees before anything has been reported in its province: the
# Lạng Sơn campaign products first.
DEFAULT_PRODUCTS = ("na", "hong_vanh_khuyen", "quyt", "thach_den", "che", "hoi")
OPEN = ("open", "partly_matched")
AREA_CERT = "growing_area_code"  # the certification "has a growing-area code", as orders require it


@dataclass(frozen=True, slots=True)
class NewPoint:
    """A collection point a rep proposes while reporting a lot; an official approves it later."""

    name: str
    address: str | None
    province_code: int
    ward_code: int | None


@dataclass(frozen=True, slots=True)
class LotDraft:
    """Everything a lot needs before it is saved."""

    product_code: str
    quantity_kg: int
    grade: str
    certifications: tuple[str, ...]
    growing_area_code: str | None
    point_id: int | None
    new_point: NewPoint | None
    ready_from: dt.date
    ready_to: dt.date
    asking_price: int | None
    shares: tuple[dto.LotShare, ...] = ()


@dataclass(frozen=True, slots=True)
class SavedLot:
    """A lot just saved; ``point_pending``: its collection point is new and waits for an official."""

    lot: dto.Lot
    point_pending: bool


def check_lot_window(
    catalog: ProductCatalog, product_code: str, start: dt.date, end: dt.date, today: dt.date
) -> None:
    """Not in the past, and no longer than the product keeps after harvest."""
    check_window(start, end, today)
    product = catalog.get(product_code)
    if product is not None and (end - start).days > product.perishable_days:
        raise RuleError(
            _(
                "{product} chỉ giữ được khoảng {days} ngày sau thu hoạch, nên thời gian sẵn sàng không thể "
                "dài hơn {days} ngày."
            ).format(product=product.name_vi, days=product.perishable_days),
            "window",
        )


def shares_left(shares: tuple[dto.LotShare, ...] | list[dto.LotShare], quantity_kg: int) -> int:
    """Kilograms of the lot not yet assigned to a household (negative when over)."""
    return quantity_kg - sum(s.kg for s in shares)


def check_shares(shares: tuple[dto.LotShare, ...], quantity_kg: int) -> None:
    """Household shares, when there are any, add up exactly to the lot."""
    if shares and shares_left(shares, quantity_kg) != 0:
        raise RuleError(
            _("Phần của các hộ cộng lại là {total}, nhưng lô có {quantity}.").format(
                total=fmt.kg(sum(s.kg for s in shares)), quantity=fmt.kg(quantity_kg)
            ),
            "shares",
        )


def validate_lot(draft: LotDraft, catalog: ProductCatalog, today: dt.date) -> None:
    """Every rule a lot must satisfy; the first broken one raises a RuleError naming its step."""
    product = catalog.get(draft.product_code)
    if product is None:
        raise RuleError(_("Không có sản phẩm này. Vui lòng chọn lại."), "product")
    check_quantity(draft.quantity_kg)
    if draft.grade not in GRADES:
        raise RuleError(_("Vui lòng chọn loại hàng."), "grade")
    if draft.point_id is None and draft.new_point is None:
        raise RuleError(_("Vui lòng chọn điểm tập kết."), "point")
    check_lot_window(catalog, draft.product_code, draft.ready_from, draft.ready_to, today)
    if draft.asking_price is not None:
        check_price(product, draft.asking_price)
    check_shares(draft.shares, draft.quantity_kg)


async def check_lot(uow: UnitOfWork, draft: LotDraft, catalog: ProductCatalog, today: dt.date) -> None:
    """Every rule, and the chosen collection point still active; a RuleError names the step to ask again."""
    validate_lot(draft, catalog, today)
    if draft.new_point is None:
        chosen = await uow.points.get(draft.point_id or 0)
        if chosen is None or chosen.status != "active":
            raise RuleError(_("Điểm tập kết này không còn hoạt động. Vui lòng chọn điểm khác."), "point")


async def popular_products(uow: UnitOfWork, province_code: int | None, limit: int = 6) -> list[str]:
    """Codes of the products most reported in a province, topped up with the default list."""
    codes = await uow.lots.product_counts(province_code, limit) if province_code else []
    for code in DEFAULT_PRODUCTS:
        if len(codes) >= limit:
            break
        if code not in codes:
            codes.append(code)
    return codes


async def points_near(
    uow: UnitOfWork, province_code: int | None, ward_code: int | None
) -> list[dto.CollectionPoint]:
    """Active collection points in the ward first, then the rest of the province."""
    if province_code is None:
        return []
    points = await uow.points.in_province(province_code)
    return sorted(points, key=lambda p: (p.ward_code != ward_code, p.id))


async def create_lot(
    uow: UnitOfWork,
    owner: dto.User,
    draft: LotDraft,
    catalog: ProductCatalog,
    today: dt.date,
) -> SavedLot:
    """Validate and save a lot with its shares (and a proposed point), recording the history.

    A proposed point goes to the province's officials for approval (``PointProposed``); until
    they approve it the lot waits (or is proposed with a warning, as UNAPPROVED_POINTS says: see
    the matcher).
    """
    await check_lot(uow, draft, catalog, today)
    point_id = draft.point_id
    proposed: dto.CollectionPoint | None = None
    if draft.new_point is not None:
        np = draft.new_point
        # The officials are asked once this commits, when the lot below is there to show its volume.
        point = await propose_point(
            uow,
            owner,
            name=np.name,
            address=np.address,
            province_code=np.province_code,
            ward_code=np.ward_code,
        )
        point_id, proposed = point.id, point
    certifications = [c for c in draft.certifications if c != AREA_CERT]
    if draft.growing_area_code:  # so that orders requiring a growing-area code match it
        certifications.append(AREA_CERT)
    lot = await uow.lots.add(
        shares=draft.shares,
        owner_id=owner.id,
        product_code=draft.product_code,
        quantity_kg=draft.quantity_kg,
        grade=draft.grade,
        certifications=certifications,
        growing_area_code=draft.growing_area_code,
        collection_point_id=point_id,
        ready_from=draft.ready_from,
        ready_to=draft.ready_to,
        asking_price=draft.asking_price,
    )
    await uow.events.record(
        "lot",
        lot.id,
        owner.id,
        "create",
        {
            "product": lot.product_code,
            "quantity_kg": lot.quantity_kg,
            "grade": lot.grade,
            "certifications": list(lot.certifications),
            "growing_area_code": lot.growing_area_code,
            "point_id": point_id,
            "ready_from": lot.ready_from.isoformat(),
            "ready_to": lot.ready_to.isoformat(),
            "asking_price": lot.asking_price,
            "shares": [asdict(s) for s in draft.shares],
        },
    )
    await emit(uow, LotChanged(lot.id))
    return SavedLot(lot, point_pending=proposed is not None)


async def has_shares(uow: UnitOfWork, lot_id: int) -> bool:
    """Whether the lot pools several households."""
    return bool(await uow.lots.shares(lot_id))


async def own_open_lot(
    uow: UnitOfWork, owner: dto.User, lot_id: int, *, matched_too: bool = False
) -> dto.Lot:
    """The person's own lot, still open (or fully matched, with ``matched_too``); otherwise a RuleError."""
    lot = await uow.lots.get(lot_id)
    if lot is None or lot.owner_id != owner.id:
        raise RuleError(_("Không tìm thấy lô hàng này."))
    if lot.status not in OPEN and not (matched_too and lot.status == "matched"):
        raise RuleError(_("Lô #{id} đã đóng, không thể thay đổi.").format(id=lot.id))
    return lot


def check_new_volume(promised_kg: int, new_kg: float | None, floor_kg: int | None = None) -> int:
    """A new total that is sane and not below what is already promised to traders (or, where
    accepted deals may be asked to take less, not below ``floor_kg``)."""
    kg = check_quantity(new_kg, "volume")
    if floor_kg is not None and floor_kg < promised_kg:
        if kg < floor_kg:
            raise RuleError(
                _(
                    "Không thể giảm xuống {new}: các đề xuất chưa trả lời và các đơn đã chốt (mỗi đơn ít "
                    "nhất 1 kg) cần {floor}. Khối lượng mới phải từ {floor} trở lên."
                ).format(new=fmt.kg(kg), floor=fmt.kg(floor_kg)),
                "volume",
            )
        return kg
    if kg < promised_kg:
        raise RuleError(
            _(
                "Không thể giảm xuống {new}: đã hứa bán {promised} cho thương lái. Khối lượng mới phải từ "
                "{promised} trở lên."
            ).format(new=fmt.kg(kg), promised=fmt.kg(promised_kg)),
            "volume",
        )
    return kg


async def change_lot_volume(
    uow: UnitOfWork,
    actor: dto.User,
    lot_id: int,
    new_kg: float | None,
    shares: tuple[dto.LotShare, ...] | None = None,
) -> dto.Lot:
    """Set a lot's total; household shares, if the lot has them, are replaced and must add up."""
    lot = await own_open_lot(uow, actor, lot_id, matched_too=True)
    kg = check_new_volume(lot.quantity_kg - lot.remaining_kg, new_kg)
    if shares is not None:
        check_shares(shares, kg)
    if not await uow.lots.set_quantity(lot.id, kg):  # a match took volume meanwhile
        fresh = await own_open_lot(uow, actor, lot_id, matched_too=True)
        check_new_volume(fresh.quantity_kg - fresh.remaining_kg, kg)
    if shares is not None:
        await uow.lots.replace_shares(lot.id, shares)
    await uow.events.record(
        "lot",
        lot.id,
        actor.id,
        "change_volume",
        {
            "old": lot.quantity_kg,
            "new": kg,
            **({"shares": [asdict(s) for s in shares]} if shares is not None else {}),
        },
    )
    await emit(uow, LotChanged(lot.id))
    return await uow.lots.get(lot.id)  # type: ignore[return-value]


def check_extension(lot: dto.Lot, new_to: dt.date, catalog: ProductCatalog, today: dt.date) -> None:
    """A later ready-to date, not past, within what the product keeps; a RuleError says why not."""
    if new_to <= lot.ready_to:
        raise RuleError(_("Ngày mới phải sau {day}.").format(day=fmt.date(lot.ready_to)), "extend")
    if new_to < today:
        raise RuleError(_("Ngày {day} đã qua.").format(day=fmt.date(new_to)), "extend")
    product = catalog.get(lot.product_code)
    if product is not None and (new_to - lot.ready_from).days > product.perishable_days:
        raise RuleError(
            _(
                "{product} chỉ giữ được khoảng {days} ngày: lô sẵn sàng từ {start} nên chậm nhất đến {last}."
            ).format(
                product=product.name_vi,
                days=product.perishable_days,
                start=fmt.date(lot.ready_from),
                last=fmt.date(lot.ready_from + dt.timedelta(days=product.perishable_days)),
            ),
            "extend",
        )


async def extend_lot(
    uow: UnitOfWork, actor: dto.User, lot_id: int, new_to: dt.date, catalog: ProductCatalog, today: dt.date
) -> dto.Lot:
    """Move a lot's ready-to date later, within what the product keeps."""
    lot = await own_open_lot(uow, actor, lot_id, matched_too=True)
    check_extension(lot, new_to, catalog, today)
    await uow.lots.change(lot.id, ready_to=new_to)
    await uow.events.record(
        "lot", lot.id, actor.id, "extend", {"old": lot.ready_to.isoformat(), "new": new_to.isoformat()}
    )
    await emit(uow, LotChanged(lot.id))
    return await uow.lots.get(lot.id)  # type: ignore[return-value]


async def change_lot_price(
    uow: UnitOfWork, actor: dto.User, lot_id: int, price: float | None, catalog: ProductCatalog
) -> dto.Lot:
    """Set a lot's asking price, within the product's plausible range."""
    lot = await own_open_lot(uow, actor, lot_id, matched_too=True)
    product = catalog.get(lot.product_code)
    if product is None:
        raise RuleError(_("Không có sản phẩm này. Vui lòng chọn lại."), "price")
    new_price = check_price(product, price)
    await uow.lots.change(lot.id, asking_price=new_price)
    await uow.events.record(
        "lot", lot.id, actor.id, "change_price", {"old": lot.asking_price, "new": new_price}
    )
    await emit(uow, LotChanged(lot.id))
    return await uow.lots.get(lot.id)  # type: ignore[return-value]


def check_lot_new_window(
    lot: dto.Lot, start: dt.date, end: dt.date, catalog: ProductCatalog, today: dt.date
) -> None:
    """A new ready window: not past, as long as the product keeps, and not the same as now."""
    check_lot_window(catalog, lot.product_code, start, end, today)
    if (start, end) == (lot.ready_from, lot.ready_to):
        raise RuleError(_("Đó vẫn là thời gian cũ. Vui lòng gõ ngày khác."), "window")


async def change_lot_window(
    uow: UnitOfWork,
    actor: dto.User,
    lot_id: int,
    start: dt.date,
    end: dt.date,
    catalog: ProductCatalog,
    today: dt.date,
) -> dto.Lot:
    """Move a lot's ready window (both ends)."""
    lot = await own_open_lot(uow, actor, lot_id, matched_too=True)
    check_lot_new_window(lot, start, end, catalog, today)
    await uow.lots.change(lot.id, ready_from=start, ready_to=end)
    await uow.events.record(
        "lot",
        lot.id,
        actor.id,
        "change_window",
        {
            "old": [lot.ready_from.isoformat(), lot.ready_to.isoformat()],
            "new": [start.isoformat(), end.isoformat()],
        },
    )
    await emit(uow, LotChanged(lot.id))
    return await uow.lots.get(lot.id)  # type: ignore[return-value]


async def cancel_lot(uow: UnitOfWork, actor: dto.User, lot_id: int, reason: str) -> dto.Lot:
    """Withdraw a lot, keeping the reason."""
    lot = await own_open_lot(uow, actor, lot_id)
    closed = _("Lô #{id} đã đóng, không thể thay đổi.").format(id=lot.id)
    cancelled = await withdraw(uow, uow.lots, "lot", lot, actor, reason, closed)
    await emit(uow, LotChanged(lot.id))
    return cancelled


async def expire_lots(uow: UnitOfWork, today: dt.date, limit: int = 500) -> list[dto.Lot]:
    """Close up to ``limit`` open lots whose ready window ended before ``today``; the ones closed now
    (their owners are told through ``LotExpired``)."""
    expired = await expire_past(uow, uow.lots, "lot", today, "ready_to", limit)
    for lot in expired:
        await emit(uow, LotExpired(lot.id))
        await emit(uow, LotChanged(lot.id))
    return expired
