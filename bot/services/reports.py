"""Campaign reports: periods, and the summary computed from the repository's aggregates.

Everything here except :func:`load` is a pure function over query results, so it is tested
with plain data. Supply figures follow the lots *posted* in the period (see
``storage.repositories.reports``); "matched" means accepted by both sides, scheduled, picked
up or paid; a proposal still waiting for an answer is counted apart. What happened after the
slot follows the same lots: the weighed kg, the money the sellers confirmed receiving, the
realized price (weighed and paid, by province and product), no-shows and disputed weights.
Reports of price-gouging (/baoepgia) are counted by the day they were made.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from bot import formatting as fmt
from bot.textnorm import fold
from storage.repositories.reports import (
    Disputes,
    LotDay,
    LotGroup,
    MatchDay,
    MatchGroup,
    OrderRow,
    PriceRow,
    Scope,
)
from storage.uow import UnitOfWork

PICKED = ("picked_up", "disputed", "paid")  # weighed at the collection point
MATCHED = ("accepted", "scheduled", *PICKED)
OPEN = ("open", "partly_matched")
SEASON_START_MONTH = 7  # na Chi Lăng from July, hồng vành khuyên to October: one season a year
MAX_PERIOD_DAYS = 400


# --- periods -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """Local calendar days, both ends included."""

    start: dt.date
    end: dt.date

    def scope(self, tz: ZoneInfo, province_code: int | None = None) -> Scope:
        """UTC bounds of the period in the bot's time zone."""
        start = dt.datetime.combine(self.start, dt.time(), tzinfo=tz).astimezone(dt.UTC)
        end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=tz).astimezone(dt.UTC)
        return Scope(start, end, province_code, str(tz.key))

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def label(self) -> str:
        return fmt.date_range(self.start, self.end)


PRESETS = ("today", "7d", "30d", "season")


def preset(key: str, today: dt.date) -> Period:
    """Hôm nay, the last 7 or 30 days (today included), or this season (since 1 July)."""
    if key == "today":
        return Period(today, today)
    if key == "7d":
        return Period(today - dt.timedelta(days=6), today)
    if key == "30d":
        return Period(today - dt.timedelta(days=29), today)
    year = today.year if today.month >= SEASON_START_MONTH else today.year - 1
    return Period(dt.date(year, SEASON_START_MONTH, 1), today)


_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_DAY = re.compile(r"\b(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2,4}))?\b")


class PeriodError(ValueError):
    """``code`` is "unreadable", "reversed" or "too_long"."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def parse_period(text: str, today: dt.date) -> Period:
    """A period from "1/9-30/9", "01/09/2026 đến 30/09/2026", "15/9" (one day) or ISO dates."""
    folded = fold(text)
    try:
        if iso := list(_ISO.finditer(folded)):
            days = [dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))) for m in iso]
        else:
            days = []
            for m in _DAY.finditer(folded):
                year = m.group(3)
                y = (int(year) + 2000 if len(year) == 2 else int(year)) if year else today.year
                days.append(dt.date(y, int(m.group(2)), int(m.group(1))))
    except ValueError:
        raise PeriodError("unreadable") from None
    if not 1 <= len(days) <= 2:
        raise PeriodError("unreadable")
    return check_period(Period(days[0], days[-1]))


def check_period(period: Period) -> Period:
    """``period`` itself, or :class:`PeriodError` when it ends before it starts or is too long."""
    if period.end < period.start:
        raise PeriodError("reversed")
    if (period.end - period.start).days > MAX_PERIOD_DAYS:
        raise PeriodError("too_long")
    return period


# --- the data a report is made of -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportData:
    """Query results for one period and province, as the repository returned them."""

    period: Period
    province_code: int | None
    lot_groups: list[LotGroup]
    lot_days: list[LotDay]
    match_groups: list[MatchGroup]
    match_days: list[MatchDay]
    first_matches: list[tuple[dt.datetime, dt.datetime]]
    suppliers: dict[str, int]
    matched_traders: set[int]
    orders: list[OrderRow]
    prices: list[PriceRow]
    point_names: dict[int, str]
    tz: str = "Asia/Ho_Chi_Minh"
    disputes: Disputes = field(default_factory=lambda: Disputes(0, 0))
    gouging_reports: int = 0


async def load(uow: UnitOfWork, period: Period, tz: ZoneInfo, province_code: int | None) -> ReportData:
    """Run the report's queries (the only function here that touches the database)."""
    scope = period.scope(tz, province_code)
    r = uow.reports
    lot_groups = await r.lot_groups(scope)
    orders = [o for o in await r.orders(scope.start, scope.end) if order_in_province(o, province_code)]
    products = sorted({g.product_code for g in lot_groups} | {o.product_code for o in orders})
    points = sorted({g.point_id for g in lot_groups if g.point_id is not None})
    return ReportData(
        period=period,
        province_code=province_code,
        lot_groups=lot_groups,
        lot_days=await r.lot_days(scope),
        match_groups=await r.match_groups(scope),
        match_days=await r.match_days(scope),
        first_matches=await r.first_matches(scope),
        suppliers=await r.active_suppliers(scope),
        matched_traders=await r.matched_traders(scope),
        orders=orders,
        prices=await r.reference_prices(products),
        point_names=await r.point_names(points),
        tz=str(tz.key),
        disputes=await r.disputes(scope),
        gouging_reports=await r.gouging_reports(scope),
    )


