"""The market after matching, as people see it: proposals and their answers, the notices to the
other side, pickup slots, schedules, reminders, and the gouging notices of orders held back.

Renderers (:func:`renders`) turn the market's domain events into notifications; the flows use
the screen builders below for their replies; the reminder and morning-schedule jobs compose
their messages here. Buttons carry the typed actions defined here, which the handlers route.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import formatting as fmt
from bot.domain_events import (
    MatchAccepted,
    MatchCancelled,
    MatchDeclined,
    MatchExpired,
    MatchProposed,
    MatchWaiting,
    OrderHeldBelowFloor,
    SlotBooked,
)
from bot.engine.actions import Action, action
from bot.engine.screens import Option, Screen
from bot.events import Capabilities
from bot.i18n import _, use_locale
from bot.presentation.labels import grade_label, product_name
from bot.presentation.notifications import renders
from bot.presentation.notify import notify
from bot.services import reminders
from bot.services.matches import MADE, Answered, Deal, Decision, Outcome, household_split, load_deal
from bot.services.matches import reference_price as deal_reference_price
from bot.services.slots import Booked, Booking, PickupView, PointDay, Refusal, SlotDay
from storage import dto
from storage.repositories.slots import Pickup

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from bot.container import Services
    from storage.uow import UnitOfWork

MAX_SLOT_BUTTONS = 8
MAX_PICKUPS_SHOWN = 10
MAX_POINT_BUTTONS = 20


# --- what the buttons mean -------------------------------------------------------------------------


@action("mtd")
@dataclass(frozen=True, slots=True)
class DecideMatch(Action):
    """A party's answer to a proposal, or the trader's cancellation of a made deal."""

    match_id: int
    decision: Decision


@action("mts")
@dataclass(frozen=True, slots=True)
class ShowSlots(Action):
    """The slots with room for a made deal, on ``day`` (ISO date; "": the first day with room)."""

    match_id: int
    day: str


@action("mtb")
@dataclass(frozen=True, slots=True)
class BookSlot(Action):
    """Book this slot for the deal (``slot_id`` 0: the earliest that fits)."""

    match_id: int
    slot_id: int


@action("lcm")
@dataclass(frozen=True, slots=True)
class MyPickups(Action):
    """The person's own upcoming pickups."""


@action("lcp")
@dataclass(frozen=True, slots=True)
class ProvincePoints(Action):
    """The collection points of the official's province, to see one's day."""


@action("lcd")
@dataclass(frozen=True, slots=True)
class ShowPointDay(Action):
    """One point's day, slot by slot (``day`` ISO date; "": today)."""

    point_id: int
    day: str


EARLIEST = 0  # BookSlot.slot_id: the earliest slot that fits


def decision_options(match_id: int) -> tuple[Option, ...]:
    """✅ Đồng ý / ❌ Từ chối, typed as labels or as the words people use."""
    return (
        Option(_("✅ Đồng ý"), DecideMatch(match_id, Decision.ACCEPT), ("dong y", "ok", "chap nhan", "nhan")),
        Option(
            _("❌ Từ chối"),
            DecideMatch(match_id, Decision.DECLINE),
            ("tu choi", "khong dong y", "khong nhan"),
        ),
    )


def deal_options(match_id: int) -> tuple[Option, ...]:
    """What a trader can do with a made deal: pick a pickup time, take the earliest, or back out."""
    return (
        Option(_("Chọn giờ lấy hàng"), ShowSlots(match_id, ""), ("chon gio", "chon gio lay")),
        Option(_("Giờ sớm nhất"), BookSlot(match_id, EARLIEST), ("som nhat", "gio som")),
        Option(_("Hủy đơn"), DecideMatch(match_id, Decision.CANCEL)),
    )


# --- proposals and answers ---------------------------------------------------------------------------


def _contact(user: dto.User) -> str:
    return _("Liên hệ: {name} {phone}").format(name=user.name, phone=user.phone or "").rstrip()


