"""Reference prices: anyone asks (/gia, or a sentence such as "giá na hôm nay?", in a group chat
too), follows a product's morning bulletin; officials set them (/giathamchieu na 30k, or step by
step)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.catalog import Product, ProductCatalog
from bot.engine.context import Ctx
from bot.engine.flow import Flow
from bot.engine.router import Command, Router
from bot.engine.widgets import Choice, Select, TextInput
from bot.handlers.roles import STAFF
from bot.i18n import lazy_gettext
from bot.parsing import parse
from bot.parsing.answers import read_price, read_product
from bot.places import Gazetteer
from bot.presentation import prices as view
from bot.presentation.prices import AskPrice, FollowPrice
from bot.services import prices as service
from bot.services import subscriptions
from bot.textnorm import fold

ORDER = 40
# Offered before any price exists in the province: the Lạng Sơn campaign products.
DEFAULT_PRODUCTS = ("na", "hong_vanh_khuyen", "quyt", "thach_den", "che", "hoi")
MAX_BUTTONS = 8


async def _products(ctx: Ctx) -> list[Product]:
    """Products priced in the person's province first, then the campaign products."""
    codes = await service.priced_products(ctx.uow, ctx.user.province_code, ctx.today)
    codes += [c for c in DEFAULT_PRODUCTS if c not in codes]
    return [p for c in codes[:MAX_BUTTONS] if (p := ctx.services.catalog.get(c))]


def _unknown_product(ctx: Ctx, text: str) -> None:
    ctx.say(view.unknown_product(text, service.suggest_products(ctx.services.catalog, text)))


# --- asking ---------------------------------------------------------------------------------------------------


async def price_answer(ctx: Ctx, product_code: str | None, province_code: int | None = None) -> None:
    """The reference price of a product where the question names, else where the person lives.

    In a group chat the answer is all the bot says: no buttons, nothing to register for.
    """
    services, uow = ctx.services, ctx.uow
    province = province_code or ctx.user.province_code
    product = services.catalog.get(product_code) if product_code else None
    if product is None:
        if not ctx.in_group:
            ctx.show(view.choose_product(await _products(ctx)))
        elif province is not None:
            found = await service.province_prices(uow, province, ctx.today)
            ctx.show(view.province_prices(services, province, found))
        else:
            ctx.say(view.price_usage())
        return
    if province is None:  # not registered, and the question names no province
        found_everywhere = await service.prices_everywhere(uow, product.code, ctx.today)
        ctx.show(view.price_everywhere(services, product, found_everywhere))
        return
    info = await service.current_price(uow, product.code, province, ctx.today)
    realized = await service.realized_price(uow, product.code, province, ctx.now)
    following = (
        None
        if ctx.in_group or not ctx.user.registered
        else await subscriptions.follows(uow, ctx.user, product.code)
    )
    ctx.show(view.price_answer(services, product, province, info, following, realized))


async def on_price_question(ctx: Ctx) -> bool:
    """A typed price question ("giá na hôm nay bn?", "gia hong lang son"), in a flow or a group too."""
    result = parse(ctx.text, ctx.today)
    if result.intent != "price_query":
        return False
    await price_answer(ctx, result.product, result.province_code)
    return True


async def cmd_price(ctx: Ctx, args: str) -> None:
    """/gia [sản phẩm] [tỉnh]."""
    if not args.strip():
        await price_answer(ctx, None)
        return
    exact = ctx.services.catalog.find(args, cutoff=100)
    if exact is not None:
        await price_answer(ctx, exact.code)
        return
    result = parse(f"giá {args}", ctx.today)
    code = result.product or read_product(args)
    if code is None:
        _unknown_product(ctx, args.strip())
        return
    await price_answer(ctx, code, result.province_code)


async def on_ask(ctx: Ctx, act: AskPrice) -> None:
    await price_answer(ctx, act.product)


async def on_follow(ctx: Ctx, act: FollowPrice) -> None:
    """Follow or stop following a product's morning price bulletin."""
    product = ctx.services.catalog.get(act.product)
    if product is None:
        return
    if not ctx.user.registered:
        await ctx.services.router.start_registration(ctx)
        return
    await subscriptions.follow(ctx.uow, ctx.user, product.code, act.on)
    ctx.say(view.follow_answer(product, act.on))


# --- setting ---------------------------------------------------------------------------------------------------

