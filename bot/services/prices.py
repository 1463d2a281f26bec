"""Reference prices (giá tham chiếu): reading what officials type, the plausibility rule, setting,
looking up, and the morning bulletin to the subscribers of a product."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process

from bot import formatting as fmt
from bot.catalog import Product, ProductCatalog
from bot.events import Choice, Reply
from bot.i18n import _, use_locale
from bot.services.audience import PRICES, left_topic
from bot.services.notify import notify
from bot.services.quantities import RuleError, parse_price
from bot.textnorm import fold
from storage import dto
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.services.container import Services

# A reference price outside [price_min × 0.5, price_max × 2] of the catalog is a typing slip.
LOW_FACTOR, HIGH_FACTOR = 0.5, 2.0
BULLETIN_JOB = "price_bulletin"

_COMMAND = re.compile(
    r"^(?P<product>.+?)\s+(?P<price>[-−]?\d[\d.,]*\s*(?:k|nghin|ngan|ng|tr|trieu)?\s*(?:d|dong|vnd|₫)?"
    r"(?:\s*/\s*kg)?)(?:\s+(?P<province>\D.*))?$"
)


@dataclass(frozen=True, slots=True)
class PriceCommand:
    """The parts of "/giathamchieu na 30000 lang son"."""

    product_text: str
    price: float | None
    province_text: str | None


def parse_price_command(args: str) -> PriceCommand | None:
    """Product, price (VND/kg, "30k", "30.000") and optional province from the command's text."""
    m = _COMMAND.match(fold(args).replace("đ", "d"))
    if not m:
        return None
    return PriceCommand(m["product"].strip(), parse_price(m["price"]), (m["province"] or "").strip() or None)


def suggest_products(catalog: ProductCatalog, text: str, limit: int = 3) -> list[Product]:
    """Products whose names are close to ``text``, best first (for "did you mean")."""
    scores: dict[str, float] = {}
    loose = catalog.find(text, cutoff=75)
    if loose is not None:
        scores[loose.code] = 101.0  # the catalog's own best guess leads
    index = catalog.names_index()
    for name, score, _i in process.extract(
        fold(text), list(index), scorer=fuzz.WRatio, limit=20, score_cutoff=70
    ):
        code = index[name].code
        scores[code] = max(scores.get(code, 0.0), score)
    ranked = sorted(scores, key=lambda c: -scores[c])[:limit]
    return [p for c in ranked if (p := catalog.get(c)) is not None]


def allowed_range(product: Product) -> tuple[int, int]:
    """The lowest and highest reference price accepted for a product."""
    return round(product.price_min * LOW_FACTOR), round(product.price_max * HIGH_FACTOR)


def check_reference_price(product: Product, price: float | None) -> int:
    """The price as an integer VND/kg; raises :class:`RuleError` (with the range) when implausible."""
    low, high = allowed_range(product)
    if price is None or price <= 0 or not low <= price <= high:
        raise RuleError(
            _("Giá tham chiếu cho {product} phải từ {low} đến {high}.").format(
                product=product.name_vi, low=fmt.price_per_kg(low), high=fmt.price_per_kg(high)
            ),
            "price",
        )
    return round(price)


async def set_reference_price(
    uow: UnitOfWork,
    official: dto.User,
    product: Product,
    province_code: int,
    price: float | None,
    valid_from: dt.date,
    now: dt.datetime | None = None,
) -> dto.ReferencePrice:
    """Validate and save a reference price (recorded at ``now``), audited."""
    value = check_reference_price(product, price)
    saved = await uow.prices.add(
        product_code=product.code,
        province_code=province_code,
        price=value,
        valid_from=valid_from,
        set_by=official.id,
        created_at=now,
    )
    await uow.audit.add(
        official.id,
        "set_price",
        f"{product.code}:{province_code}",
        details={"price": value, "valid_from": valid_from.isoformat()},
    )
    return saved


