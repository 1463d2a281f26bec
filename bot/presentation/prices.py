"""Prices and the anti-gouging notice as people read them: answers to price questions, what an
official reads after setting a price, the morning price bulletin to a product's followers, and
the weekly anti-price-gouging notice (its settings card for officials, its text, its job)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot import formatting as fmt
from bot.catalog import Product
from bot.engine.actions import Action, action
from bot.engine.screens import Option, Screen
from bot.i18n import _, use_locale
from bot.presentation.notify import notify
from bot.services import notices, prices
from bot.services.notices import NoticeProblem
from storage import dto
from storage.repositories.notices import NoticeInfo

if TYPE_CHECKING:
    from bot.container import Services
    from storage.uow import UnitOfWork

EVERYWHERE_LINES = 12
STOP_SYNONYMS = ("thoi nhan", "bo", "bo theo doi", "huy dang ky", "thoi", "tat", "khong nhan")
FOLLOW_SYNONYMS = ("nhan", "nhan ban tin", "dang ky", "theo doi", "co")


# --- the buttons ---------------------------------------------------------------------------------------------


@action("giap")
@dataclass(frozen=True, slots=True)
class AskPrice(Action):
    """Show a product's reference price."""

    product: str


@action("gias")
@dataclass(frozen=True, slots=True)
class FollowPrice(Action):
    """Follow (or stop following) a product's morning price bulletin."""

    product: str
    on: bool


class NoticeField(enum.StrEnum):
    TEXT = "text"
    WHEN = "when"
    SEASON = "season"


@action("ntf")
@dataclass(frozen=True, slots=True)
class EditNotice(Action):
    field: NoticeField


@action("nts")
@dataclass(frozen=True, slots=True)
class SwitchNotice(Action):
    on: bool


@action("ntp")
@dataclass(frozen=True, slots=True)
class PreviewNotice(Action):
    pass


@action("ntx")
@dataclass(frozen=True, slots=True)
class CloseNotice(Action):
    pass


# --- price answers ---------------------------------------------------------------------------------------------


def unknown_product(text: str, suggestions: Sequence[Product]) -> str:
    msg = _("Không có sản phẩm «{text}» trong danh mục.").format(text=text[:40])
    if suggestions:
        msg += " " + _("Có phải bạn muốn: {names}?").format(names=", ".join(p.name_vi for p in suggestions))
    return msg


def price_text(
    services: Services, product: Product, province_code: int, info: prices.PriceInfo | None
) -> str:
    """ "Giá tham chiếu Na tại Tỉnh Lạng Sơn: 30.000 ₫/kg (áp dụng từ 10/09/2026, do cán bộ X đặt)"."""
    province = services.places.provinces[province_code].name
    if info is None:
        return _("{product} tại {province}: chưa có giá tham chiếu.").format(
            product=product.name_vi, province=province
        )
    source = (
        _("do cán bộ {name} đặt").format(name=info.set_by_name)
        if info.set_by_name
        else _("theo danh sách của Sở Công Thương")
    )
    return _("Giá tham chiếu {product} tại {province}: {price} (áp dụng từ {day}, {source}).").format(
        product=product.name_vi,
        province=province,
        price=fmt.price_per_kg(info.price),
        day=fmt.date(info.valid_from),
        source=source,
    )


def follow_option(product: Product, following: bool) -> Option:
    if following:
        return Option(
            _("🔕 Thôi nhận bản tin giá {product}").format(product=product.name_vi),
            FollowPrice(product.code, False),
            STOP_SYNONYMS,
        )
    return Option(
        _("🔔 Nhận bản tin giá {product} mỗi sáng").format(product=product.name_vi),
        FollowPrice(product.code, True),
        FOLLOW_SYNONYMS,
    )


def realized_text(realized: prices.RealizedPrice) -> str:
    """ "Giá thực tế (đã cân, đã trả, 30 ngày): 31.500 ₫/kg trên 12.400 kg"."""
    return _("Giá thực tế (đã cân, đã trả, {days} ngày): {price} trên {kg}").format(
        days=realized.days, price=fmt.price_per_kg(realized.price), kg=fmt.kg(realized.kg)
    )


