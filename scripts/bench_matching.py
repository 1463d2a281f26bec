"""Benchmark the matcher on a seeded synthetic season and compare with a max-flow optimum.

    .venv/bin/python scripts/bench_matching.py [--lots 100000] [--orders 10000] [--seed 1]

Prints one JSON line. The reference optimum is OR-Tools' SimpleMinCostFlow (max flow, zero
costs) over every compatible pair; it relaxes the minimum-lot rule to "the lot holds at least
the order's minimum" (a flow may split below it), so ``volume_ratio`` is a lower bound of how
close the matcher gets to the true optimum under the rule.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.catalog import CATALOG, Product
from bot.matching.allocator import match_incremental, plan_book
from bot.matching.book import OrderBook
from bot.matching.model import LotView, OrderView, PriceFloors
from bot.places import gazetteer

SEASON_START = date(2026, 8, 1)
SEASON_DAYS = 90
FLOOR_MARGIN = 0.10  # floor = provincial reference price minus 10 %
GRADES = ("1", "2", "xo")
CERT_BITS = {"vietgap": 1, "globalgap": 2, "ocop3": 4, "ocop4": 8, "ocop5": 16, "growing_area_code": 32}


@dataclass(frozen=True, slots=True)
class ProductMarket:
    """How one product trades this season."""

    product: Product
    reference: int
    peak_day: int
    provinces: tuple[int, ...]  # where it is grown
    supply_weight: float
    demand_weight: float


@dataclass(slots=True)
class Season:
    """A synthetic season: the open book plus the events that arrive after it settles."""

    lots: list[LotView]
    orders: list[OrderView]
    floors: dict[tuple[str, int], int]
    new_lots: list[LotView]
    new_orders: list[OrderView]


class SeasonMaker:
    """Draws lots and orders the way a campaign season looks (seeded, reproducible)."""

    def __init__(self, seed: int, n_products: int = 20, n_points: int = 300) -> None:
        self.rng = rng = random.Random(seed)
        provinces = sorted(gazetteer().provinces)
        products = sorted(rng.sample(list(CATALOG), n_products), key=lambda p: p.code)
        self.markets = []
        for product in products:
            reference = product.price_min + (product.price_max - product.price_min) * rng.uniform(0.15, 0.4)
            self.markets.append(
                ProductMarket(
                    product=product,
                    reference=int(round(reference, -2)),
                    peak_day=rng.randint(15, SEASON_DAYS - 15),
                    provinces=tuple(sorted(rng.sample(provinces, rng.randint(3, 6)))),
                    supply_weight=rng.lognormvariate(0, 0.7),
                    demand_weight=rng.lognormvariate(0, 0.7),
                )
            )
        grown = sorted({v for m in self.markets for v in m.provinces})
        self.points: dict[int, list[int]] = {v: [] for v in provinces}
        self.province_of_point: dict[int, int] = {}
        # Every province has a few collection points; growing provinces have most of them.
        for v in (
            provinces + [rng.choice(grown) for _ in range(n_points - 3 * len(provinces))] + provinces * 2
        ):
            self.points[v].append(len(self.province_of_point) + 1)
            self.province_of_point[len(self.province_of_point) + 1] = v
        self.provinces = provinces
        self.floors: dict[tuple[str, int], int] = {}
        for m in self.markets:
            for v in m.provinces:
                local = m.reference * rng.uniform(0.95, 1.05)
                self.floors[m.product.code, v] = int(round(local * (1 - FLOOR_MARGIN), -2))
        self._supply_cum = _cumulative([m.supply_weight for m in self.markets])
        self._demand_cum = _cumulative([m.demand_weight for m in self.markets])
        self._seq = 0

    def season(self, n_lots: int, n_orders: int, n_events: int) -> Season:
        """The open book plus ``n_events`` lots and orders arriving afterwards."""
        lots = [self.lot(i + 1) for i in range(n_lots + n_events)]
        orders = [self.order(i + 1) for i in range(n_orders + n_events)]
        return Season(lots[:n_lots], orders[:n_orders], self.floors, lots[n_lots:], orders[n_orders:])

    def lot(self, lot_id: int) -> LotView:
        """A cooperative's lot: 2 tạ to 30 tấn, mostly grown where the product is grown."""
        rng = self.rng
        m = rng.choices(self.markets, cum_weights=self._supply_cum)[0]
        v = rng.choice(m.provinces) if rng.random() < 0.85 else rng.choice(self.provinces)
        day = min(max(round(rng.gauss(m.peak_day, 18)), 0), SEASON_DAYS - 1)
        perishable = m.product.perishable_days
        length = rng.randint(1, 7) if perishable <= 10 else rng.randint(3, 21)
        certs = set()
        if rng.random() < 0.35:
            certs.add("vietgap")
        if rng.random() < 0.06:
            certs.add("globalgap")
        if rng.random() < 0.12:
            certs.add(rng.choice(("ocop3", "ocop4", "ocop5")))
        if rng.random() < 0.2:
            certs.add("growing_area_code")
        self._seq += 1
        return LotView(
            id=lot_id,
            product=m.product.code,
            remaining_kg=int(round(math.exp(rng.uniform(math.log(200), math.log(30_000))), -1)),
            grade=rng.choices(GRADES, weights=(45, 40, 15))[0],
            certifications=frozenset(certs),
            collection_point_id=rng.choice(self.points[v]),
            province_code=v,
            ready_from=SEASON_START + timedelta(days=day),
            ready_to=SEASON_START + timedelta(days=day + length),
            asking_price=int(round(m.reference * rng.uniform(0.85, 1.08), -2))
            if rng.random() < 0.55
            else None,
            perishable_days=perishable,
            posted_seq=self._seq,
        )

    def order(self, order_id: int) -> OrderView:
        """A trader's order: 1 to 100 tấn around the reference price, some of them ép giá."""
        rng = self.rng
        m = rng.choices(self.markets, cum_weights=self._demand_cum)[0]
        kg = int(round(math.exp(rng.uniform(math.log(1_000), math.log(100_000))), -2))
        day = min(max(round(rng.gauss(m.peak_day, 22)), 0), SEASON_DAYS - 1)
        provinces: frozenset[int] = frozenset()
        points: frozenset[int] = frozenset()
        where = rng.random()
        if where < 0.45:
            pool = m.provinces if rng.random() < 0.8 else self.provinces
            provinces = frozenset(rng.sample(pool, min(len(pool), rng.randint(1, 3))))
        elif where < 0.65:
            pool = [c for v in m.provinces for c in self.points[v]]
            points = frozenset(rng.sample(pool, min(len(pool), rng.randint(1, 4))))
            if rng.random() < 0.5:
                provinces = frozenset({rng.choice(m.provinces)})
        grades = rng.random()
        certs = rng.random()
        self._seq += 1
        return OrderView(
            id=order_id,
            product=m.product.code,
            remaining_kg=kg,
            price=int(round(m.reference * rng.gauss(1.0, 0.09), -2)),
            min_lot_kg=min(kg, rng.choices((0, 500, 1_000, 2_000, 5_000), weights=(35, 20, 20, 15, 10))[0]),
            pickup_from=SEASON_START + timedelta(days=day),
            pickup_to=SEASON_START + timedelta(days=day + rng.randint(3, 21)),
            provinces=provinces,
            collection_points=points,
            grades=frozenset()
            if grades < 0.55
            else frozenset({"1"})
            if grades < 0.85
            else frozenset({"1", "2"}),
            required_certs=frozenset()
            if certs < 0.7
            else frozenset({"vietgap"})
            if certs < 0.85
            else frozenset({"globalgap"})
            if certs < 0.9
            else frozenset({"growing_area_code"})
            if certs < 0.95
            else frozenset({"vietgap", "growing_area_code"}),
            posted_seq=self._seq,
        )


