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
    """Add collection points, reference prices, a trader's order and a co-op's lot in Lạng Sơn once.

    A newcomer who reports na, or orders hồng vành khuyên, gets a real proposal within seconds.
    The demo people live on a channel with no sender, so nothing is ever delivered to them.
    """
    async with services.db.uow() as uow:
        if await uow.points.in_province(LANG_SON):
            return False
        points = [
            await uow.points.add(
                name=name,
                province_code=LANG_SON,
                ward_code=ward,
                address=address,
                opening_hours="06:00-18:00",
                status="active",
            )
            for name, ward, address in DEMO_POINTS
        ]
        today, now = services.clock.today(), services.clock.now()
        for code, price in DEMO_PRICES:
            await uow.prices.add(
                product_code=code,
                province_code=LANG_SON,
                price=price,
                valid_from=today - dt.timedelta(days=1),
                set_by=None,
            )
        trader = await uow.users.ensure("demo", "trader", "trader", "vi")
        await uow.users.register(
            trader.id,
            name="Thương lái Hoàng Văn Mạnh (mẫu)",
            phone="0900000001",
            role="trader",
            province_code=LANG_SON,
            ward_code=6463,
            now=now,
        )
        rep = await uow.users.ensure("demo", "rep", "rep", "vi")
        await uow.users.register(
            rep.id,
            name="HTX Hồng Văn Lãng (mẫu)",
            phone="0900000002",
            role="coop_rep",
            province_code=LANG_SON,
            ward_code=6154,
            now=now,
        )
        await uow.orders.add(
            trader_id=trader.id,
            product_code="na",
            quantity_kg=5_000,
            price=32_000,
            min_lot_kg=0,
            pickup_from=today,
            pickup_to=today + dt.timedelta(days=7),
            provinces=[LANG_SON],
            collection_points=[],
            grades=[],
            required_certs=[],
        )
        await uow.lots.add(
            owner_id=rep.id,
            product_code="hong_vanh_khuyen",
            quantity_kg=3_000,
            grade="1",
            certifications=["vietgap"],
            collection_point_id=points[1].id,
            ready_from=today + dt.timedelta(days=1),
            ready_to=today + dt.timedelta(days=5),
            asking_price=19_000,
        )
    return True