def price_answer(
    services: Services,
    product: Product,
    province_code: int,
    info: prices.PriceInfo | None,
    following: bool | None,
    realized: prices.RealizedPrice | None = None,
) -> Screen:
    """The answer to "giá na?": the reference price, and what deals were really paid when there were
    any; with a follow button unless ``following`` is None (a group chat)."""
    text = price_text(services, product, province_code, info)
    if realized is not None:
        text += "\n" + realized_text(realized)
    if following is None:
        return Screen(text)
    return Screen(text, (follow_option(product, following),))


def price_everywhere(services: Services, product: Product, found: Sequence[dto.ReferencePrice]) -> Screen:
    """A product's price in every province that has one (for someone whose province is unknown)."""
    if not found:
        return Screen(_("{product}: chưa có giá tham chiếu ở tỉnh nào.").format(product=product.name_vi))
    lines = [_("Giá tham chiếu {product} hôm nay:").format(product=product.name_vi)]
    for p in found[:EVERYWHERE_LINES]:
        lines.append(f"• {services.places.provinces[p.province_code].name}: {fmt.price_per_kg(p.price)}")
    return Screen("\n".join(lines))


def _price_lines(services: Services, found: Sequence[dto.ReferencePrice]) -> list[str]:
    lines = []
    for p in found:
        product = services.catalog.get(p.product_code)
        name = product.name_vi if product else p.product_code
        lines.append(f"• {name}: {fmt.price_per_kg(p.price)}")
    return lines


def province_prices(services: Services, province_code: int, found: Sequence[dto.ReferencePrice]) -> Screen:
    """Every reference price of a province ("giá hôm nay?" without a product, in a group)."""
    if not found:
        return Screen(_("Chưa có giá tham chiếu nào trong tỉnh."))
    province = services.places.provinces[province_code].name
    lines = [_("Giá tham chiếu tại {province} hôm nay:").format(province=province)]
    return Screen("\n".join([*lines, *_price_lines(services, found)]))


def choose_product(products: Sequence[Product]) -> Screen:
    return Screen(
        _("Bạn muốn xem giá tham chiếu của sản phẩm nào? Chọn hoặc gõ /gia <tên sản phẩm>."),
        tuple(Option(p.name_vi, AskPrice(p.code)) for p in products),
        columns=2,
    )


def price_usage() -> str:
    return _("Gõ /gia <tên sản phẩm>, ví dụ: /gia na.")


def follow_answer(product: Product, on: bool) -> str:
    if on:
        return _(
            "Đã đăng ký. Mỗi sáng 7 giờ, khi giá tham chiếu {product} thay đổi, bạn sẽ nhận tin."
        ).format(product=product.name_vi)
    return _("Đã thôi nhận bản tin giá {product}.").format(product=product.name_vi)


# --- setting a price ---------------------------------------------------------------------------------------------


def out_of_range(err: prices.PriceOutOfRange) -> str:
    return _("Giá tham chiếu cho {product} phải từ {low} đến {high}.").format(
        product=err.product.name_vi, low=fmt.price_per_kg(err.low), high=fmt.price_per_kg(err.high)
    )


def price_question(product: Product) -> str:
    low, high = prices.allowed_range(product)
    return _(
        "Giá tham chiếu {product} hôm nay là bao nhiêu đồng/kg? (từ {low} đến {high}, ví dụ: 30k)"
    ).format(product=product.name_vi, low=fmt.price_per_kg(low), high=fmt.price_per_kg(high))


def price_set(services: Services, product: Product, saved: dto.ReferencePrice) -> str:
    return _("Đã đặt giá tham chiếu {product} tại {province}: {price}, áp dụng từ hôm nay {day}.").format(
        product=product.name_vi,
        province=services.places.provinces[saved.province_code].name,
        price=fmt.price_per_kg(saved.price),
        day=fmt.date(saved.valid_from),
    )


def set_usage() -> str:
    return _("Cách dùng: /giathamchieu <sản phẩm> <giá>, ví dụ: /giathamchieu na 30000 (hoặc 30k, 30.000).")


def own_province_only(services: Services, own: int | None) -> str:
    return _("Bạn chỉ đặt được giá tham chiếu cho tỉnh của mình ({province}).").format(
        province=services.places.provinces[own].name if own else "—"
    )


