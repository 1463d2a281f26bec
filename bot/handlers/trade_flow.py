"""Starting the lot flow (/thuhoach) or the order flow (/dathang) with what a sentence already
said ("nhà em có 3 tạ na, mai thu"): each value is checked by the rule of its step; a wrong one
is explained and asked again, the rest is asked as usual."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from bot.engine.context import Ctx
from bot.i18n import _
from bot.places import bare
from bot.services.quantities import RuleError, check_price, check_quantity
from bot.textnorm import fold

WindowCheck = Callable[[Ctx, str | None, dt.date, dt.date], None]  # (ctx, product, start, end)


def prefill_place(ctx: Ctx, prefill: dict[str, Any]) -> tuple[int | None, int | None]:
    """(province, ward) a sentence named: a known ward with its province, else a known province.

    A place found outside the person's own province, in a sentence that does not name that
    province, is the ward of their own province that the sentence names, if there is one
    ("chợ Chi Lăng" from Lạng Sơn is Xã Chi Lăng there, not a former commune elsewhere).
    """
    places = ctx.services.places
    ward = places.ward(prefill["ward_code"]) if isinstance(prefill.get("ward_code"), int) else None
    home = ctx.user.province_code
    if ward is not None and home is not None and ward.province_code != home:
        said = " {} ".format(re.sub(r"\W+", " ", fold(ctx.text)))
        if f" {bare(ward.province_name)} " not in said:
            near = [w for w in places.wards_of(home) if f" {bare(w.ward_name or '')} " in said]
            ward = max(near, key=lambda w: len(w.ward_name or "")) if near else ward
    if ward is not None:
        return ward.province_code, ward.ward_code
    province = prefill.get("province_code")
    return (province, None) if province in places.provinces else (None, None)


def prefill_answers(
    ctx: Ctx, prefill: dict[str, Any], check_window: WindowCheck
) -> tuple[dict[str, Any], list[str]]:
    """The product, quantity, price and window a sentence gave, as step answers; and what was wrong."""
    data: dict[str, Any] = {}
    problems: list[str] = []
    product = ctx.services.catalog.get(str(prefill.get("product") or ""))
    if product is not None:
        data["product"] = product.code
    if prefill.get("quantity_kg") is not None:
        try:
            data["quantity_kg"] = check_quantity(float(prefill["quantity_kg"]))
        except (RuleError, ValueError, TypeError) as e:
            problems.append(e.message if isinstance(e, RuleError) else _("Khối lượng không hợp lệ."))
    if prefill.get("price_vnd_per_kg") is not None:
        try:
            price = float(prefill["price_vnd_per_kg"])
            # Without a product the range is checked once the product is answered.
            data["price"] = check_price(product, price) if product is not None else round(price)
        except (RuleError, ValueError, TypeError) as e:
            problems.append(e.message if isinstance(e, RuleError) else _("Giá không hợp lệ."))
    if prefill.get("date_from") or prefill.get("date_to"):
        start = str(prefill.get("date_from") or prefill["date_to"])
        end = str(prefill.get("date_to") or prefill["date_from"])
        try:
            check_window(ctx, data.get("product"), dt.date.fromisoformat(start), dt.date.fromisoformat(end))
            data["window"] = [start, end]
        except (RuleError, ValueError) as e:
            problems.append(e.message if isinstance(e, RuleError) else _("Ngày không hợp lệ."))
    return data, problems


def mentioned(prefill: dict[str, Any], key: str) -> bool:
    return prefill.get(key) is not None
