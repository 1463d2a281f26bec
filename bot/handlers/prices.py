"""Reference prices: officials set them (/giathamchieu), anyone asks (/gia) and may follow a
product's morning bulletin."""

from __future__ import annotations

from bot import formatting as fmt
from bot.catalog import Product
from bot.dialog import DONE, STAY, Command, Ctx, Flow, Router
from bot.events import Choice
from bot.handlers.roles import ADMIN, STAFF, require_role
from bot.i18n import _, lazy_gettext
from bot.services import prices as service
from bot.services.quantities import RuleError, parse_price

ORDER = 40
# Offered as buttons before any price exists in the province: the Lạng Sơn campaign products.
DEFAULT_PRODUCTS = ("na", "hong_vanh_khuyen", "quyt", "thach_den", "che", "hoi")
MAX_BUTTONS = 8

setprice = Flow("setprice", first="product")


async def _product_buttons(ctx: Ctx, prefix: str) -> list[Choice]:
    """Products priced in the person's province first, then the campaign products."""
    codes: list[str] = []
    if ctx.user.province_code is not None:
        codes = [p.product_code for p in await ctx.uow.prices.in_province(ctx.user.province_code, ctx.today)]
    codes += [c for c in DEFAULT_PRODUCTS if c not in codes]
    products = [p for c in codes[:MAX_BUTTONS] if (p := ctx.services.catalog.get(c))]
    return [Choice(p.name_vi, f"{prefix}:{p.code}") for p in products]


def _unknown_product(ctx: Ctx, text: str) -> None:
    suggestions = service.suggest_products(ctx.services.catalog, text)
    msg = _("Không có sản phẩm «{text}» trong danh mục.").format(text=text[:40])
    if suggestions:
        msg += " " + _("Có phải bạn muốn: {names}?").format(names=", ".join(p.name_vi for p in suggestions))
    ctx.say(msg)


# --- asking -------------------------------------------------------------------------------------


async def price_answer(ctx: Ctx, product_code: str) -> None:
    """Tell the person today's reference price of a product in their province, with a follow button.

    Also used by the free-text parser for questions like "giá na hôm nay?".
    """
    product = ctx.services.catalog.get(product_code)
    if product is None:
        _unknown_product(ctx, product_code)
        return
    if ctx.user.province_code is None:
        ctx.say(_("Bạn cần đăng ký tỉnh trước khi xem giá. Gõ /start để đăng ký."))
        return
    text = await service.price_text(ctx.uow, ctx.services, product, ctx.user.province_code, ctx.today)
    following = product.code in await ctx.uow.users.topics(ctx.user.id)
    button = (
        Choice(
            _("🔕 Thôi nhận bản tin giá {product}").format(product=product.name_vi),
            f"giasub:off:{product.code}",
        )
        if following
        else Choice(
            _("🔔 Nhận bản tin giá {product} mỗi sáng").format(product=product.name_vi),
            f"giasub:on:{product.code}",
        )
    )
    ctx.say(text, [button])


async def cmd_price(ctx: Ctx, args: str) -> None:
    """/gia [sản phẩm]."""
    if args.strip():
        product = ctx.services.catalog.find(args)
        if product is None:
            _unknown_product(ctx, args.strip())
            return
        await price_answer(ctx, product.code)
        return
    ctx.say(_("Bạn muốn xem giá tham chiếu của sản phẩm nào? Chọn hoặc gõ /gia <tên sản phẩm>."),
            await _product_buttons(ctx, "gia"), columns=2)  # fmt: skip


async def on_price_button(ctx: Ctx, code: str) -> None:
    await price_answer(ctx, code)


async def on_follow(ctx: Ctx, rest: str) -> None:
    """Follow or stop following a product's morning price bulletin."""
    on, _sep, code = rest.partition(":")
    product = ctx.services.catalog.get(code)
    if product is None or not ctx.user.registered:
        return
    await ctx.uow.users.set_topic(ctx.user.id, code, on == "on")
    if on == "on":
        ctx.say(_("Đã đăng ký. Mỗi sáng 7 giờ, khi giá tham chiếu {product} thay đổi, bạn sẽ nhận tin.").format(
            product=product.name_vi))  # fmt: skip
    else:
        ctx.say(_("Đã thôi nhận bản tin giá {product}.").format(product=product.name_vi))


# --- setting --------------------------------------------------------------------------------------