def unknown_province(text: str) -> str:
    return _("Không tìm thấy tỉnh «{text}».").format(text=text[:40])


def no_province() -> str:
    return _("Tài khoản của bạn chưa có tỉnh. Gõ /start để cập nhật.")


# --- the morning bulletin ------------------------------------------------------------------------------------------

BULLETIN_BATCH = 200


def bulletin(services: Services, item: prices.BulletinItem) -> Screen:
    """One follower's morning message about one product (in their locale)."""
    product = services.catalog.get(item.product_code)
    name = product.name_vi if product else item.product_code
    values = {
        "day": fmt.date(services.clock.today()),
        "product": name,
        "province": services.places.provinces[item.province_code].name,
        "price": fmt.price_per_kg(item.price),
        "old": fmt.price_per_kg(item.old_price) if item.old_price is not None else "",
    }
    if item.old_price is None:
        text = _("Bản tin giá sáng {day}: giá tham chiếu {product} tại {province} là {price}.")
    else:
        text = _(
            "Bản tin giá sáng {day}: giá tham chiếu {product} tại {province} là {price} (trước đó {old})."
        )
    stop = Option(
        _("🔕 Thôi nhận bản tin {product}").format(product=name),
        FollowPrice(item.product_code, False),
        STOP_SYNONYMS,
    )
    return Screen(text.format(**values), (stop,))


async def send_price_bulletins(services: Services) -> int:
    """Tell the followers of each product its reference price in their province, when it changed
    since the last bulletin; one message per person, product and day. Returns messages queued."""
    today = services.clock.today()
    async with services.db.reader() as uow:
        due = await prices.due_bulletins(
            uow, services.catalog, now=services.clock.now(), today=today, tz=services.settings.tz
        )
    queued = 0
    for start in range(0, len(due), BULLETIN_BATCH):
        # A batch a transaction: thousands of followers never hold the writer for long.
        async with services.db.uow() as uow:
            for item in due[start : start + BULLETIN_BATCH]:
                with use_locale(item.user.locale):
                    screen = bulletin(services, item)
                dedupe = f"bulletin:{item.user.id}:{item.product_code}:{today.isoformat()}"
                if await notify(uow, services, item.user, screen, dedupe_key=dedupe):
                    queued += 1
    if queued:
        services.wake_outbox()
    return queued


# --- the weekly anti-gouging notice ----------------------------------------------------------------------------------

_NOTICE_PAGE = 200


def weekday_label(weekday: int) -> str:
    """Thứ Hai ... Chủ nhật."""
    labels = (_("Thứ Hai"), _("Thứ Ba"), _("Thứ Tư"), _("Thứ Năm"), _("Thứ Sáu"), _("Thứ Bảy"), _("Chủ nhật"))
    return labels[weekday]


def season_text(notice: NoticeInfo) -> str:
    if notice.season_from is None or notice.season_to is None:
        return _("cả năm")
    return f"{notice.season_from:%d/%m} – {notice.season_to:%d/%m}"


def notice_problem(problem: NoticeProblem) -> str:
    return {
        NoticeProblem.TEXT_LENGTH: _("Nội dung thông báo cần từ 10 đến 800 ký tự."),
        NoticeProblem.SEASON: _(
            "Chưa hiểu mùa vụ. Gõ theo dạng ngày bắt đầu - ngày kết thúc, ví dụ: 15/8 - 31/10."
        ),
    }[problem]


def notice_options(notice: NoticeInfo) -> tuple[Option, ...]:
    toggle = (
        Option(_("🔕 Tắt"), SwitchNotice(False), ("tat",))
        if notice.enabled
        else Option(_("🔔 Bật"), SwitchNotice(True), ("bat",))
    )
    return (
        Option(_("✏️ Sửa nội dung"), EditNotice(NoticeField.TEXT), ("sua noi dung", "noi dung")),
        Option(_("🕖 Sửa ngày giờ"), EditNotice(NoticeField.WHEN), ("sua ngay gio", "ngay gio", "gio")),
        Option(_("🌾 Sửa mùa vụ"), EditNotice(NoticeField.SEASON), ("sua mua vu", "mua vu")),
        toggle,
        Option(_("👁 Xem trước"), PreviewNotice(), ("xem truoc", "xem")),
        Option(_("Xong"), CloseNotice(), ("xong", "het")),
    )