def buys_in(provinces: tuple[int, ...], trader_province: int | None, province_code: int | None) -> bool:
    """An order buys in the provinces it lists, or in its trader's own when it lists none."""
    if province_code is None:
        return True
    return province_code in provinces if provinces else trader_province == province_code


def order_in_province(order: OrderRow, province_code: int | None) -> bool:
    """:func:`buys_in` for an order row."""
    return buys_in(order.provinces, order.trader_province, province_code)


class PriceBook:
    """Reference prices by (product, province), looked up for a day."""

    def __init__(self, rows: list[PriceRow]) -> None:
        self._by_key: dict[tuple[str, int], tuple[list[dt.date], list[int]]] = {}
        for row in sorted(rows, key=lambda r: r.valid_from):
            days, prices = self._by_key.setdefault((row.product_code, row.province_code), ([], []))
            if days and days[-1] == row.valid_from:
                prices[-1] = row.price  # the later entry of the same day wins
            else:
                days.append(row.valid_from)
                prices.append(row.price)

    def on(self, product: str, province: int | None, day: dt.date) -> int | None:
        """The price in force on ``day``, or None when none was set yet."""
        if province is None or (found := self._by_key.get((product, province))) is None:
            return None
        days, prices = found
        i = bisect.bisect_right(days, day)
        return prices[i - 1] if i else None


# --- the summary -------------------------------------------------------------------------------


@dataclass
class Volume:
    """Kilograms of one product or collection point, by where they stand."""

    reported_kg: int = 0
    proposed_kg: int = 0
    matched_kg: int = 0
    picked_up_kg: int = 0  # weighed
    paid_kg: int = 0  # weighed and paid
    paid_vnd: int = 0  # what the sellers confirmed receiving
    no_show_kg: int = 0  # the trader did not come (back on sale)
    open_kg: int = 0
    unsold_kg: int = 0  # expired with volume left
    lots: int = 0

    @property
    def fill_rate(self) -> float | None:
        return self.matched_kg / self.reported_kg if self.reported_kg else None


@dataclass(frozen=True, slots=True)
class PriceLine:
    """Average matched price against the reference price, weighted by kilograms."""

    product_code: str
    matched_kg: int
    avg_price: float | None
    avg_reference: float | None  # over the kilograms that had a reference price
    diff_pct: float | None  # matched price vs reference, same kilograms


@dataclass(frozen=True, slots=True)
class RealizedLine:
    """What buyers really paid for a product in a province (weighed, paid), against the reference
    price in force on the days the deals were made, over the same kilograms."""

    product_code: str
    province_code: int | None
    kg: int
    paid_vnd: int
    avg_price: float
    avg_reference: float | None
    diff_pct: float | None