async def _save(ctx: Ctx, product: Product, price: float | None, province_code: int) -> bool:
    try:
        saved = await service.set_reference_price(
            ctx.uow, ctx.user, product, province_code, price, ctx.today, now=ctx.now
        )
    except RuleError as err:
        ctx.say(err.message)
        return False
    ctx.say(
        _("Đã đặt giá tham chiếu {product} tại {province}: {price}, áp dụng từ hôm nay {day}.").format(
            product=product.name_vi,
            province=ctx.services.places.provinces[province_code].name,
            price=fmt.price_per_kg(saved.price),
            day=fmt.date(saved.valid_from),
        )
    )
    return True


async def _province_for(ctx: Ctx, typed: str | None) -> int | None:
    """The province the price is for: the official's own; an admin may name another."""
    own = ctx.user.province_code
    if typed is None:
        if own is None:
            ctx.say(_("Tài khoản của bạn chưa có tỉnh. Gõ /start để cập nhật."))
        return own
    found = ctx.services.places.find_province(typed)
    if found is None:
        ctx.say(_("Không tìm thấy tỉnh «{text}».").format(text=typed[:40]))
        return None
    if found.province_code != own and ctx.user.role != ADMIN:
        ctx.say(_("Bạn chỉ đặt được giá tham chiếu cho tỉnh của mình ({province}).").format(
            province=ctx.services.places.provinces[own].name if own else "—"))  # fmt: skip
        return None
    return found.province_code


async def cmd_set_price(ctx: Ctx, args: str) -> None:
    """/giathamchieu <sản phẩm> <giá> [tỉnh, chỉ quản trị]."""
    if not await require_role(ctx, STAFF, "set_price"):
        return
    if not args.strip():
        await setprice.start(ctx)
        return
    parsed = service.parse_price_command(args)
    if parsed is None:
        ctx.say(
            _("Cách dùng: /giathamchieu <sản phẩm> <giá>, ví dụ: /giathamchieu na 30000 (hoặc 30k, 30.000).")
        )
        return
    # Exact names only: a fuzzy guess ("chanh" -> hành tím) must never set a price unseen.
    product = ctx.services.catalog.find(parsed.product_text, cutoff=100)
    if product is None:
        _unknown_product(ctx, parsed.product_text)
        return
    province = await _province_for(ctx, parsed.province_text)
    if province is not None:
        await _save(ctx, product, parsed.price, province)


@setprice.ask("product")
async def ask_product(ctx: Ctx) -> None:
    ctx.say(_("Đặt giá tham chiếu cho sản phẩm nào? Chọn hoặc gõ tên."), await _product_buttons(ctx, "sp"),
            columns=2)  # fmt: skip


@setprice.answer("product")
async def on_product(ctx: Ctx) -> str:
    payload = ctx.payload or ""
    product = (
        ctx.services.catalog.get(payload.removeprefix("sp:"))
        if payload.startswith("sp:")
        else ctx.services.catalog.find(ctx.text, cutoff=100)
        if ctx.text
        else None
    )
    if product is None:
        _unknown_product(ctx, ctx.text or payload)
        return STAY
    ctx.remember(product=product.code)
    return "price"


@setprice.ask("price")
async def ask_price(ctx: Ctx) -> None:
    product = ctx.services.catalog.get(ctx.data["product"])
    assert product is not None
    low, high = service.allowed_range(product)
    ctx.say(_("Giá tham chiếu {product} hôm nay là bao nhiêu đồng/kg? (từ {low} đến {high}, ví dụ: 30k)").format(
        product=product.name_vi, low=fmt.price_per_kg(low), high=fmt.price_per_kg(high)))  # fmt: skip


@setprice.answer("price")
async def on_price(ctx: Ctx) -> str:
    if not await require_role(ctx, STAFF, "set_price"):
        return DONE
    product = ctx.services.catalog.get(ctx.data["product"])
    assert product is not None
    province = await _province_for(ctx, None)
    if province is None:
        return DONE
    return DONE if await _save(ctx, product, parse_price(ctx.text), province) else STAY


def register(router: Router) -> None:
    router.command(
        Command(
            "gia",
            cmd_price,
            lazy_gettext("Giá tham chiếu"),
            description=lazy_gettext("xem giá tham chiếu hôm nay"),
        )
    )
    router.command(
        Command(
            "giathamchieu",
            cmd_set_price,
            lazy_gettext("Đặt giá tham chiếu"),
            roles=STAFF,
            description=lazy_gettext("đặt giá tham chiếu cho tỉnh"),
        )
    )
    router.flow(setprice)
    router.action("gia", on_price_button)
    router.action("giasub", on_follow)
