"""The console's demo village: collection points and reference prices in Lạng Sơn, a trader with
an order, a cooperative with a lot, a farmer and an official — people the newcomer can play
(``:la``) or let answer by themselves. Seeded only into the console's own demo database."""

from __future__ import annotations

import datetime as dt

from bot.channels.console import CHANNEL, Someone
from bot.clock import Clock
from storage.uow import Database

LANG_SON = 20
DEMO_DATABASE = "demo.db"  # in DATA_DIR
DEMO_POINTS = (
    ("Điểm tập kết chợ Chi Lăng", 6463, "Chợ Đồng Mỏ, Chi Lăng"),
    ("Điểm tập kết UBND xã Văn Lãng", 6154, "Trước UBND xã Văn Lãng"),
)
DEMO_PRICES = (("na", 30_000), ("hong_vanh_khuyen", 20_000))
# (chat, name, role, ward, phone, answers by themselves)
DEMO_PEOPLE = (
    ("manh", "Thương lái Hoàng Văn Mạnh (mẫu)", "trader", 6463, "0900000001", True),
    ("htx", "HTX Hồng Văn Lãng (mẫu)", "coop_rep", 6154, "0900000002", True),
    ("lan", "Nông dân Lý Thị Lan (mẫu)", "farmer", 6463, "0900000003", True),
    ("canbo", "Cán bộ Sở Công Thương (mẫu)", "official", 6463, "0900000004", False),
)
SCRIPTED = frozenset(chat for chat, *_rest, scripted in DEMO_PEOPLE if scripted)


async def seed_demo(db: Database, clock: Clock) -> bool:
    """Add the demo village once; a newcomer who reports na, or orders hồng vành khuyên, gets a real
    proposal within seconds, and the demo people answer it."""
    async with db.uow() as uow:
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
        today, now = clock.today(), clock.now()
        for code, price in DEMO_PRICES:
            await uow.prices.add(
                product_code=code,
                province_code=LANG_SON,
                price=price,
                valid_from=today - dt.timedelta(days=1),
                set_by=None,
            )
        people = {}
        for chat, name, role, ward, phone, _scripted in DEMO_PEOPLE:
            user = await uow.users.ensure(CHANNEL, chat, chat, "vi")
            await uow.users.register(
                user.id, name=name, phone=phone, role=role, province_code=LANG_SON, ward_code=ward, now=now
            )
            await uow.users.update(user.id, consent_at=now)
            people[chat] = user
        await uow.users.update(people["htx"].id, bank_bin="970405", bank_account="3300205123456")
        await uow.orders.add(
            trader_id=people["manh"].id,
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
            owner_id=people["htx"].id,
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


async def console_people(db: Database) -> list[Someone]:
    """Everyone who has written in the console (the demo people first)."""
    async with db.reader() as uow:
        users = await uow.users.on_channel(CHANNEL)
    order = {chat: i for i, (chat, *_rest) in enumerate(DEMO_PEOPLE)}
    people = [
        Someone(u.chat_id, u.name or u.chat_id, u.role or "", scripted=u.chat_id in SCRIPTED)
        for u in users
        if u.registered
    ]
    return sorted(people, key=lambda p: order.get(p.chat_id, len(order)))