def proposal_screen(
    services: Services, caps: Capabilities, deal: Deal, person: dto.User, reference: int | None
) -> Screen:
    """The proposal as ``person`` (the rep or the trader) reads it, with the two answers."""
    match, lot, point = deal.match, deal.lot, deal.point
    other = deal.other(person.id)
    lines = [
        _("🤝 Đề xuất ghép đơn #{id}").format(id=match.id),
        _("{product}: {kg}, giá {price} (tổng {total})").format(
            product=product_name(services, lot.product_code),
            kg=fmt.kg(match.kg),
            price=fmt.price_per_kg(match.price),
            total=fmt.money(match.kg * match.price),
        ),
        _("Điểm tập kết: {point}").format(point=point.name if point else "—"),
    ]
    if point is not None and point.status != "active":
        lines.append(_("⚠️ Lưu ý: điểm tập kết này do bên bán đề xuất, CHƯA được cán bộ duyệt."))
    lines += [
        _("Thời gian lấy hàng: {window}").format(window=fmt.date_range(*deal.window)),
        _("Giá tham chiếu: {ref}").format(ref=fmt.price_per_kg(reference))
        if reference
        else _("Chưa có giá tham chiếu."),
        (_("Người mua: {name}") if person.id == deal.rep.id else _("Người bán: {name}")).format(
            name=other.name
        ),
        _("Chọn Đồng ý nếu bạn nhận. Cả hai bên đồng ý thì đơn được chốt."),
    ]
    if not caps.buttons:
        # A later numbered message takes the numbers over; the code answers this one until it is decided.
        lines.append(
            _("Trả lời lúc nào cũng được: gõ «đồng ý {id}» hoặc «từ chối {id}».").format(id=match.id)
        )
    return Screen("\n".join(lines), decision_options(match.id), columns=2)


def deal_screen(headline: str, deal: Deal, person: dto.User, shares: tuple[tuple[str, int], ...]) -> Screen:
    """A made deal as one party reads it: the other side's name and phone; the households' parts
    for the rep; the pickup choices for the trader."""
    lines = [headline]
    if person.id == deal.rep.id and shares:
        lines.append(
            _("Chia theo hộ: {shares}").format(shares=", ".join(f"{name} {fmt.kg(n)}" for name, n in shares))
        )
    lines.append(_contact(deal.other(person.id)))
    if person.id != deal.trader.id:
        return Screen("\n".join(lines))
    lines.append(_("Bây giờ hãy chọn giờ lấy hàng."))
    return Screen("\n".join(lines), deal_options(deal.match.id), columns=2)


def answered_screen(user: dto.User, answered: Answered) -> Screen:
    """The reply to a party's answer."""
    if answered.outcome is Outcome.ACCEPTED and answered.deal is not None:
        return deal_screen(_("✅ Đơn đã chốt! Cả hai bên đã đồng ý."), answered.deal, user, answered.shares)
    texts = {
        Outcome.WAITING: _("Bạn đã đồng ý. Đang chờ bên kia trả lời."),
        Outcome.DECLINED: _("Bạn đã từ chối đề xuất này."),
        Outcome.CANCELLED: _("Đã hủy đơn. Việc hủy được ghi lại."),
        Outcome.NOT_YOURS: _("Đề xuất này không phải của bạn."),
    }
    return Screen(texts.get(answered.outcome, _("Đề xuất này đã được xử lý hoặc đã hết hạn.")))


def unknown_code_text(match_id: int) -> str:
    return _("Không tìm thấy đề xuất #{id} của bạn.").format(id=match_id)


@renders(MatchProposed)
async def on_proposed(uow: UnitOfWork, services: Services, ev: MatchProposed) -> None:
    deal = await load_deal(uow, ev.match_id)
    if deal is None or deal.match.status != "proposed":
        return  # answered, expired or withdrawn before this was rendered: nothing to ask
    reference = await deal_reference_price(uow, deal, services.clock.today())
    for person in (deal.rep, deal.trader):
        with use_locale(person.locale):
            screen = proposal_screen(services, services.capabilities(person.channel), deal, person, reference)
        await notify(uow, services, person, screen, dedupe_key=f"proposal:{deal.match.id}:{person.id}")


@renders(MatchWaiting)
async def on_waiting(uow: UnitOfWork, services: Services, ev: MatchWaiting) -> None:
    deal = await load_deal(uow, ev.match_id)
    if deal is None or deal.match.status != "proposed" or deal.side_of(ev.by) is None:
        return
    who, other = deal.rep if ev.by == deal.rep.id else deal.trader, deal.other(ev.by)
    with use_locale(other.locale):
        text = _("{name} đã đồng ý đề xuất #{id}. Đang chờ bạn trả lời.").format(
            name=who.name, id=deal.match.id
        )
        screen = Screen(text, decision_options(deal.match.id), columns=2)
    await notify(uow, services, other, screen, dedupe_key=f"waiting:{deal.match.id}:{other.id}")


