"""Demo data for the local console, so a newcomer sees a living market in the first minute."""

from __future__ import annotations

import datetime as dt

from bot.services.container import Services

LANG_SON = 20
DEMO_POINTS = (
    ("Điểm tập kết chợ Chi Lăng", 6463, "Chợ Đồng Mỏ, Chi Lăng"),
    ("Điểm tập kết UBND xã Văn Lãng", 6154, "Trước UBND xã Văn Lãng"),
)
DEMO_PRICES = (("na", 30_000), ("hong_vanh_khuyen", 20_000))


async def seed_demo(services: Services) -> bool:
    """Add collection points and reference prices in Lạng Sơn once; False when already there."""
    async with services.db.uow() as uow:
        if await uow.points.in_province(LANG_SON):
            return False
        for name, ward, address in DEMO_POINTS:
            await uow.points.add(
                name=name,
                province_code=LANG_SON,
                ward_code=ward,
                address=address,
                opening_hours="06:00-18:00",
                status="active",
            )
        today = services.clock.today()
        for code, price in DEMO_PRICES:
            await uow.prices.add(
                product_code=code,
                province_code=LANG_SON,
                price=price,
                valid_from=today - dt.timedelta(days=1),
                set_by=None,
            )
    return True
