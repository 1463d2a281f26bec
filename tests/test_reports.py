"""Reports against known data: the summary's numbers, the chart, the CSV and XLSX exports, the audit
log, and every kind of bad input; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from bot.engine.actions import Action
from bot.events import FILE_NAME, FILE_URL
from bot.handlers.reports import AuditPage, ReportFile, What
from bot.reports import export
from bot.reports.export import ExportData
from bot.reports.sheets import InertText, inert_text
from bot.services import deals
from bot.services import reports as service
from bot.services.reports import Period, PeriodError
from storage import models
from storage.uow import Database
from tests.harness import TZ, BotHarness, Person

LANG_SON, HA_NOI = 20, 1
SEPTEMBER = Period(dt.date(2026, 9, 1), dt.date(2026, 9, 30))


def at(day: int, hour: int, month: int = 9) -> dt.datetime:
    """A local moment of 2026, as stored (UTC)."""
    return dt.datetime(2026, month, day, hour, tzinfo=TZ).astimezone(dt.UTC)


@dataclass
class Seeded:
    rep: int
    farmer: int
    trader: int
    lots: dict[str, int]
    matches: dict[str, int]


async def seed(db: Database) -> Seeded:
    """A small September in Lạng Sơn (and one lot and order in Hà Nội), with numbers easy to check by hand.

    Lạng Sơn lots: L1 na 10 t (P1), L2 na 2 t (P1), L3 hồng 5 t (P2), L6 na 0,5 t cancelled (P1),
    L7 hồng 0,8 t expired (P2); L5 na 1 t in August. Matches: M1 6 t picked up (6 h after L1 was
    posted), M2 2 t accepted (12 h), M3 1 t proposed (24 h). Reference price of na 25.000 ₫ then
    30.000 ₫ from 3/9, hồng 20.000 ₫; order O2 offers hồng at 15.000 ₫: below the 17.000 ₫ floor.
    """
    async with db.uow() as uow:
        people = {}
        for ext, role, province, phone in (
            ("701", "coop_rep", LANG_SON, "0912000701"),
            ("702", "farmer", LANG_SON, "0912000702"),
            ("703", "trader", LANG_SON, "0912000703"),
            ("704", "trader", HA_NOI, "0912000704"),
            ("705", "coop_rep", HA_NOI, "0912000705"),
        ):
            user = await uow.users.ensure("telegram", ext, ext, "vi")
            await uow.users.register(
                user.id,
                name=f"Người {ext}",
                phone=phone,
                role=role,
                province_code=province,
                ward_code=6463 if province == LANG_SON else 4,
                now=at(1, 7, month=8),
            )
            people[ext] = user.id
        p1 = await uow.points.add(name="Điểm tập kết Chi Lăng", province_code=LANG_SON, ward_code=6463)
        p2 = await uow.points.add(name="Điểm Văn Lãng", province_code=LANG_SON, ward_code=None)
        p3 = await uow.points.add(name="Điểm Hà Nội", province_code=HA_NOI, ward_code=None)
        for product, price, day in (("na", 25_000, 1), ("na", 30_000, 3), ("hong_vanh_khuyen", 20_000, 1)):
            await uow.prices.add(
                product_code=product,
                province_code=LANG_SON,
                price=price,
                valid_from=dt.date(2026, 9, day),
                set_by=None,
            )

        async def lot(owner: str, product: str, kg: int, point: int, posted: dt.datetime) -> int:
            row = await uow.lots.add(
                owner_id=people[owner],
                product_code=product,
                quantity_kg=kg,
                collection_point_id=point,
                ready_from=posted.date(),
                ready_to=posted.date() + dt.timedelta(days=5),
                asking_price=20_000,
                created_at=posted,
            )
            return row.id

        lots = {
            "L1": await lot("701", "na", 10_000, p1.id, at(2, 8)),
            "L2": await lot("702", "na", 2_000, p1.id, at(3, 8)),
            "L3": await lot("701", "hong_vanh_khuyen", 5_000, p2.id, at(5, 8)),
            "L4": await lot("705", "na", 3_000, p3.id, at(4, 8)),
            "L5": await lot("702", "na", 1_000, p1.id, at(20, 8, month=8)),
            "L6": await lot("701", "na", 500, p1.id, at(6, 8)),
            "L7": await lot("702", "hong_vanh_khuyen", 800, p2.id, at(1, 9)),
        }
        await uow.lots.close(lots["L6"], "cancelled", "bán ngoài")
        await uow.lots.close(lots["L7"], "expired")

        async def order(
            trader: str, product: str, kg: int, price: int, provinces: list[int], day: int
        ) -> int:
            row = await uow.orders.add(
                trader_id=people[trader],
                product_code=product,
                quantity_kg=kg,
                price=price,
                pickup_from=dt.date(2026, 9, day),
                pickup_to=dt.date(2026, 9, day + 10),
                provinces=provinces,
                created_at=at(day, 9),
            )
            return row.id

        o1 = await order("703", "na", 8_000, 26_000, [LANG_SON], 2)
        o2 = await order("703", "hong_vanh_khuyen", 3_000, 15_000, [LANG_SON], 5)
        o3 = await order("704", "na", 3_000, 20_000, [HA_NOI], 4)
        await order("704", "na", 1_000, 20_000, [], 4)

        slot = models.PickupSlot(
            point_id=p1.id,
            starts_at=at(3, 7),
            ends_at=at(3, 9),
            capacity_kg=20_000,
            capacity_trucks=4,
        )
        uow.session.add(slot)
        await uow.session.flush()

        async def match(
            lot_key: str, order_id: int, kg: int, price: int, status: str, made: dt.datetime
        ) -> int:
            assert await uow.lots.take(lots[lot_key], kg) and await uow.orders.take(order_id, kg)
            m = await uow.matches.add(
                lot_id=lots[lot_key], order_id=order_id, kg=kg, price=price, expires_at=None
            )
            values = {"created_at": made, "slot_id": slot.id if status == "picked_up" else None}
            await uow.matches.transition(m.id, ("proposed",), status=status, **values)
            return m.id

        matches = {
            "M1": await match("L1", o1, 6_000, 26_000, "picked_up", at(2, 14)),
            "M2": await match("L2", o1, 2_000, 26_000, "accepted", at(3, 20)),
            "M3": await match("L3", o2, 1_000, 15_000, "proposed", at(6, 8)),
            "M4": await match("L4", o3, 3_000, 20_000, "scheduled", at(4, 12)),
        }
    return Seeded(people["701"], people["702"], people["703"], lots, matches)


@pytest.fixture
async def seeded(database: Database) -> Seeded:
    return await seed(database)


async def summary_of(db: Database, period: Period, province: int | None) -> service.Summary:
    async with db.uow() as uow:
        data = await service.load(uow, period, TZ, province)
    return service.summarize(data, gouging_margin=0.15)


# --- the numbers ------------------------------------------------------------------------------------


async def test_summary_of_a_province_matches_the_data(database: Database, seeded: Seeded) -> None:
    s = await summary_of(database, SEPTEMBER, LANG_SON)
    t = s.total
    assert (t.lots, t.reported_kg, t.matched_kg, t.picked_up_kg, t.proposed_kg, t.open_kg, t.unsold_kg) == (
        5,
        17_800,
        8_000,
        6_000,
        1_000,
        8_000,
        800,
    )
    assert t.fill_rate == pytest.approx(8_000 / 17_800)
    na, hong = s.by_product["na"], s.by_product["hong_vanh_khuyen"]
    assert (na.reported_kg, na.matched_kg, na.open_kg) == (12_000, 8_000, 4_000)
    assert (hong.reported_kg, hong.matched_kg, hong.proposed_kg, hong.open_kg, hong.unsold_kg) == (
        5_800,
        0,
        1_000,
        4_000,
        800,
    )
    by_name = {s.point_names[k]: v for k, v in s.by_point.items() if k is not None}
    assert by_name["Điểm tập kết Chi Lăng"].reported_kg == 12_000
    assert by_name["Điểm tập kết Chi Lăng"].picked_up_kg == 6_000
    assert by_name["Điểm Văn Lãng"].reported_kg == 5_800
    assert (s.farmers, s.coop_reps, s.traders) == (1, 1, 1)
    assert (s.orders, s.ordered_kg, s.open_order_kg) == (2, 11_000, 2_000)
    assert (s.held_back_orders, s.held_back_kg) == (1, 3_000)
    [na_price] = s.prices  # hồng has only a proposal: no agreed price yet
    assert na_price.product_code == "na" and na_price.matched_kg == 8_000
    assert na_price.avg_price == 26_000
    assert na_price.avg_reference == pytest.approx((6_000 * 25_000 + 2_000 * 30_000) / 8_000)
    assert na_price.diff_pct == pytest.approx(26_000 / 26_250 - 1, abs=1e-4)
    assert s.median_hours_to_match == 12.0
    js = s.to_json()
    assert js["total"]["reported_kg"] == 17_800 and js["held_back"] == {"orders": 1, "kg": 3_000}


async def test_national_summary_and_an_empty_period(database: Database, seeded: Seeded) -> None:
    s = await summary_of(database, SEPTEMBER, None)
    assert s.total.reported_kg == 20_800 and s.total.matched_kg == 11_000
    assert (s.orders, s.traders, s.coop_reps) == (4, 2, 2)
    assert s.median_hours_to_match == 9.0  # 4 h, 6 h, 12 h, 24 h
    august = await summary_of(database, Period(dt.date(2026, 8, 1), dt.date(2026, 8, 31)), LANG_SON)
    assert august.total.reported_kg == 1_000 and august.total.matched_kg == 0
    assert august.total.fill_rate == 0 and august.median_hours_to_match is None
    spring = await summary_of(database, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)), None)
    assert spring.empty and spring.total.fill_rate is None


def test_periods_as_typed_and_presets() -> None:
    today = dt.date(2026, 9, 10)
    assert service.parse_period("1/9-30/9", today) == SEPTEMBER
    assert service.parse_period("01/09/2026 đến 30/09/2026", today) == SEPTEMBER
    assert service.parse_period("2026-09-01 2026-09-30", today) == SEPTEMBER
    assert service.parse_period("15/9", today) == Period(dt.date(2026, 9, 15), dt.date(2026, 9, 15))
    for typed, code in (("30/9-1/9", "reversed"), ("tháng chín", "unreadable"), ("31/2-3/3", "unreadable")):
        with pytest.raises(PeriodError) as err:
            service.parse_period(typed, today)
        assert err.value.code == code
    with pytest.raises(PeriodError):
        service.parse_period("1/1/2024-1/1/2026", today)
    assert service.preset("7d", today) == Period(dt.date(2026, 9, 4), today)
    assert service.preset("season", today).start == dt.date(2026, 7, 1)
    assert service.preset("season", dt.date(2027, 2, 1)).start == dt.date(2026, 7, 1)


# --- the conversation --------------------------------------------------------------------------------


@pytest.fixture
def bot(database: Database) -> BotHarness:
    return BotHarness(database, admin_ids="telegram:1", public_url="https://nongsan.example.vn")


def button(bot: BotHarness, act: Action) -> str:
    """The payload of a button meaning ``act``, as the bot would have signed it."""
    return bot.services.codec.encode(act)


async def official(bot: BotHarness) -> Person:
    person = bot.person("900")
    await bot.register(person, role_label="Nông dân", name="Hoàng Văn Sở", phone="0911000900")
    user = await bot.user(person)
    async with bot.db.uow() as uow:
        await uow.users.update(user.id, role="official")
    return person


async def test_official_reads_the_report_chart_and_excel(bot: BotHarness, seeded: Seeded) -> None:
    so = await official(bot)
    await so.says("/baocao")
    assert so.buttons == ["Hôm nay", "7 ngày", "30 ngày", "Mùa này"]
    await so.says("30/9-1/9")
    assert "Ngày kết thúc phải sau ngày bắt đầu" in so.last
    await so.says("1/9-30/9")
    assert so.buttons[0] == "Tỉnh Lạng Sơn"  # officials start from their own province
    await so.presses("Lạng Sơn")
    text = so.plain
    assert "📊 Báo cáo 01/09/2026 – 30/09/2026 – Tỉnh Lạng Sơn" in text
    assert "Báo thu hoạch: 17.800 kg (5 lô)" in text
    assert "Đã ghép: 8.000 kg · đã lấy hàng: 6.000 kg · chờ xác nhận: 1.000 kg · còn mở: 8.000 kg" in text
    assert "Tỷ lệ ghép: 44,9% · thời gian đến khi ghép (trung vị): 12 giờ" in text
    assert "1 nông dân, 1 đại diện HTX, 1 thương lái" in text
    assert "giá dưới sàn (tham chiếu −15%): 1 đơn, 3.000 kg" in text
    assert "• Na: 26.000 ₫/kg, tham chiếu 26.250 ₫/kg (-0,9%)" in text
    assert "• Điểm tập kết Chi Lăng: báo 12.000 kg, ghép 8.000 kg, đã lấy 6.000 kg" in text

    await so.presses("Biểu đồ")
    [reply] = so.replies
    png = reply.attachment.data
    assert reply.attachment.is_photo and png.startswith(b"\x89PNG\r\n\x1a\n")
    assert 10_000 < len(png) < 1_000_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (900, 1000)

    await so.presses("Xuất Excel")
    [reply] = so.replies
    assert reply.attachment.filename == "nongsan_20260901_20260930.xlsx"
    assert "Số điện thoại đã được che" in reply.text
    wb = load_workbook(io.BytesIO(reply.attachment.data))
    assert wb.sheetnames == ["Lô hàng", "Đơn mua", "Ghép đơn", "Lấy hàng", "Giá thực tế", "Báo ép giá"]
    lots = list(wb["Lô hàng"].iter_rows(values_only=True))
    assert lots[0][:8] == (
        "Mã lô",
        "Ngày đăng",
        "Người báo",
        "Điện thoại",
        "Vai trò",
        "Mã sản phẩm",
        "Sản phẩm",
        "Khối lượng (kg)",
    )
    first = dict(zip(lots[0], lots[1], strict=True))
    assert first["Mã lô"] == seeded.lots["L1"] and first["Khối lượng (kg)"] == 10_000
    assert first["Ngày đăng"] == dt.datetime(2026, 9, 2, 8, 0) and first["Sẵn sàng từ"] == dt.datetime(
        2026, 9, 2
    )
    assert (
        first["Điện thoại"] == "0912***701" and first["Sản phẩm"] == "Na" and first["Tỉnh"] == "Tỉnh Lạng Sơn"
    )
    assert (
        wb["Lô hàng"]["H2"].number_format == "#,##0"
        and wb["Lô hàng"]["B2"].number_format == "dd/mm/yyyy hh:mm"
    )
    assert len(lots) == 6 and wb["Đơn mua"].max_row == 3 and wb["Ghép đơn"].max_row == 4
    pickups = list(wb["Lấy hàng"].iter_rows(values_only=True))
    assert len(pickups) == 2 and pickups[1][3] == dt.datetime(2026, 9, 3, 7, 0)
    async with bot.db.uow() as uow:
        entries = await uow.audit.recent()
    assert entries[0].action == "export_data" and entries[0].details["with_phones"] is False
    # Reading the report and the chart is audited too: who looked at which period and province.
    assert [e.action for e in entries[1:3]] == ["report_chart", "report_view"]
    assert entries[2].details == {"from": "2026-09-01", "to": "2026-09-30", "province": 20}


async def test_admin_exports_csv_with_phones_and_empty_periods_say_so(
    bot: BotHarness, seeded: Seeded
) -> None:
    admin = bot.person("1")
    await bot.register(admin, role_label="Nông dân", name="Quản Trị Viên", phone="0912345001")
    await admin.says("/xuat")
    await admin.says("1/9/2026 - 30/9/2026")
    assert "Toàn quốc" in admin.buttons
    await admin.presses("Toàn quốc")
    assert "Chọn định dạng" in admin.last and "che" not in admin.last
    await admin.presses("CSV ghép đơn")
    [reply] = admin.replies
    assert reply.attachment.filename == "nongsan_20260901_20260930_matches.csv"
    raw = reply.attachment.data
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert [int(r["Mã ghép"]) for r in rows] == sorted(seeded.matches.values())
    m1 = rows[0]
    assert m1["Ngày ghép"] == "2026-09-02 14:00" and m1["Khối lượng (kg)"] == "6000"
    assert m1["Thành tiền (₫)"] == "156000000" and m1["Trạng thái"] == "đã lấy hàng"
    assert m1["ĐT người bán"] == "0912000701" and m1["ĐT thương lái"] == "0912000703"

    await admin.says("/baocao")
    await admin.says("1/3-31/3")
    await admin.presses("Toàn quốc")
    assert "Không có dữ liệu trong kỳ này" in admin.last
    await admin.sends_payload(button(bot, ReportFile(What.CHART, 20260301, 20260331, 0)))
    assert "Không có dữ liệu trong kỳ này, nên chưa vẽ được biểu đồ" in admin.last
    await admin.sends_payload(button(bot, ReportFile(What.XLSX, 20260301, 20260331, 20)))
    assert "Không có dữ liệu để xuất trong kỳ 01/03/2026 – 31/03/2026" in admin.last
    await admin.sends_payload(button(bot, ReportFile(What.XLSX, 20260331, 20260301, 20)))
    assert "Lựa chọn này đã cũ" in admin.last


async def test_farmers_get_no_reports(bot: BotHarness, seeded: Seeded) -> None:
    an = bot.person("50")
    await bot.register(an, role_label="Nông dân", name="Nguyễn Văn An", phone="0912345050")
    await an.sends_payload(button(bot, ReportFile(What.XLSX, 20260901, 20260930, 20)))  # seen elsewhere
    assert "chỉ dành cho" in an.last and an.replies[0].attachment is None
    await an.says("/xuat")
    assert "chỉ dành cho" in an.last
    await an.sends_payload(button(bot, AuditPage(0)))
    assert "chỉ dành cho: Quản trị" in an.last
    async with bot.db.uow() as uow:
        refused = [e.action for e in await uow.audit.recent() if not e.allowed]
    assert refused == ["audit_log", "xuat", "report"]


# --- what people typed reaches the spreadsheets as inert text ----------------------------------------

FORMULA_LIKE = (
    '=HYPERLINK("http://evil.example/?q=1","Bấm")',
    "+1",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
)
RTL_NAME = "Nguyễn Văn \u202egpj.exe\u202c An"  # shows as "...exe.jpg" without the override
LONG_NOTE = "VietGAP " * 5_000  # 40.000 characters: more than an Excel cell holds


def typed_export() -> ExportData:
    """The lots sheet with point names, owners and certificates as a mischievous person could type them."""
    rows = []
    for i, point in enumerate((*FORMULA_LIKE, "Điểm tập kết Chi Lăng"), start=1):
        rows.append(
            {
                "id": i,
                "created_at": dt.datetime(2026, 9, 2, 8, 0),
                "owner": RTL_NAME if i == 1 else "HTX Na Chi Lăng",
                "phone": "0912***701",
                "role": "coop_rep",
                "product_code": "na",
                "product": "Na",
                "quantity_kg": 1_500,
                "remaining_kg": -1_500 if i == 1 else 0,  # a NUMBER column: negative stays a number
                "grade": "1",
                "certifications": LONG_NOTE if i == 1 else "VietGAP",
                "point": point,
                "province": "Tỉnh Lạng Sơn",
                "ready_from": dt.date(2026, 9, 15),
                "ready_to": dt.date(2026, 9, 18),
                "asking_price": 25_000,
                "status": "open",
            }
        )
    return ExportData(SEPTEMBER, {"lots": rows, "matches": []})


def test_formula_like_rtl_and_very_long_values_are_inert_in_xlsx() -> None:
    raw = export.to_xlsx(typed_export())
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        sheet_xml = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml  # not one formula in the file
    ws = load_workbook(io.BytesIO(raw))["Lô hàng"]
    header = [c.value for c in ws[1]]
    col = {name: header.index(name) for name in ("Điểm tập kết", "Người báo", "Chứng nhận", "Còn lại (kg)")}
    rows = list(ws.iter_rows(min_row=2))
    for row, typed in zip(rows, FORMULA_LIKE, strict=False):
        cell = row[col["Điểm tập kết"]]
        assert cell.data_type == "s" and cell.quotePrefix, typed
        # The exact text, kept (XML reads a carriage return as a line feed).
        assert cell.value == typed.replace("\r", "\n")
    ordinary = rows[-1][col["Điểm tập kết"]]
    assert (ordinary.value, ordinary.data_type, ordinary.quotePrefix) == ("Điểm tập kết Chi Lăng", "s", False)

    owner = rows[0][col["Người báo"]].value
    assert owner == "Nguyễn Văn gpj.exe An" and not any("\u202a" <= ch <= "\u202e" for ch in owner)
    note = rows[0][col["Chứng nhận"]].value
    assert len(note) <= 32_767 and note.startswith("VietGAP VietGAP") and note.endswith("dài 40.000 ký tự]")

    negative = rows[0][col["Còn lại (kg)"]]
    assert (negative.value, negative.data_type, negative.number_format) == (-1_500, "n", "#,##0")
    first = rows[0]
    assert first[header.index("Ngày đăng")].value == dt.datetime(2026, 9, 2, 8, 0)
    assert first[header.index("Sẵn sàng từ")].is_date and first[header.index("Mã lô")].value == 1


def test_formula_like_rtl_and_very_long_values_are_inert_in_csv() -> None:
    raw = export.to_csv(typed_export(), "lots")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert [r["Điểm tập kết"] for r in rows] == ["'" + typed for typed in FORMULA_LIKE] + [
        "Điểm tập kết Chi Lăng"
    ]
    assert rows[0]["Người báo"] == "Nguyễn Văn gpj.exe An"
    note = rows[0]["Chứng nhận"]
    assert len(note) <= 32_767 and note.endswith("dài 40.000 ký tự]")
    assert rows[0]["Còn lại (kg)"] == "-1500" and rows[1]["Còn lại (kg)"] == "0"  # numbers stay numbers
    assert rows[0]["Sẵn sàng từ"] == "2026-09-15" and rows[0]["Ngày đăng"] == "2026-09-02 08:00"
    assert rows[0]["Điện thoại"] == "0912***701" and rows[-1]["Người báo"] == "HTX Na Chi Lăng"


def test_inert_text_leaves_ordinary_values_alone() -> None:
    for ordinary in ("Na", "HTX Na Chi Lăng", "0912***701", "Loại 1", "25.000 ₫/kg", "a-b", "x=y", ""):
        assert inert_text(ordinary) == InertText(ordinary, False)
    assert inert_text(" =1+1").formula_like and inert_text("\n@x").formula_like
    assert inert_text("a\x00b\x1fc").text == "abc"  # XML cannot hold them; XLSX would refuse the file


async def test_a_point_a_farmer_named_like_a_formula_is_exported_as_text(bot: BotHarness) -> None:
    """A rep proposed a point named like a formula; the official's Excel and CSV keep it as text.

    The point and its lot are stored as the harvest flow stores them (the name as typed, cut at
    its first comma) and approved as an official would; the proposing itself is the lots flow's.
    """
    name = '=HYPERLINK("http://evil.example"'
    rep = bot.person("710")
    await bot.register(rep, role_label="Đại diện HTX", name="HTX Na Chi Lăng", phone="0912000710")
    owner = await bot.user(rep)
    async with bot.db.uow() as uow:
        point = await uow.points.add(name=name, province_code=LANG_SON, ward_code=6463, status="active")
        lot = await uow.lots.add(
            owner_id=owner.id,
            product_code="na",
            quantity_kg=500,
            collection_point_id=point.id,
            ready_from=dt.date(2026, 9, 10),
            ready_to=dt.date(2026, 9, 10),
            asking_price=None,
            created_at=at(10, 8),
        )
        trader = await uow.users.ensure("telegram", "711", "711", "vi")
        order = await uow.orders.add(
            trader_id=trader.id,
            product_code="na",
            quantity_kg=500,
            price=26_000,
            pickup_from=dt.date(2026, 9, 10),
            pickup_to=dt.date(2026, 9, 12),
            provinces=[LANG_SON],
        )
        assert await uow.lots.take(lot.id, 500) and await uow.orders.take(order.id, 500)
        match = await uow.matches.add(lot_id=lot.id, order_id=order.id, kg=500, price=26_000, expires_at=None)
        await uow.session.execute(
            update(models.Match).where(models.Match.id == match.id).values(created_at=at(10, 9))
        )

    so = await official(bot)
    await so.sends_payload(button(bot, ReportFile(What.XLSX, 20260901, 20260930, 20)))
    [reply] = so.replies
    wb = load_workbook(io.BytesIO(reply.attachment.data))
    for sheet in ("Lô hàng", "Ghép đơn"):
        ws = wb[sheet]
        header = [c.value for c in ws[1]]
        cell = ws.cell(row=2, column=header.index("Điểm tập kết") + 1)
        assert (cell.value, cell.data_type, cell.quotePrefix) == (name, "s", True), sheet
    await so.sends_payload(button(bot, ReportFile(What.LOTS, 20260901, 20260930, 20)))
    [reply] = so.replies
    [row] = csv.DictReader(io.StringIO(reply.attachment.data.decode("utf-8-sig")), delimiter=";")
    assert row["Điểm tập kết"] == "'" + name


async def test_an_official_demoted_in_the_middle_of_baocao_gets_no_report(
    bot: BotHarness, seeded: Seeded
) -> None:
    so = await official(bot)
    await so.says("/baocao")
    await so.says("1/9-30/9")
    assert "Tỉnh nào?" in so.last
    user = await bot.user(so)
    async with bot.db.uow() as uow:  # an admin withdraws the role between two messages
        await uow.users.update(user.id, role="farmer")
    await so.presses("Lạng Sơn")
    assert "chỉ dành cho: Quản trị, Cán bộ" in so.last
    assert "Báo cáo 01/09/2026" not in so.last and "17.800" not in so.plain
    await so.says("Lạng Sơn")  # the flow is over: nothing more about it
    assert "Báo thu hoạch" not in so.last
    # A report button from before the demotion is refused as well.
    await so.sends_payload(button(bot, ReportFile(What.XLSX, 20260901, 20260930, 20)))
    assert "chỉ dành cho" in so.last and so.replies[0].attachment is None
    async with bot.db.uow() as uow:
        refused = [(e.action, e.actor_id) for e in await uow.audit.recent() if not e.allowed]
    assert refused == [("report", user.id), ("baocao", user.id)]


async def test_an_official_on_zalo_answers_by_number_and_exports_typed_periods(
    bot: BotHarness, seeded: Seeded
) -> None:
    so = bot.person("901", channel="zalo")
    await bot.register(so, role_label="Nông dân", name="Cán Bộ Zalo", phone="0911000901")
    user = await bot.user(so)
    async with bot.db.uow() as uow:
        await uow.users.update(user.id, role="official")
    await so.says("/xuat")
    await so.says("30 ngay")  # a preset, typed without diacritics
    assert "Tỉnh nào?" in so.last
    await so.says("1")  # the official's own province, first on the list
    assert "Xuất dữ liệu 12/08/2026 – 10/09/2026 – Tỉnh Lạng Sơn" in so.last
    await so.says("3")  # CSV đơn mua
    [reply] = so.replies  # Zalo fetches files by URL: a signed link to the bot's own server
    assert reply.attachment is None
    assert reply.extras[FILE_NAME] == "nongsan_20260812_20260910_orders.csv"
    assert reply.extras[FILE_URL].startswith("https://nongsan.example.vn/files/")


# --- after the slot: weighed, paid, no-shows, disputes, gouging reports -------------------------------

ENGLISH_CODES = {
    "open", "partly_matched", "matched", "expired", "cancelled", "proposed", "accepted", "scheduled",
    "picked_up", "disputed", "paid", "no_show", "declined", "farmer", "coop_rep", "trader", "official",
    "admin", "xo", "vietgap", "cash", "transfer",
}  # fmt: skip


async def seed_after_the_slot(db: Database, seeded: Seeded) -> dict[str, int]:
    """Deals of lots posted on 8/9 in Lạng Sơn, taken on by the deal services on 9/9:

    X1 na 2 t at 28.000 ₫ and X2 na 1 t at 31.000 ₫ weighed in full and paid (87.000.000 ₫:
    29.000 ₫/kg against a 30.000 ₫ reference); X3 hồng 1 t disputed and still open; X4 hồng 500 kg
    weighed 450, disputed, settled at 500 by the official, not paid yet; X5 na 500 kg: the trader did
    not come. Two price-gouging reports: one in Lạng Sơn, one in Hà Nội.
    """
    now, tol = at(9, 10), 0.10
    async with db.uow() as uow:
        people = {}
        for ext in ("701", "702", "703", "705"):
            user = await uow.users.by_external("telegram", ext)
            assert user is not None
            people[ext] = user
        so = await uow.users.ensure("telegram", "706", "706", "vi")
        await uow.users.register(
            so.id, name="Cán bộ 706", phone="0912000706", role="official", province_code=LANG_SON,
            ward_code=6463, now=now,
        )  # fmt: skip
        official = await uow.users.get(so.id)
        assert official is not None
        points = {p.name: p.id for p in await uow.points.in_province(LANG_SON)}

        async def lot(product: str, kg: int, point: str) -> int:
            row = await uow.lots.add(
                owner_id=seeded.rep,
                product_code=product,
                quantity_kg=kg,
                collection_point_id=points[point],
                ready_from=dt.date(2026, 9, 8),
                ready_to=dt.date(2026, 9, 12),
                asking_price=None,
                created_at=at(8, 8),
            )
            return row.id

        na, hong = (
            await lot("na", 4_000, "Điểm tập kết Chi Lăng"),
            await lot("hong_vanh_khuyen", 2_000, "Điểm Văn Lãng"),
        )

        async def match(lot_id: int, product: str, kg: int, price: int) -> int:
            order = await uow.orders.add(
                trader_id=seeded.trader,
                product_code=product,
                quantity_kg=kg,
                price=price,
                pickup_from=dt.date(2026, 9, 8),
                pickup_to=dt.date(2026, 9, 12),
                provinces=[LANG_SON],
                created_at=at(8, 9),
            )
            assert await uow.lots.take(lot_id, kg) and await uow.orders.take(order.id, kg)
            m = await uow.matches.add(lot_id=lot_id, order_id=order.id, kg=kg, price=price, expires_at=None)
            await uow.matches.transition(m.id, ("proposed",), status="accepted", created_at=at(8, 12))
            return m.id

        rep, trader = people["701"], await uow.users.get(seeded.trader)
        assert trader is not None
        ids = {
            "X1": await match(na, "na", 2_000, 28_000),
            "X2": await match(na, "na", 1_000, 31_000),
            "X3": await match(hong, "hong_vanh_khuyen", 1_000, 18_000),
            "X4": await match(hong, "hong_vanh_khuyen", 500, 19_000),
            "X5": await match(na, "na", 500, 27_000),
        }
        for key in ("X1", "X2"):
            done = await deals.record_pickup(
                uow, rep, ids[key], 2_000 if key == "X1" else 1_000, "1", tolerance=tol, now=now
            )
            assert done.done is deals.Done.OK
            assert await deals.record_payment(uow, trader, ids[key], deals.TRANSFER, now=now) is deals.Done.OK
            paid = await deals.confirm_receipt(uow, rep, ids[key], received=True, floor=None, now=now)
            assert paid.done is deals.Done.OK
        for key, weighed, claimed in (("X3", 1_000, 1_050), ("X4", 450, 500)):
            done = await deals.record_pickup(uow, trader, ids[key], weighed, "1", tolerance=tol, now=now)
            assert done.done is deals.Done.OK
            answer = await deals.answer_weight(uow, rep, ids[key], agree=False, claimed_kg=claimed, now=now)
            assert answer.disputed
        assert (
            await deals.resolve_dispute(uow, official, ids["X4"], 500, tolerance=tol, now=now)
            is deals.Done.OK
        )
        assert await deals.report_no_show(uow, rep, ids["X5"], now=now) is deals.Done.OK
        for reporter in (people["702"], people["705"]):
            await deals.report_gouging(
                uow, reporter, trader_id=seeded.trader, trader_name=None, match_id=None, product_code="na",
                price=15_000, note="=ép giá 15k", now=at(9, 11),
            )  # fmt: skip
    return ids


@pytest.fixture
async def after_the_slot(database: Database, seeded: Seeded) -> dict[str, int]:
    return await seed_after_the_slot(database, seeded)


async def test_summary_counts_what_was_weighed_paid_missed_disputed_and_reported(
    database: Database, after_the_slot: dict[str, int]
) -> None:
    s = await summary_of(database, SEPTEMBER, LANG_SON)
    t = s.total
    # M1 6 t (picked up before weighing existed: its agreed kg), X1 2 t, X2 1 t, X3 1 t, X4 500 kg
    assert t.picked_up_kg == 10_500
    assert (t.paid_kg, t.paid_vnd) == (3_000, 87_000_000)
    assert t.matched_kg == 8_000 + 4_500  # paid and disputed deals are still matched volume
    assert (s.no_shows, t.no_show_kg) == (1, 500)
    assert (s.disputes.opened, s.disputes.open, s.disputes.resolved) == (2, 1, 1)
    assert s.gouging_reports == 1  # the Hà Nội report is Hà Nội's
    [na] = s.realized  # hồng: weighed, nothing paid yet
    assert (na.product_code, na.province_code, na.kg, na.paid_vnd) == ("na", LANG_SON, 3_000, 87_000_000)
    assert na.avg_price == 29_000 and na.avg_reference == 30_000
    assert na.diff_pct == pytest.approx(-1 / 30, abs=1e-4)
    js = s.to_json()
    assert js["disputes"] == {"opened": 2, "open": 1, "resolved": 1} and js["gouging_reports"] == 1
    assert js["total"]["paid_vnd"] == 87_000_000 and js["no_shows"] == {"count": 1, "kg": 500}
    everywhere = await summary_of(database, SEPTEMBER, None)
    assert everywhere.gouging_reports == 2 and everywhere.total.paid_vnd == 87_000_000


async def test_official_reads_payments_no_shows_disputes_and_vietnamese_statuses_in_excel(
    bot: BotHarness, after_the_slot: dict[str, int]
) -> None:
    so = await official(bot)
    await so.sends_payload(button(bot, ReportFile(What.XLSX, 20260901, 20260930, LANG_SON)))
    [reply] = so.replies
    wb = load_workbook(io.BytesIO(reply.attachment.data))
    assert wb.sheetnames == ["Lô hàng", "Đơn mua", "Ghép đơn", "Lấy hàng", "Giá thực tế", "Báo ép giá"]

    def table(sheet: str) -> list[dict[str, object]]:
        rows = list(wb[sheet].iter_rows(values_only=True))
        return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]

    deals_by_id = {row["Mã ghép"]: row for row in table("Ghép đơn")}
    x1, x3, x4, x5 = (deals_by_id[after_the_slot[k]] for k in ("X1", "X3", "X4", "X5"))
    assert (x1["Trạng thái"], x1["Đã cân (kg)"], x1["Đã trả (₫)"]) == ("đã thanh toán", 2_000, 56_000_000)
    assert x1["Ngày thanh toán"] == dt.datetime(2026, 9, 9, 10, 0)
    assert (x3["Trạng thái"], x3["Tranh chấp cân"]) == ("đang tranh chấp cân", "đang mở")
    assert (x4["Trạng thái"], x4["Tranh chấp cân"], x4["Đã cân (kg)"]) == (
        "đã lấy hàng",
        "đã giải quyết",
        500,
    )
    assert x5["Trạng thái"] == "không đến"
    assert {r["Trạng thái"] for r in table("Ghép đơn")} >= {"chờ trả lời", "đã chốt"}
    assert {r["Vai trò"] for r in table("Lô hàng")} == {"Đại diện HTX", "Nông dân"}
    [realized] = table("Giá thực tế")
    assert (realized["Sản phẩm"], realized["Tỉnh"], realized["Đã cân, đã trả (kg)"]) == (
        "Na",
        "Tỉnh Lạng Sơn",
        3_000,
    )
    assert (realized["Giá thực tế (₫/kg)"], realized["Giá tham chiếu (₫/kg)"]) == (29_000, 30_000)
    assert realized["Chênh lệch so với tham chiếu (%)"] == -3.3
    [gouging] = table("Báo ép giá")
    assert (gouging["Thương lái"], gouging["Giá bị ép (₫/kg)"], gouging["Nội dung"]) == (
        "Người 703",
        15_000,
        "=ép giá 15k",
    )
    note = wb["Báo ép giá"].cell(row=2, column=8)
    assert note.data_type == "s" and note.quotePrefix  # what a farmer typed stays text
    cells = {c for ws in wb for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)}
    assert not cells & ENGLISH_CODES

    async with bot.db.uow() as uow:  # every CSV the same way
        data = await export.collect(
            uow,
            SEPTEMBER,
            TZ,
            LANG_SON,
            with_phones=False,
            places=bot.services.places,
            catalog=bot.services.catalog,
        )
    for name in export.TABLES:
        rows = list(csv.reader(io.StringIO(export.to_csv(data, name).decode("utf-8-sig")), delimiter=";"))
        assert rows[1:], name
        assert not {c for row in rows for c in row} & ENGLISH_CODES, name


async def test_a_zalo_official_gets_the_report_by_typed_numbers(
    bot: BotHarness, after_the_slot: dict[str, int]
) -> None:
    so = bot.person("902", channel="zalo")
    await bot.register(so, role_label="Nông dân", name="Cán Bộ Zalo", phone="0911000902")
    user = await bot.user(so)
    async with bot.db.uow() as uow:
        await uow.users.update(user.id, role="official")
    await so.says("/baocao")
    await so.says("1/9-30/9")
    await so.says("1")  # the official's own province, first on the list
    text = so.plain
    assert "📊 Báo cáo 01/09/2026 – 30/09/2026 – Tỉnh Lạng Sơn" in text
    assert "đã lấy hàng: 10.500 kg" in text
    assert "Đã thanh toán: 87.000.000 ₫ cho 3.000 kg · không đến lấy hàng: 1 lần (500 kg)" in text
    assert "Tranh chấp cân: 2 (1 đang mở, 1 đã giải quyết) · báo ép giá: 1" in text
    assert "Giá thực tế (đã cân, đã trả) so với giá tham chiếu:" in text
    assert "• Na – Tỉnh Lạng Sơn: 29.000 ₫/kg trên 3.000 kg, tham chiếu 30.000 ₫/kg (-3,3%)" in text
    await so.says("1")  # 📈 Biểu đồ: with the realized price drawn, as a signed link
    [reply] = so.replies
    assert reply.extras[FILE_NAME] == "baocao_20260901_20260930.png"