@dataclass
class Summary:
    """Everything /baocao and ``python -m bot report summary`` show."""

    period: Period
    province_code: int | None
    total: Volume
    by_product: dict[str, Volume]
    by_point: dict[int | None, Volume]
    point_names: dict[int, str]
    orders: int
    ordered_kg: int
    open_order_kg: int
    farmers: int
    coop_reps: int
    traders: int
    prices: list[PriceLine]
    held_back_orders: int
    held_back_kg: int
    median_hours_to_match: float | None
    gouging_margin: float
    realized: list[RealizedLine] = field(default_factory=list)
    no_shows: int = 0
    disputes: Disputes = field(default_factory=lambda: Disputes(0, 0))
    gouging_reports: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.total.lots == 0 and self.orders == 0

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (ISO dates, kg as integers, rates as fractions)."""

        def vol(v: Volume) -> dict[str, Any]:
            return {**asdict(v), "fill_rate": v.fill_rate}

        return {
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "province_code": self.province_code,
            "empty": self.empty,
            "total": vol(self.total),
            "by_product": {k: vol(v) for k, v in sorted(self.by_product.items())},
            "by_point": [
                {"point_id": k, "name": self.point_names.get(k) if k is not None else None, **vol(v)}
                for k, v in sorted(self.by_point.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
            ],
            "orders": {"count": self.orders, "kg": self.ordered_kg, "open_kg": self.open_order_kg},
            "active": {"farmers": self.farmers, "coop_reps": self.coop_reps, "traders": self.traders},
            "prices": [asdict(p) for p in self.prices],
            "held_back": {"orders": self.held_back_orders, "kg": self.held_back_kg},
            "gouging_margin": self.gouging_margin,
            "median_hours_to_match": self.median_hours_to_match,
            "realized": [asdict(r) for r in self.realized],
            "no_shows": {"count": self.no_shows, "kg": self.total.no_show_kg},
            "disputes": {
                "opened": self.disputes.opened,
                "open": self.disputes.open,
                "resolved": self.disputes.resolved,
            },
            "gouging_reports": self.gouging_reports,
        }


def _local_day(moment: dt.datetime, tz: ZoneInfo) -> dt.date:
    return moment.astimezone(tz).date()


def summarize(data: ReportData, gouging_margin: float) -> Summary:
    """The report's figures from its query results."""
    tz = ZoneInfo(data.tz)
    total = Volume()
    by_product: dict[str, Volume] = defaultdict(Volume)
    by_point: dict[int | None, Volume] = defaultdict(Volume)
    for g in data.lot_groups:
        for v in (total, by_product[g.product_code], by_point[g.point_id]):
            v.lots += g.lots
            if g.status != "cancelled":
                v.reported_kg += g.quantity_kg
            if g.status in OPEN:
                v.open_kg += g.remaining_kg
            elif g.status == "expired":
                v.unsold_kg += g.remaining_kg
    no_shows = 0
    for m in data.match_groups:
        if m.status == "no_show":
            no_shows += m.matches
        for v in (total, by_product[m.product_code], by_point[m.point_id]):
            if m.status in MATCHED:
                v.matched_kg += m.kg
            if m.status in PICKED:
                v.picked_up_kg += m.weighed_kg
            if m.status == "paid":
                v.paid_kg += m.weighed_kg
                v.paid_vnd += m.paid_vnd
            elif m.status == "proposed":
                v.proposed_kg += m.kg
            elif m.status == "no_show":
                v.no_show_kg += m.kg

    book = PriceBook(data.prices)
    held_orders = held_kg = 0
    for o in data.orders:
        provinces = (
            [data.province_code]
            if data.province_code is not None
            else list(o.provinces) or ([o.trader_province] if o.trader_province is not None else [])
        )
        day = _local_day(o.created_at, tz)
        floors = [ref * (1 - gouging_margin) for p in provinces if (ref := book.on(o.product_code, p, day))]
        if floors and o.price < max(floors):
            held_orders += 1
            held_kg += o.quantity_kg

    hours = [(first - posted).total_seconds() / 3600 for posted, first in data.first_matches]
    return Summary(
        period=data.period,
        province_code=data.province_code,
        total=total,
        by_product=dict(by_product),
        by_point=dict(by_point),
        point_names=data.point_names,
        orders=len(data.orders),
        ordered_kg=sum(o.quantity_kg for o in data.orders if o.status != "cancelled"),
        open_order_kg=sum(o.remaining_kg for o in data.orders if o.status in OPEN),
        farmers=data.suppliers.get("farmer", 0),
        coop_reps=data.suppliers.get("coop_rep", 0),
        traders=len({o.trader_id for o in data.orders} | data.matched_traders),
        prices=price_lines(data.match_days, book),
        held_back_orders=held_orders,
        held_back_kg=held_kg,
        median_hours_to_match=round(statistics.median(hours), 1) if hours else None,
        gouging_margin=gouging_margin,
        realized=realized_lines(data.match_days, book),
        no_shows=no_shows,
        disputes=data.disputes,
        gouging_reports=data.gouging_reports,
    )


def price_lines(days: list[MatchDay], book: PriceBook) -> list[PriceLine]:
    """Per product: kg-weighted matched price, and reference price over the same kilograms."""
    acc: dict[str, list[int]] = defaultdict(
        lambda: [0, 0, 0, 0, 0]
    )  # kg, value, kg_ref, ref_value, value_ref
    for d in days:
        if d.status not in MATCHED:
            continue
        a = acc[d.product_code]
        a[0] += d.kg
        a[1] += d.value_vnd
        ref = book.on(d.product_code, d.province_code, d.match_day)
        if ref is not None:
            a[2] += d.kg
            a[3] += ref * d.kg
            a[4] += d.value_vnd
    lines = []
    for code, (kg, value, kg_ref, ref_value, value_ref) in sorted(acc.items(), key=lambda kv: -kv[1][0]):
        avg_ref = ref_value / kg_ref if kg_ref else None
        diff = (value_ref / kg_ref) / avg_ref - 1 if kg_ref and avg_ref else None
        lines.append(
            PriceLine(
                code,
                kg,
                round(value / kg, 1) if kg else None,
                round(avg_ref, 1) if avg_ref is not None else None,
                round(diff, 4) if diff is not None else None,
            )
        )
    return lines