def notice_card(services: Services, notice: NoticeInfo, intro: str = "") -> Screen:
    """The notice's settings as an official sees them, with what may be changed."""
    state = _("đang BẬT") if notice.enabled else _("đang TẮT")
    lines = [intro] if intro else []
    lines += [
        _("Thông báo chống ép giá của {province} ({state}).").format(
            province=services.places.provinces[notice.province_code].name, state=state
        ),
        _("Gửi vào: {weekday} hằng tuần, lúc {hour}:{minute:02d}").format(
            weekday=weekday_label(notice.weekday), hour=notice.hour, minute=notice.minute
        ),
        _("Mùa vụ: {season}").format(season=season_text(notice)),
        _("Nội dung: {text}").format(text=notice.text or _("mặc định")),
        _("Người nhận: mọi thương lái và đại diện HTX trong tỉnh."),
    ]
    return Screen("\n".join(lines), notice_options(notice), columns=2)


def notice_saved(services: Services, notice: NoticeInfo) -> Screen:
    return notice_card(services, notice, _("Đã lưu."))


def notice_closed() -> str:
    return _("Xong.")


async def gouging_text(services: Services, uow: UnitOfWork, notice: NoticeInfo) -> str:
    """The notice as a trader or rep reads it, in the current locale: the rule, the province's
    reference prices and the officials to call (their phones are public for this purpose)."""
    province = services.places.provinces[notice.province_code].name
    body = notice.text or _(
        "Nghiêm cấm ép giá nông sản. Thương lái không được ép bà con bán thấp hơn giá tham chiếu; "
        "đơn mua thấp hơn giá tham chiếu quá {margin}% sẽ không được ghép tự động. "
        "Bà con gặp trường hợp ép giá hãy báo ngay cho cán bộ."
    ).format(margin=fmt.number(services.settings.gouging_margin * 100))
    lines = [_("📢 THÔNG BÁO CHỐNG ÉP GIÁ – {province}").format(province=province), body, ""]
    found = await prices.province_prices(uow, notice.province_code, services.clock.today())
    if found:
        lines.append(_("Giá tham chiếu hiện nay:"))
        lines += _price_lines(services, found)
    else:
        lines.append(_("Chưa có giá tham chiếu nào trong tỉnh."))
    officials = await notices.contacts(uow, notice.province_code)
    if officials:
        lines += ["", _("Liên hệ cán bộ khi bị ép giá:")]
        lines += [f"• {o.name} – {o.phone}" for o in officials]
    return "\n".join(lines)


async def notice_preview(services: Services, uow: UnitOfWork, notice: NoticeInfo) -> Screen:
    """The notice as it will be read, with the settings' buttons under it."""
    return Screen(await gouging_text(services, uow, notice), notice_options(notice), columns=2)


async def send_due_notices(services: Services, kind: str = notices.GOUGING) -> int:
    """Queue every notice whose weekly time has come (in season, within the grace window) for the
    traders and reps of its province; a second run queues nothing new. Returns messages queued."""
    local_now = services.clock.local_now()
    queued = 0
    async with services.db.reader() as uow:
        due = await notices.due_notices(uow, local_now, kind)
    for notice, moment in due:
        payloads: dict[str, dict[str, Any]] = {}
        after_id = 0
        while True:
            # A page a transaction: a province of thousands never holds the writer for long.
            async with services.db.uow() as uow:
                page = await notices.audience_page(uow, notice, after_id=after_id, limit=_NOTICE_PAGE)
                if not page:
                    break
                rows = []
                for user_id, channel, chat_id, locale in page:
                    if locale not in payloads:
                        with use_locale(locale):
                            screen = Screen(await gouging_text(services, uow, notice))
                        payloads[locale] = screen.to_reply(services.codec).to_json()
                    day = moment.date().isoformat()
                    rows.append(
                        {
                            "channel": channel,
                            "chat_id": chat_id,
                            "user_id": user_id,
                            "payload": payloads[locale],
                            "dedupe_key": f"notice:{kind}:{notice.province_code}:{day}:{user_id}",
                        }
                    )
                queued += await uow.outbox.enqueue_many(rows)
            after_id = page[-1][0]
    if queued:
        services.wake_outbox()
    return queued