def _cumulative(weights: list[float]) -> list[float]:
    total = 0.0
    out = []
    for w in weights:
        total += w
        out.append(total)
    return out


def reference_optimum(lots: list[LotView], orders: list[OrderView], floors: PriceFloors) -> tuple[int, int]:
    """Max volume over all compatible pairs (SimpleMinCostFlow, zero costs); (kg, arcs)."""
    import numpy as np
    from ortools.graph.python import min_cost_flow

    by_product: dict[str, tuple[list[LotView], list[OrderView]]] = {}
    for lot in lots:
        by_product.setdefault(lot.product, ([], []))[0].append(lot)
    for order in orders:
        if order.product in by_product:
            by_product[order.product][1].append(order)
    total = 0
    arcs = 0
    for product, (plots, porders) in sorted(by_product.items()):
        if not porders:
            continue
        rf = np.array([lot.ready_from.toordinal() for lot in plots])
        rt = np.array([lot.ready_to.toordinal() for lot in plots])
        prov = np.array([lot.province_code for lot in plots])
        point = np.array([lot.collection_point_id for lot in plots])
        grade = np.array([1 << GRADES.index(lot.grade) for lot in plots])
        certs = np.array([sum(CERT_BITS[c] for c in lot.certifications) for lot in plots])
        ask = np.array([lot.asking_price or 0 for lot in plots])
        floor = np.array([floors.get((product, lot.province_code), 0) for lot in plots])
        kg = np.array([lot.remaining_kg for lot in plots], dtype=np.int64)
        tails: list[np.ndarray] = []
        heads: list[np.ndarray] = []
        n = len(plots)
        for j, order in enumerate(porders):
            ok = (rf <= order.pickup_to.toordinal()) & (rt >= order.pickup_from.toordinal())
            ok &= (ask <= order.price) & (floor <= order.price)
            ok &= kg >= min(order.min_lot_kg, order.remaining_kg)
            if not order.anywhere:
                ok &= np.isin(prov, list(order.provinces)) | np.isin(point, list(order.collection_points))
            if order.grades:
                ok &= (grade & sum(1 << GRADES.index(g) for g in order.grades)) != 0
            if order.required_certs:
                need = sum(CERT_BITS[c] for c in order.required_certs)
                ok &= (certs & need) == need
            idx = np.nonzero(ok)[0]
            tails.append(idx)
            heads.append(np.full(len(idx), n + j))
        source, sink = n + len(porders), n + len(porders) + 1
        big = int(kg.sum())
        flow = min_cost_flow.SimpleMinCostFlow()
        pair_tails = np.concatenate(tails)
        pair_heads = np.concatenate(heads)
        starts = np.concatenate([np.full(n, source), pair_tails, n + np.arange(len(porders))])
        ends = np.concatenate([np.arange(n), pair_heads, np.full(len(porders), sink)])
        caps = np.concatenate(
            [kg, np.full(len(pair_tails), big), np.array([o.remaining_kg for o in porders], dtype=np.int64)]
        )
        flow.add_arcs_with_capacity_and_unit_cost(starts, ends, caps, np.zeros(len(starts), dtype=np.int64))
        flow.set_node_supply(source, big)
        flow.set_node_supply(sink, -big)
        status = flow.solve_max_flow_with_min_cost()
        if status != flow.OPTIMAL:
            raise RuntimeError(f"reference solver failed for {product}: {status}")
        total += int(flow.maximum_flow())
        arcs += len(pair_tails)
    return total, arcs


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    """Run the benchmark and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--events", type=int, default=1_000, help="new lots and new orders timed incrementally"
    )
    parser.add_argument("--no-reference", action="store_true", help="skip the OR-Tools optimum")
    args = parser.parse_args()

    season = SeasonMaker(args.seed).season(args.lots, args.orders, args.events)

    started = time.perf_counter()
    by_price = plan_book(OrderBook(season.lots, season.orders), season.floors, slack_band_kg=None)
    by_price_s = time.perf_counter() - started
    started, started_cpu = time.perf_counter(), time.process_time()
    book = OrderBook(season.lots, season.orders)
    book_s = time.perf_counter() - started
    phases: dict[str, float] = {}
    allocations = plan_book(book, season.floors, timings=phases)
    batch_s = time.perf_counter() - started
    batch_cpu_s = time.process_time() - started_cpu
    matched = sum(a.kg for a in allocations)

    # New orders and new lots interleaved, each against the settled (and still settling) book.
    latencies: list[float] = []
    incremental_kg = 0
    for new in [x for pair in zip(season.new_orders, season.new_lots, strict=True) for x in pair]:
        started = time.perf_counter()
        found = match_incremental(new, book, season.floors)
        latencies.append((time.perf_counter() - started) * 1000)
        incremental_kg += sum(a.kg for a in found)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    result: dict[str, object] = {
        "lots": args.lots,
        "orders": args.orders,
        "seed": args.seed,
        "supply_kg": sum(lot.remaining_kg for lot in season.lots),
        "demand_kg": sum(order.remaining_kg for order in season.orders),
        "batch_s": round(batch_s, 3),
        # batch_s = book_s (OrderBook bulk load) + plan_book's phases
        "batch_breakdown": {"book_s": round(book_s, 3)} | {k: round(v, 3) for k, v in phases.items()},
        "batch_cpu_s": round(batch_cpu_s, 3),
        "price_only_s": round(by_price_s, 3),
        "price_only_kg": sum(a.kg for a in by_price),
        "matched_kg": matched,
        "allocations": len(allocations),
        "incremental_events": len(latencies),
        "incremental_kg": incremental_kg,
        "incremental_p50_ms": round(statistics.median(latencies), 3),
        "incremental_p99_ms": round(_percentile(latencies, 0.99), 3),
        "incremental_max_ms": round(max(latencies), 3),
        "peak_rss_mb": round(peak_rss_mb, 1),
    }
    if not args.no_reference:
        started = time.perf_counter()
        optimum, arcs = reference_optimum(season.lots, season.orders, season.floors)
        result |= {
            "optimum_kg": optimum,
            "volume_ratio": round(matched / optimum, 5) if optimum else 1.0,
            "price_only_ratio": round(sum(a.kg for a in by_price) / optimum, 5) if optimum else 1.0,
            "reference_arcs": arcs,
            "reference_s": round(time.perf_counter() - started, 3),
            "reference_min_lot": "relaxed",
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