def realized_lines(days: list[MatchDay], book: PriceBook) -> list[RealizedLine]:
    """Per product and province: the kg-weighted price of the deals weighed and paid, and the
    reference price over the same kilograms (on the day each deal was made); most kg first."""
    acc: dict[tuple[str, int | None], list[int]] = defaultdict(
        lambda: [0, 0, 0, 0, 0, 0]
    )  # kg, value, paid, kg_ref, ref_value, value_ref
    for d in days:
        if d.status != "paid" or not d.weighed_kg:
            continue
        a = acc[(d.product_code, d.province_code)]
        a[0] += d.weighed_kg
        a[1] += d.weighed_value_vnd
        a[2] += d.paid_vnd
        ref = book.on(d.product_code, d.province_code, d.match_day)
        if ref is not None:
            a[3] += d.weighed_kg
            a[4] += ref * d.weighed_kg
            a[5] += d.weighed_value_vnd
    lines = []
    for (code, province), (kg, value, paid, kg_ref, ref_value, value_ref) in sorted(
        acc.items(), key=lambda kv: (-kv[1][0], kv[0][0], kv[0][1] or 0)
    ):
        avg_ref = ref_value / kg_ref if kg_ref else None
        diff = (value_ref / kg_ref) / avg_ref - 1 if kg_ref and avg_ref else None
        lines.append(
            RealizedLine(
                code,
                province,
                kg,
                paid,
                round(value / kg, 1),
                round(avg_ref, 1) if avg_ref is not None else None,
                round(diff, 4) if diff is not None else None,
            )
        )
    return lines


# --- chart series ---------------------------------------------------------------------------------

CHART_STATUSES = ("paid", "picked_up", "matched", "proposed", "open", "unsold")


@dataclass(frozen=True, slots=True)
class ChartData:
    """Daily volume by status (by posting day) and daily prices of the top products."""

    days: list[dt.date]
    volume: dict[str, list[int]]  # status -> kg per day
    prices: dict[str, tuple[list[float | None], list[float | None]]]  # product -> (price, reference)
    realized: dict[str, list[float | None]] = field(default_factory=dict)  # product -> paid price per day


def chart_data(data: ReportData, top: int = 3) -> ChartData:
    """The series the chart draws."""
    days = data.period.days
    index = {d: i for i, d in enumerate(days)}
    volume = {s: [0] * len(days) for s in CHART_STATUSES}
    for ld in data.lot_days:
        if ld.day in index:
            if ld.status in OPEN:
                volume["open"][index[ld.day]] += ld.remaining_kg
            elif ld.status == "expired":
                volume["unsold"][index[ld.day]] += ld.remaining_kg
    for md in data.match_days:
        if md.lot_day not in index:
            continue
        key = {
            "paid": "paid",
            "picked_up": "picked_up",
            "disputed": "picked_up",
            "accepted": "matched",
            "scheduled": "matched",
            "proposed": "proposed",
        }
        if md.status in key:
            volume[key[md.status]][index[md.lot_day]] += md.kg
    book = PriceBook(data.prices)
    lines = price_lines(data.match_days, book)[:top]
    prices: dict[str, tuple[list[float | None], list[float | None]]] = {}
    realized: dict[str, list[float | None]] = {}
    for line in lines:
        kg, value = [0] * len(days), [0] * len(days)
        ref_kg, ref_value = [0] * len(days), [0] * len(days)
        paid_kg, paid_value = [0] * len(days), [0] * len(days)
        for md in data.match_days:
            if md.product_code != line.product_code or md.status not in MATCHED or md.match_day not in index:
                continue
            i = index[md.match_day]
            kg[i] += md.kg
            value[i] += md.value_vnd
            if (ref := book.on(md.product_code, md.province_code, md.match_day)) is not None:
                ref_kg[i] += md.kg
                ref_value[i] += ref * md.kg
            if md.status == "paid":
                paid_kg[i] += md.weighed_kg
                paid_value[i] += md.weighed_value_vnd
        prices[line.product_code] = (
            [value[i] / kg[i] if kg[i] else None for i in range(len(days))],
            [ref_value[i] / ref_kg[i] if ref_kg[i] else None for i in range(len(days))],
        )
        if any(paid_kg):
            realized[line.product_code] = [
                paid_value[i] / paid_kg[i] if paid_kg[i] else None for i in range(len(days))
            ]
    return ChartData(days, volume, prices, realized)