async def price_text(
    uow: UnitOfWork, services: Services, product: Product, province_code: int, on: dt.date
) -> str:
    """ "Giá tham chiếu Na tại Tỉnh Lạng Sơn: 30.000 ₫/kg (từ 10/09/2026, do cán bộ X đặt)" or "chưa có"."""
    province = services.places.provinces[province_code].name
    found = await uow.prices.current(product.code, province_code, on)
    if found is None:
        return _("{product} tại {province}: chưa có giá tham chiếu.").format(
            product=product.name_vi, province=province
        )
    setter = await uow.users.get(found.set_by) if found.set_by else None
    source = (
        _("do cán bộ {name} đặt").format(name=setter.name)
        if setter is not None and setter.name
        else _("theo danh sách của Sở Công Thương")
    )
    return _("Giá tham chiếu {product} tại {province}: {price} (áp dụng từ {day}, {source}).").format(
        product=product.name_vi,
        province=province,
        price=fmt.price_per_kg(found.price),
        day=fmt.date(found.valid_from),
        source=source,
    )


async def _changes(
    uow: UnitOfWork, topic: str, province_code: int, today: dt.date, since: dt.datetime, tz: dt.tzinfo
) -> tuple[dto.ReferencePrice, dto.ReferencePrice | None] | None:
    """(price today, price as known at the last bulletin) when they differ, else None."""
    new = await uow.prices.current(topic, province_code, today)
    old = await uow.prices.current(topic, province_code, since.astimezone(tz).date(), known_at=since)
    if new is None or (old is not None and old.price == new.price):
        return None
    return new, old


BULLETIN_BATCH = 200


async def send_price_bulletins(services: Services) -> int:
    """Tell the subscribers of each product its reference price in their province, when it changed
    since the last bulletin; one message per person, product and day. Returns messages queued."""
    now, today, tz = services.clock.now(), services.clock.today(), services.settings.tz
    queued = 0
    changes: dict[tuple[str, int], tuple[dto.ReferencePrice, dto.ReferencePrice | None] | None] = {}
    async with services.db.reader() as uow:
        since = await uow.job_runs.last(BULLETIN_JOB) or now - dt.timedelta(days=1)
        topics = [t for t in await uow.users.followed_topics() if services.catalog.get(t) is not None]
        subscribers = [
            (topic, user)
            for topic, user in await uow.users.subscribers(topics, muted_topic=left_topic(PRICES))
            if user.province_code is not None
        ]
        for topic, user in subscribers:
            key = (topic, user.province_code or 0)
            if key not in changes:
                changes[key] = await _changes(uow, topic, key[1], today, since, tz)
    due = [(topic, user) for topic, user in subscribers if changes[(topic, user.province_code or 0)]]
    for start in range(0, len(due), BULLETIN_BATCH):
        # A batch a transaction: thousands of subscribers never hold the writer for long.
        async with services.db.uow() as uow:
            for topic, user in due[start : start + BULLETIN_BATCH]:
                change = changes[(topic, user.province_code or 0)]
                assert change is not None and user.province_code is not None
                new, old = change
                product = services.catalog.get(topic)
                assert product is not None
                with use_locale(user.locale):
                    values = {
                        "day": fmt.date(today),
                        "product": product.name_vi,
                        "province": services.places.provinces[user.province_code].name,
                        "price": fmt.price_per_kg(new.price),
                        "old": fmt.price_per_kg(old.price) if old else "",
                    }
                    if old is None:
                        text = _(
                            "Bản tin giá sáng {day}: giá tham chiếu {product} tại {province} là {price}."
                        )
                    else:
                        text = _(
                            "Bản tin giá sáng {day}: giá tham chiếu {product} tại {province} là {price} "
                            "(trước đó {old})."
                        )
                    reply = Reply(
                        text.format(**values),
                        (
                            Choice(
                                _("🔕 Thôi nhận bản tin {product}").format(product=product.name_vi),
                                f"giasub:off:{topic}",
                            ),
                        ),
                    )
                dedupe = f"bulletin:{user.id}:{topic}:{today.isoformat()}"
                if await notify(uow, user, reply, dedupe_key=dedupe):
                    queued += 1
    if queued:
        services.wake_outbox()
    return queued
