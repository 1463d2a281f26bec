"""Money as people count it: payments rounded to the thousand đồng, and splits whose parts add up
exactly to the whole (a household never gets a đồng more or less than its share)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction


def round_half_up(value: Fraction | int, step: int = 1) -> int:
    """``value`` to the nearest multiple of ``step``, halves going up (as people round)."""
    q = Fraction(value) / step
    return int(q + Fraction(1, 2)) * step if q >= 0 else -int(-q + Fraction(1, 2)) * step


def payment_amount(weighed_kg: int, price_per_kg: int, step: int = 1000) -> int:
    """What the trader pays: the weighed kg × the agreed price, to the nearest ``step`` đồng."""
    return round_half_up(weighed_kg * price_per_kg, step)


def split(total: int, weights: Sequence[int | Fraction]) -> list[int]:
    """``total`` in whole parts proportional to ``weights`` that add up to exactly ``total``.

    Largest remainder: each part is its exact share rounded down, and the units left over go to
    the largest fractional parts (ties to the earlier ones).
    """
    weights = [Fraction(w) for w in weights]
    whole = sum(weights)
    if not weights:
        return []
    if whole <= 0:
        parts = [0] * len(weights)
        parts[0] = total
        return parts
    exact = [total * w / whole for w in weights]
    parts = [int(x) for x in exact]  # floor: exact shares are never negative here
    left = total - sum(parts)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


@dataclass(frozen=True, slots=True)
class PayoutLine:
    """One household's statement: its kg of the pickup, gross, the coop's fee, net (đồng)."""

    household: str
    phone: str | None
    kg: int
    gross: int
    fee: int
    net: int


def household_payouts(
    shares: Sequence[tuple[str, str | None, int]], weighed_kg: int, amount: int, fee_pct: float
) -> list[PayoutLine]:
    """The payment of a pooled lot split by the households' shares (household, phone, kg of the lot).

    The weighed kg are split in proportion to the shares, the payment in proportion to those kg,
    and the coop's fee (``fee_pct`` of the payment, rounded to the đồng) in proportion to the gross:
    the grosses add up to ``amount``, the fees to the coop's fee, and gross − fee = net for each.
    """
    if not shares:
        return []
    kgs = split(weighed_kg, [kg for _h, _p, kg in shares])
    gross = split(amount, kgs if weighed_kg > 0 else [kg for _h, _p, kg in shares])
    fee_total = round_half_up(Fraction(amount) * Fraction(str(fee_pct)) / 100)
    fees = split(fee_total, gross) if amount > 0 else [0] * len(shares)
    return [
        PayoutLine(household, phone, k, g, f, g - f)
        for (household, phone, _kg), k, g, f in zip(shares, kgs, gross, fees, strict=True)
    ]