@renders(MatchAccepted)
async def on_accepted(uow: UnitOfWork, services: Services, ev: MatchAccepted) -> None:
    deal = await load_deal(uow, ev.match_id)
    if deal is None or deal.match.status not in MADE:
        return
    shares = await household_split(uow, deal)
    for person in (deal.rep, deal.trader):
        if person.id == ev.by:
            continue  # the reply to their answer said it all
        with use_locale(person.locale):
            headline = _("✅ Đơn #{id} đã chốt: {kg}, cả hai bên đã đồng ý.").format(
                id=deal.match.id, kg=fmt.kg(deal.match.kg)
            )
            screen = deal_screen(headline, deal, person, shares)
        await notify(uow, services, person, screen, dedupe_key=f"accepted:{deal.match.id}:{person.id}")


@renders(MatchDeclined)
async def on_declined(uow: UnitOfWork, services: Services, ev: MatchDeclined) -> None:
    deal = await load_deal(uow, ev.match_id)
    if deal is None or deal.side_of(ev.by) is None:
        return
    other = deal.other(ev.by)
    with use_locale(other.locale):
        text = _("Đề xuất #{id} ({kg}) đã bị bên kia từ chối. Hệ thống sẽ tìm đối tác khác cho bạn.").format(
            id=deal.match.id, kg=fmt.kg(deal.match.kg)
        )
    await notify(uow, services, other, Screen(text), dedupe_key=f"declined:{deal.match.id}:{other.id}")


@renders(MatchCancelled)
async def on_cancelled(uow: UnitOfWork, services: Services, ev: MatchCancelled) -> None:
    deal = await load_deal(uow, ev.match_id)
    if deal is None:
        return
    rep = deal.rep
    with use_locale(rep.locale):
        text = _(
            "Thương lái {name} đã hủy đơn #{id} ({kg}). Hàng được đưa lại để ghép với người mua khác."
        ).format(name=deal.trader.name, id=deal.match.id, kg=fmt.kg(deal.match.kg))
    await notify(uow, services, rep, Screen(text), dedupe_key=f"cancelled:{deal.match.id}:{rep.id}")


@renders(MatchExpired)
async def on_expired(uow: UnitOfWork, services: Services, ev: MatchExpired) -> None:
    deal = await load_deal(uow, ev.match_id)
    if deal is None:
        return
    for person in (deal.rep, deal.trader):
        with use_locale(person.locale):
            text = _("Đề xuất #{id} đã hết hạn vì chưa đủ hai bên trả lời.").format(id=deal.match.id)
        await notify(uow, services, person, Screen(text), dedupe_key=f"expired:{deal.match.id}:{person.id}")


# --- gouging: an order held back ---------------------------------------------------------------------


@renders(OrderHeldBelowFloor)
async def on_held_below_floor(uow: UnitOfWork, services: Services, ev: OrderHeldBelowFloor) -> None:
    """The trader is told why the order is not matched there; the province's officials are alerted."""
    order = await uow.orders.get(ev.order_id)
    if order is None:
        return
    trader = await uow.users.get(order.trader_id)
    province = services.places.provinces.get(ev.province_code)
    place = province.name if province else str(ev.province_code)
    if trader is not None:
        with use_locale(trader.locale):
            text = _(
                "Đơn mua {product} giá {price} thấp hơn giá sàn ở {place} ({floor}; giá tham chiếu "
                "{ref}). Đơn chưa được ghép với hàng ở đó. Ép giá nông dân là không được phép."
            ).format(
                product=product_name(services, order.product_code),
                price=fmt.price_per_kg(ev.price),
                place=place,
                floor=fmt.price_per_kg(ev.floor),
                ref=fmt.price_per_kg(ev.reference),
            )
        key = f"floor:trader:{order.id}:{ev.province_code}:{ev.price}"
        await notify(uow, services, trader, Screen(text), dedupe_key=key)
    for official in await uow.users.with_role(("official",), ev.province_code):
        with use_locale(official.locale):
            text = _(
                "Cảnh báo ép giá: thương lái {trader} đặt mua {product} giá {price}, dưới giá sàn "
                "{floor} (tham chiếu {ref}) ở {place}."
            ).format(
                trader=trader.name if trader else "?",
                product=product_name(services, order.product_code),
                price=fmt.price_per_kg(ev.price),
                floor=fmt.price_per_kg(ev.floor),
                ref=fmt.price_per_kg(ev.reference),
                place=place,
            )
        key = f"floor:official:{official.id}:{order.id}:{ev.price}"
        await notify(uow, services, official, Screen(text), dedupe_key=key)