_NUMBER_WORDS = frozenset(
    {"mot", "hai", "ba", "bon", "tu", "nam", "sau", "bay", "tam", "chin", "muoi", "tram", "nghin",
     "ngan", "trieu", "chuc"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PriceCommand:
    """What "/giathamchieu hồng vành khuyên 18.000 Lạng Sơn" says."""

    product_text: str
    product: Product | None
    price: int | None
    province_text: str | None
    province_code: int | None


def _price_like(word: str) -> bool:
    return word[0] in "0123456789-−" or fold(word) in _NUMBER_WORDS


def read_price_command(args: str, catalog: ProductCatalog, places: Gazetteer) -> PriceCommand | None:
    """Product (named exactly: a guess must never set a price unseen), price ("30000", "30k",
    "30.000đ", "ba mươi nghìn") and an optional province; None when there is no price part."""
    words = args.split()
    starts = [j for j in range(1, len(words)) if _price_like(words[j])]
    if not starts:
        return None
    # The longest exact product name before a price ("bơ 034 45000" is Bơ 034 at 45.000).
    product, cut = None, starts[0]
    for j in reversed(starts):
        if (found := catalog.find(" ".join(words[:j]), cutoff=100)) is not None:
            product, cut = found, j
            break
    rest = words[cut:]
    code = product.code if product else None
    name = " ".join(words[:cut])

    def price_of(part: list[str]) -> int | None:
        return read_price(" ".join(part), code)

    # A province named after the price: the longest tail that is exactly a province's name.
    for k in range(1, len(rest)):
        tail = " ".join(rest[k:])
        place = places.find_province(tail, cutoff=100)
        if place is not None and (price := price_of(rest[:k])) is not None:
            return PriceCommand(name, product, price, tail, place.province_code)
    if (price := price_of(rest)) is not None:
        return PriceCommand(name, product, price, None, None)
    for k in range(len(rest) - 1, 0, -1):  # a price, then a province we do not know
        if (price := price_of(rest[:k])) is not None:
            return PriceCommand(name, product, price, " ".join(rest[k:]), None)
    return PriceCommand(name, product, None, None, None)


async def _set(ctx: Ctx, product: Product, price: int | None, province: int) -> bool:
    try:
        saved = await service.set_reference_price(
            ctx.uow, ctx.user, product, province, price, ctx.today, now=ctx.now
        )
    except service.PriceOutOfRange as err:
        ctx.say(view.out_of_range(err))
        return False
    ctx.say(view.price_set(ctx.services, product, saved))
    services = ctx.services

    async def wake() -> None:
        services.wake_events()

    ctx.on_commit(wake)
    return True


async def cmd_set_price(ctx: Ctx, args: str) -> None:
    """/giathamchieu <sản phẩm> <giá> [tỉnh, chỉ quản trị]; without arguments, step by step."""
    if not args.strip():
        if ctx.user.province_code is None:
            ctx.say(view.no_province())
            return
        await setprice.start(ctx)
        return
    command = read_price_command(args, ctx.services.catalog, ctx.services.places)
    if command is None:
        ctx.say(view.set_usage())
        return
    if command.product is None:
        _unknown_product(ctx, fold(command.product_text))
        return
    province = command.province_code or ctx.user.province_code
    if command.province_text is not None and command.province_code is None:
        ctx.say(view.unknown_province(command.province_text))
        return
    if province is None:
        ctx.say(view.no_province())
        return
    if not service.may_set_for(ctx.user, province):
        ctx.say(view.own_province_only(ctx.services, ctx.user.province_code))
        return
    await _set(ctx, command.product, command.price, province)


class Step(enum.StrEnum):
    PRODUCT = "product"
    PRICE = "price"


setprice = Flow("setprice", Step, roles=STAFF, action_name="set_price")


async def _product_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(p.name_vi, p.code) for p in await _products(ctx)]


def _read_product(ctx: Ctx, text: str) -> str | None:
    found = ctx.services.catalog.find(text, cutoff=100)
    return found.code if found else None


def _unknown_typed(ctx: Ctx) -> str:
    text = ctx.text
    return view.unknown_product(text, service.suggest_products(ctx.services.catalog, text))


def _product(ctx: Ctx) -> Product:
    product = ctx.services.catalog.get(ctx.answers["product"])
    assert product is not None
    return product


def _check_price(ctx: Ctx, value: object) -> int:
    try:
        return service.check_reference_price(_product(ctx), float(str(value)))
    except service.PriceOutOfRange as err:
        raise ValueError(view.out_of_range(err)) from None


def _price_invalid(ctx: Ctx) -> str:
    low, high = service.allowed_range(_product(ctx))
    return view.out_of_range(service.PriceOutOfRange(_product(ctx), low, high))


setprice.step(
    Step.PRODUCT,
    Select(
        lazy_gettext("Đặt giá tham chiếu cho sản phẩm nào? Chọn hoặc gõ tên."),
        _product_choices,
        read=_read_product,
        invalid=_unknown_typed,
    ),
)
setprice.step(
    Step.PRICE,
    TextInput(
        lambda ctx: view.price_question(_product(ctx)),
        lambda ctx, text: read_price(text, ctx.answers["product"]),
        _price_invalid,
        check=_check_price,
    ),
)


@setprice.committer
async def save(ctx: Ctx) -> None:
    product, price = _product(ctx), int(ctx.answers["price"])
    province = ctx.user.province_code
    ctx.leave()
    if province is None:
        ctx.say(view.no_province())
        return
    await _set(ctx, product, price, province)


def register(router: Router) -> None:
    # Price questions are answered in group chats too, and inside any flow (then the flow goes on).
    router.text(on_price_question, in_groups=True, in_flows=True)
    router.command(
        Command(
            "gia",
            cmd_price,
            lazy_gettext("Giá tham chiếu"),
            needs_registration=False,
            description=lazy_gettext("xem giá tham chiếu hôm nay"),
            in_groups=True,
        )
    )
    router.command(
        Command(
            "giathamchieu",
            cmd_set_price,
            lazy_gettext("Đặt giá tham chiếu"),
            roles=STAFF,
            staff=True,
            description=lazy_gettext("đặt giá tham chiếu cho tỉnh"),
        )
    )
    router.flow(setprice)
    router.on(AskPrice, on_ask, in_groups=True)
    router.on(FollowPrice, on_follow)
