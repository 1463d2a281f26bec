"""Lots and orders as people read them: one-line items, the summaries before saving, what the bot
says once something is saved or changed, and the notifications of the trade events (a lot or an
order expired, a new collection point to approve)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot import formatting as fmt
from bot.domain_events import LotExpired, OrderExpired
from bot.engine.screens import Screen
from bot.i18n import _, use_locale
from bot.presentation.labels import certs_text, grade_label, point_label, product_name, status_label
from bot.presentation.notifications import renders
from bot.presentation.notify import notify
from bot.services import trade
from storage import dto

if TYPE_CHECKING:
    from bot.container import Services
    from bot.services.lots import LotDraft, SavedLot
    from bot.services.orders import OrderDraft
    from storage.uow import UnitOfWork


# --- lines and summaries -------------------------------------------------------------------------


def item_line(services: Services, item: trade.Item) -> str:
    """One line: number, product, what is left, grade (lot) or price (order), window, status."""
    detail = grade_label(item.grade) if isinstance(item, dto.Lot) else fmt.price_per_kg(item.price)
    return _("#{id} {product} – còn {left}/{total} · {detail} · {window} · {status}").format(
        id=item.id,
        product=product_name(services, item.product_code),
        left=fmt.kg(item.remaining_kg),
        total=fmt.kg(item.quantity_kg),
        detail=detail,
        window=fmt.date_range(*trade.window_of(item)),
        status=status_label(item.status),
    )


def region_text(services: Services, provinces: Sequence[int], points: Sequence[dto.CollectionPoint]) -> str:
    """The provinces and collection points of an order, in one line."""
    places = services.places
    parts = [places.provinces[c].name for c in provinces if c in places.provinces]
    parts += [point_label(services, p) for p in points]
    return "; ".join(parts) or "—"


def lot_summary(
    services: Services, draft: LotDraft, point: dto.CollectionPoint | None
) -> list[tuple[str, str]]:
    """The rows of a lot's summary before it is saved."""
    if draft.new_point is not None:
        where = _("{address} (điểm mới, chờ cán bộ duyệt)").format(
            address=draft.new_point.address or draft.new_point.name
        )
    else:
        where = point_label(services, point) if point else "?"
    rows = [
        (_("Sản phẩm"), product_name(services, draft.product_code)),
        (_("Khối lượng"), fmt.kg(draft.quantity_kg)),
        (_("Loại"), grade_label(draft.grade)),
        (_("Chứng nhận"), certs_text(draft.certifications, draft.growing_area_code)),
        (_("Điểm tập kết"), where),
        (_("Sẵn sàng"), fmt.date_range(draft.ready_from, draft.ready_to)),
        (
            _("Giá mong muốn"),
            fmt.price_per_kg(draft.asking_price) if draft.asking_price else _("chưa đặt"),
        ),
    ]
    if draft.shares:
        rows.append((_("Các hộ góp"), "; ".join(f"{s.household} {fmt.kg(s.kg)}" for s in draft.shares)))
    return rows


def order_summary(
    services: Services, draft: OrderDraft, points: Sequence[dto.CollectionPoint]
) -> list[tuple[str, str]]:
    """The rows of an order's summary before it is saved."""
    return [
        (_("Sản phẩm"), product_name(services, draft.product_code)),
        (_("Khối lượng"), fmt.kg(draft.quantity_kg)),
        (_("Giá mua"), fmt.price_per_kg(draft.price)),
        (_("Lô tối thiểu"), fmt.kg(draft.min_lot_kg) if draft.min_lot_kg else _("không yêu cầu")),
        (_("Lấy hàng"), fmt.date_range(draft.pickup_from, draft.pickup_to)),
        (_("Khu vực"), region_text(services, draft.provinces, points)),
        (_("Loại nhận"), ", ".join(grade_label(g) for g in draft.grades)),
        (_("Chứng nhận yêu cầu"), certs_text(draft.required_certs)),
    ]


# --- outcomes ----------------------------------------------------------------------------------------


def lot_saved(services: Services, saved: SavedLot) -> str:
    """What the rep reads once the lot is saved (and what happens to a lot at a new point)."""
    lot = saved.lot
    text = _("Đã lưu lô #{id}: {product}, {quantity}. Khi có thương lái phù hợp, bot sẽ báo bạn.").format(
        id=lot.id, product=product_name(services, lot.product_code), quantity=fmt.kg(lot.quantity_kg)
    )
    if saved.point_pending:
        if services.settings.unapproved_points == "warn":
            text += "\n" + _("Điểm tập kết mới chưa được cán bộ duyệt; thương lái sẽ được báo điều này.")
        else:
            text += "\n" + _(
                "Điểm tập kết mới cần cán bộ duyệt trước: lô sẽ được giới thiệu cho thương lái ngay khi điểm được duyệt."
            )
    return text