# --- pickup slots ------------------------------------------------------------------------------------


def _hours(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> str:
    """07:00–08:00 in local time."""
    return f"{start.astimezone(tz):%H:%M}–{end.astimezone(tz):%H:%M}"


def _hour_words(start: dt.datetime, tz: ZoneInfo) -> tuple[str, ...]:
    """What people type for a slot starting at 7:00 ("7h", "7 giờ", "7g") — never a bare "7",
    which on a numbered list means the seventh option."""
    local = start.astimezone(tz)
    if local.minute:
        return (f"{local.hour}h{local.minute:02d}", f"{local.hour} gio {local.minute:02d}")
    return (f"{local.hour}h", f"{local.hour} gio", f"{local.hour}g", f"{local.hour}h00")


def refusal_text(refusal: Refusal, match_id: int) -> str:
    """Why a trader cannot book this deal's pickup."""
    if refusal is Refusal.NOT_MADE:
        return _("Đơn #{id} chưa chốt hoặc đã đóng, không đặt giờ lấy hàng được.").format(id=match_id)
    if refusal is Refusal.POINT_CLOSED:
        return _("Điểm tập kết của lô này chưa hoạt động. Vui lòng liên hệ cán bộ.")
    return _("Đơn này không phải của bạn.")


def slots_screen(services: Services, found: SlotDay) -> Screen:
    """The slots with room on one day, with "Ngày sau »" while the window goes on."""
    deal, point, tz = found.pickable.deal, found.pickable.point, services.settings.tz
    match = deal.match
    if found.day is None:
        return Screen(
            _(
                "Không còn khung giờ trống cho {kg} tại {point} từ {start} đến {end}. Vui lòng liên hệ cán bộ."
            ).format(
                kg=fmt.kg(match.kg),
                point=point.name,
                start=fmt.date(found.pickable.first_day),
                end=fmt.date(found.pickable.last_day),
            )
        )
    options = [
        Option(_hours(s.starts_at, s.ends_at, tz), BookSlot(match.id, s.id), _hour_words(s.starts_at, tz))
        for s in found.slots[:MAX_SLOT_BUTTONS]
    ]
    if found.has_next:
        next_day = (found.day + dt.timedelta(days=1)).isoformat()
        options.append(Option(_("Ngày sau »"), ShowSlots(match.id, next_day), ("ngay sau", "sau", "tiep")))
    text = _("Chọn giờ lấy {kg} tại {point}, ngày {day}:").format(
        kg=fmt.kg(match.kg), point=point.name, day=fmt.date(found.day)
    )
    return Screen(text, tuple(options), columns=2)


def booking_text(services: Services, outcome: Booked | Booking, match_id: int) -> str:
    """What became of a booking."""
    if isinstance(outcome, Booked):
        deal, tz = outcome.pickable.deal, services.settings.tz
        when = outcome.slot.starts_at.astimezone(tz)
        return _("Đã đặt giờ lấy hàng: {time} ngày {day} tại {point} ({kg} {product}).").format(
            time=f"{when:%H:%M}",
            day=fmt.date(when.date()),
            point=outcome.pickable.point.name,
            kg=fmt.kg(deal.match.kg),
            product=product_name(services, deal.lot.product_code),
        )
    if outcome is Booking.FULL:
        return _("Khung giờ này vừa hết chỗ. Vui lòng chọn giờ khác.")
    return _("Không đặt được khung giờ này cho đơn #{id}.").format(id=match_id)


@renders(SlotBooked)
async def on_slot_booked(uow: UnitOfWork, services: Services, ev: SlotBooked) -> None:
    """The rep learns who comes when, with how many kilograms."""
    deal = await load_deal(uow, ev.match_id)
    slot = await uow.slots.get(ev.slot_id)
    if deal is None or slot is None or deal.match.slot_id != ev.slot_id:
        return  # moved again since: the later booking tells
    rep, tz = deal.rep, services.settings.tz
    when = slot.starts_at.astimezone(tz)
    point = deal.point
    with use_locale(rep.locale):
        text = _(
            "🚚 Thương lái {trader} sẽ đến {point} lúc {time} ngày {day} lấy {kg} {product} (đơn #{id})."
        ).format(
            trader=deal.trader.name,
            point=point.name if point else "—",
            time=f"{when:%H:%M}",
            day=fmt.date(when.date()),
            kg=fmt.kg(deal.match.kg),
            product=product_name(services, deal.lot.product_code),
            id=deal.match.id,
        )
    await notify(uow, services, rep, Screen(text), dedupe_key=f"scheduled:{deal.match.id}:{ev.slot_id}")


# --- schedules ---------------------------------------------------------------------------------------


def _who(user: dto.User | None) -> str:
    if user is None:
        return "?"
    return f"{user.name} ({user.phone})" if user.phone else str(user.name)


def _goods(services: Services, p: Pickup) -> str:
    return _("{kg} {product}, {grade}").format(
        kg=fmt.kg(p.kg), product=product_name(services, p.product_code), grade=grade_label(p.grade)
    )


def _where(point: dto.CollectionPoint | None) -> str:
    if point is None:
        return "?"
    return f"{point.name}, {point.address}" if point.address else point.name


def pickup_line(services: Services, view: PickupView, role: str) -> str:
    """One line of a schedule as ``role`` reads it: what to bring or receive, when, from or for whom."""
    p, tz = view.pickup, services.settings.tz
    hours = _hours(p.starts_at, p.ends_at, tz)
    if role == reminders.REP:
        text = _("{hours}: mang {goods} giao cho thương lái {trader}")
        return text.format(hours=hours, goods=_goods(services, p), trader=_who(view.trader))
    text = _("{hours}: nhận {goods} của {rep}")
    return text.format(hours=hours, goods=_goods(services, p), rep=_who(view.rep))


def my_pickups_screen(services: Services, user: dto.User, views: list[PickupView]) -> Screen:
    """The person's upcoming pickups, as rep or as trader."""
    if not views:
        return Screen(_("Bạn chưa có lịch lấy hàng nào sắp tới."))
    tz = services.settings.tz
    lines = [_("Lịch lấy hàng sắp tới của bạn:")]
    for view in views[:MAX_PICKUPS_SHOWN]:
        role = reminders.REP if view.pickup.rep_id == user.id else reminders.TRADER
        day = fmt.date(view.pickup.starts_at.astimezone(tz).date())
        where = view.point.name if view.point else "?"
        lines.append(f"• {day}, {where} – {pickup_line(services, view, role)}")
    if len(views) > MAX_PICKUPS_SHOWN:
        lines.append(_("… và {count} lượt khác.").format(count=len(views) - MAX_PICKUPS_SHOWN))
    return Screen("\n".join(lines))


def province_points_screen(points: list[dto.CollectionPoint]) -> Screen:
    """Which point's day to see (officials)."""
    if not points:
        return Screen(_("Tỉnh của bạn chưa có điểm tập kết nào. Gõ /diemtapket để thêm."))
    options = [Option(p.name[:40], ShowPointDay(p.id, "")) for p in points[:MAX_POINT_BUTTONS]]
    options.append(Option(_("Lịch của tôi"), MyPickups(), ("lich cua toi",)))
    return Screen(_("Xem lịch hôm nay của điểm tập kết nào?"), tuple(options))


def point_day_screen(services: Services, day: PointDay, today: dt.date) -> Screen:
    """Every slot of one point on one day: room left and who comes with how many kg."""
    tz, point = services.settings.tz, day.point
    lines = [_("📋 {point} – ngày {day}:").format(point=point.name, day=fmt.date(day.day))]
    if not day.slots:
        lines.append(_("Điểm không có khung giờ nào trong ngày này."))
    for slot in day.slots:
        lines.append(
            _("{start}–{end}: {booked}/{capacity}, {trucks}/{max_trucks} xe").format(
                start=f"{slot.starts_at.astimezone(tz):%H:%M}",
                end=f"{slot.ends_at.astimezone(tz):%H:%M}",
                booked=fmt.number(slot.booked_kg),
                capacity=fmt.kg(slot.capacity_kg),
                trucks=slot.booked_trucks,
                max_trucks=slot.capacity_trucks,
            )
        )
        for view in day.pickups:
            if view.pickup.slot_id == slot.id:
                p = view.pickup
                lines.append(
                    "   "
                    + _("– {trader} nhận {kg} {product} của {rep}").format(
                        trader=view.trader.name if view.trader else "?",
                        kg=fmt.kg(p.kg),
                        product=product_name(services, p.product_code),
                        rep=view.rep.name if view.rep else "?",
                    )
                )
    nav = [Option(_("Ngày mai »"), ShowPointDay(point.id, (day.day + dt.timedelta(days=1)).isoformat()))]
    if day.day > today:
        previous = (day.day - dt.timedelta(days=1)).isoformat()
        nav.insert(0, Option(_("« Ngày trước"), ShowPointDay(point.id, previous), ("ngay truoc",)))
    nav.append(Option(_("« Điểm khác"), ProvincePoints(), ("diem khac",)))
    return Screen("\n".join(lines), tuple(nav), columns=2)


def point_not_found_text() -> str:
    return _("Không tìm thấy điểm tập kết này trong tỉnh của bạn.")


def no_province_text() -> str:
    return _("Tài khoản của bạn chưa có tỉnh. Gõ /start để cập nhật.")


# --- reminders and morning schedules (scheduler jobs) ----------------------------------------------------


def _reminder(services: Services, view: PickupView, role: str, kind: str) -> str:
    p, tz = view.pickup, services.settings.tz
    local_start = p.starts_at.astimezone(tz)
    hours = _hours(p.starts_at, p.ends_at, tz)
    when = (
        _("ngày mai {day}, {hours}") if kind == reminders.EVE else _("hôm nay {hours} (còn khoảng 1 giờ nữa)")
    ).format(day=fmt.date(local_start.date()), hours=hours)
    values = {
        "when": when,
        "goods": _goods(services, p),
        "where": _where(view.point),
        "trader": _who(view.trader),
        "rep": _who(view.rep),
        "price": fmt.price_per_kg(p.price),
    }
    if role == reminders.REP:
        text = _(
            "⏰ Nhắc lịch giao hàng {when}: mang {goods} đến {where} giao cho thương lái {trader}. "
            "Giá đã chốt: {price}."
        )
    else:
        text = _("⏰ Nhắc lịch lấy hàng {when}: nhận {goods} của {rep} tại {where}. Giá đã chốt: {price}.")
    return text.format(**values)


async def send_pickup_reminders(services: Services) -> int:
    """Remind both sides of every scheduled pickup: from 18:00 the evening before, and in the hour
    before it starts. Returns how many reminders were queued (0 when all were sent already)."""
    clock, tz = services.clock, services.settings.tz
    queued = 0
    async with services.db.uow() as uow:
        for kind, view in await reminders.due_reminders(uow, clock.now(), clock.local_now(), tz):
            for role, person in reminders.parties(view):
                with use_locale(person.locale):
                    screen = Screen(_reminder(services, view, role, kind))
                key = f"remind:{kind}:{view.pickup.match_id}:{role}"
                if await notify(uow, services, person, screen, dedupe_key=key):
                    queued += 1
    if queued:
        services.wake_outbox()
    return queued


async def send_morning_schedules(services: Services) -> int:
    """Each person with pickups today gets one message per collection point listing them all."""
    today, tz = services.clock.today(), services.settings.tz
    queued = 0
    async with services.db.uow() as uow:
        for (point_id, person_id), (person, items) in (
            await reminders.schedules_of_day(uow, today, tz)
        ).items():
            with use_locale(person.locale):
                head = _("📋 Lịch lấy hàng hôm nay {day} tại {where}:").format(
                    day=fmt.date(today), where=_where(items[0][0].point)
                )
                body = [f"• {pickup_line(services, view, role)}" for view, role in items]
            key = f"digest:{point_id}:{today.isoformat()}:{person_id}"
            if await notify(uow, services, person, Screen("\n".join([head, *body])), dedupe_key=key):
                queued += 1
    if queued:
        services.wake_outbox()
    return queued
