"""Reference prices (giá tham chiếu): the plausibility rule, who may set a province's price,
setting (audited, :class:`ReferencePriceSet`), looking up, and which subscribers a morning
bulletin is due for. Nothing here words a message: see :mod:`bot.presentation.prices`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.catalog import Product, ProductCatalog
from bot.domain_events import ReferencePriceSet, emit
from bot.services.audience import PRICES, left_topic
from bot.textnorm import fold
from storage import dto
from storage.uow import UnitOfWork

# A reference price outside [price_min × 0.5, price_max × 2] of the catalog is a typing slip.
LOW_FACTOR, HIGH_FACTOR = 0.5, 2.0
BULLETIN_JOB = "price_bulletin"
REALIZED_DAYS = 30  # realized prices: the deals paid in the last month
ADMIN = "admin"


class PriceOutOfRange(ValueError):
    """The price is not plausible for the product: it must lie in [low, high] VND/kg."""

    def __init__(self, product: Product, low: int, high: int) -> None:
        super().__init__(f"{product.code}: {low}-{high}")
        self.product, self.low, self.high = product, low, high


@dataclass(frozen=True, slots=True)
class PriceInfo:
    """A price in force, with who set it (None: imported from the department's list)."""

    product_code: str
    province_code: int
    price: int
    valid_from: dt.date
    set_by_name: str | None


@dataclass(frozen=True, slots=True)
class RealizedPrice:
    """What buyers actually paid: the kg-weighted price of deals weighed and paid in the last ``days``."""

    kg: int
    value_vnd: int
    days: int

    @property
    def price(self) -> float:
        return self.value_vnd / self.kg


@dataclass(frozen=True, slots=True)
class BulletinItem:
    """One subscriber to tell of one product's price change in their province."""

    user: dto.User
    product_code: str
    province_code: int
    price: int
    old_price: int | None


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
    """The price as an integer VND/kg; raises :class:`PriceOutOfRange` when implausible."""
    low, high = allowed_range(product)
    if price is None or price <= 0 or not low <= price <= high:
        raise PriceOutOfRange(product, low, high)
    return round(price)


def may_set_for(user: dto.User, province_code: int) -> bool:
    """Officials set their own province's prices; admins any province's."""
    return user.role == ADMIN or user.province_code == province_code


async def set_reference_price(
    uow: UnitOfWork,
    official: dto.User,
    product: Product,
    province_code: int,
    price: float | None,
    valid_from: dt.date,
    now: dt.datetime | None = None,
) -> dto.ReferencePrice:
    """Validate and save a reference price (recorded at ``now``), audited; the matcher's gouging
    floor follows it (:class:`ReferencePriceSet`)."""
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
    await emit(uow, ReferencePriceSet(product.code, province_code, value, valid_from.isoformat()))
    return saved


async def current_price(
    uow: UnitOfWork, product_code: str, province_code: int, on: dt.date
) -> PriceInfo | None:
    """The price of a product in a province on a day, with who set it; None when there is none."""
    found = await uow.prices.current(product_code, province_code, on)
    if found is None:
        return None
    setter = await uow.users.get(found.set_by) if found.set_by else None
    return PriceInfo(
        found.product_code,
        found.province_code,
        found.price,
        found.valid_from,
        setter.name if setter else None,
    )


async def realized_price(
    uow: UnitOfWork, product_code: str, province_code: int, now: dt.datetime, days: int = REALIZED_DAYS
) -> RealizedPrice | None:
    """The realized price of a product in a province over the last ``days``; None when nothing was paid."""
    kg, value = await uow.prices.realized(product_code, province_code, now - dt.timedelta(days=days))
    return RealizedPrice(kg, value, days) if kg > 0 else None


async def prices_everywhere(uow: UnitOfWork, product_code: str, on: dt.date) -> list[dto.ReferencePrice]:
    """A product's price in every province that has one, by province code."""
    found = await uow.prices.all_current(on)
    return [found[key] for key in sorted(found) if key[0] == product_code]


async def province_prices(uow: UnitOfWork, province_code: int, on: dt.date) -> list[dto.ReferencePrice]:
    """Every product's price in force in a province, by product code."""
    return await uow.prices.in_province(province_code, on)


async def priced_products(uow: UnitOfWork, province_code: int | None, on: dt.date) -> list[str]:
    """Codes of the products that have a price in the province."""
    if province_code is None:
        return []
    return [p.product_code for p in await uow.prices.in_province(province_code, on)]


async def _change(
    uow: UnitOfWork, topic: str, province_code: int, today: dt.date, since: dt.datetime, tz: dt.tzinfo
) -> tuple[int, int | None] | None:
    """(price today, price as known at the last bulletin) when they differ, else None."""
    new = await uow.prices.current(topic, province_code, today)
    old = await uow.prices.current(topic, province_code, since.astimezone(tz).date(), known_at=since)
    if new is None or (old is not None and old.price == new.price):
        return None
    return new.price, old.price if old else None


async def due_bulletins(
    uow: UnitOfWork, catalog: ProductCatalog, *, now: dt.datetime, today: dt.date, tz: dt.tzinfo
) -> list[BulletinItem]:
    """Who follows a product whose price in their province changed since the last bulletin (and
    has not switched price bulletins off), with the new and the previous price."""
    since = await uow.job_runs.last(BULLETIN_JOB) or now - dt.timedelta(days=1)
    topics = [t for t in await uow.users.followed_topics() if catalog.get(t) is not None]
    changes: dict[tuple[str, int], tuple[int, int | None] | None] = {}
    due: list[BulletinItem] = []
    for topic, user in await uow.users.subscribers(topics, muted_topic=left_topic(PRICES)):
        if user.province_code is None:
            continue
        key = (topic, user.province_code)
        if key not in changes:
            changes[key] = await _change(uow, topic, user.province_code, today, since, tz)
        change = changes[key]
        if change is not None:
            due.append(BulletinItem(user, topic, user.province_code, *change))
    return due