def order_saved(services: Services, order: dto.Order) -> str:
    """What the trader reads once the order is saved."""
    return _(
        "Đã lưu đơn #{id}: {product}, {quantity}, {price}. Khi có lô hàng phù hợp, bot sẽ báo bạn."
    ).format(
        id=order.id,
        product=product_name(services, order.product_code),
        quantity=fmt.kg(order.quantity_kg),
        price=fmt.price_per_kg(order.price),
    )


def volume_changed(item_id: int, old_kg: int, new_kg: int) -> str:
    return _("Đã đổi khối lượng #{id} từ {old} thành {new}.").format(
        id=item_id, old=fmt.kg(old_kg), new=fmt.kg(new_kg)
    )


def extended(item: trade.Item) -> str:
    return _("Đã gia hạn #{id} đến {day}.").format(id=item.id, day=fmt.date(trade.window_of(item)[1]))


def price_changed(item: trade.Item, old: int | None) -> str:
    new = (item.asking_price if isinstance(item, dto.Lot) else item.price) or 0
    if old is None:
        return _("Đã đặt giá #{id}: {new}.").format(id=item.id, new=fmt.price_per_kg(new))
    return _("Đã đổi giá #{id} từ {old} thành {new}.").format(
        id=item.id, old=fmt.price_per_kg(old), new=fmt.price_per_kg(new)
    )


def window_changed(item: trade.Item) -> str:
    return _("Đã đổi thời gian #{id}: {window}.").format(
        id=item.id, window=fmt.date_range(*trade.window_of(item))
    )


def volume_cut(item_id: int, new_kg: int, asked: int) -> str:
    """Said after a total below what is promised: nothing more is offered; the deals are asked."""
    return _(
        "#{id}: không ghép thêm cho ai nữa. Để còn {new}, bên kia của {n} đơn đã chốt được hỏi có đồng ý "
        "giảm không; đơn chỉ đổi khi họ đồng ý. Bot sẽ báo khi họ trả lời."
    ).format(id=item_id, new=fmt.kg(new_kg), n=asked)


def amendments_asked(asked: int) -> str:
    """Said after a change that needs the consent of the other side of accepted deals."""
    return _(
        "Các đơn đã chốt chưa đổi: bên kia của {n} đơn được hỏi có đồng ý không. Bot sẽ báo khi họ trả lời."
    ).format(n=asked)


def cancelled(item_id: int, reason: str) -> str:
    return _("Đã hủy #{id}. Lý do: {reason}.").format(id=item_id, reason=reason[:200])


# --- notifications ---------------------------------------------------------------------------------


@renders(LotExpired)
async def on_lot_expired(uow: UnitOfWork, services: Services, ev: LotExpired) -> None:
    """Tell the owner, in their language, that their lot expired."""
    lot = await trade.lot(uow, ev.lot_id)
    person = await trade.owner(uow, lot) if lot else None
    if lot is None or person is None:
        return
    with use_locale(person.locale):
        text = _(
            "Lô #{id} ({product}, còn {left}) đã hết hạn: thời gian sẵn sàng kết thúc ngày {day}. "
            "Gõ /thuhoach nếu bạn còn hàng để báo lại."
        ).format(
            id=lot.id,
            product=product_name(services, lot.product_code),
            left=fmt.kg(lot.remaining_kg),
            day=fmt.date(lot.ready_to),
        )
        screen = Screen(text)
    await notify(uow, services, person, screen, dedupe_key=f"expire:lot:{lot.id}")


@renders(OrderExpired)
async def on_order_expired(uow: UnitOfWork, services: Services, ev: OrderExpired) -> None:
    """Tell the trader, in their language, that their order expired."""
    order = await trade.order(uow, ev.order_id)
    person = await trade.owner(uow, order) if order else None
    if order is None or person is None:
        return
    with use_locale(person.locale):
        text = _(
            "Đơn #{id} ({product}, còn {left}) đã hết hạn: khung giờ lấy hàng kết thúc ngày {day}. "
            "Gõ /dathang nếu bạn vẫn cần mua."
        ).format(
            id=order.id,
            product=product_name(services, order.product_code),
            left=fmt.kg(order.remaining_kg),
            day=fmt.date(order.pickup_to),
        )
        screen = Screen(text)
    await notify(uow, services, person, screen, dedupe_key=f"expire:order:{order.id}")
