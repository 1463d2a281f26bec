"""What people are told after the pickup slot: the weighing to confirm, a surplus to take, a
dispute to settle, a no-show, the money owed (with a VietQR code), the receipt, the households'
statements; and the buttons that answer each (typed actions, handled in ``bot.handlers.deals``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import formatting as fmt
from bot.domain_events import (
    DisputeResolved,
    GougingReported,
    MatchPaid,
    NoShowQuestion,
    NoShowRecorded,
    PaymentDue,
    PaymentOverdue,
    PaymentRecorded,
    PickupRecorded,
    ReceiptDenied,
    SurplusDecided,
    WeightDisputed,
)
from bot.engine.actions import Action, action
from bot.engine.screens import Option, Screen
from bot.events import Attachment
from bot.i18n import _, use_locale
from bot.presentation.labels import grade_label, product_name
from bot.presentation.notifications import renders
from bot.presentation.notify import notify
from bot.services import deals, vietqr
from storage import dto

if TYPE_CHECKING:
    from bot.container import Services
    from storage.uow import UnitOfWork


# --- the buttons ---------------------------------------------------------------------------------


@action("wt")
@dataclass(frozen=True, slots=True)
class ConfirmWeight(Action):
    """The seller: the weighed kg are right (or not: a dispute follows)."""

    match_id: int
    agree: bool


@action("sp")
@dataclass(frozen=True, slots=True)
class TakeSurplus(Action):
    """The trader: take the kg weighed beyond the agreed volume, or leave them to the lot."""

    match_id: int
    take: bool


@action("ds")
@dataclass(frozen=True, slots=True)
class SettleDispute(Action):
    """An official: the weight that stands."""

    match_id: int
    kg: int


@action("ns")
@dataclass(frozen=True, slots=True)
class TraderCame(Action):
    """The seller, after the slot: did the trader come?"""

    match_id: int
    came: bool


@action("pay")
@dataclass(frozen=True, slots=True)
class PayDeal(Action):
    """The trader: paid, in cash or by transfer."""

    match_id: int
    method: str


@action("rc")
@dataclass(frozen=True, slots=True)
class ConfirmReceipt(Action):
    """The seller: the money arrived (or not yet)."""

    match_id: int
    received: bool


@action("pk")
@dataclass(frozen=True, slots=True)
class RecordPickup(Action):
    """Open the pickup (weighing) flow for one deal."""

    match_id: int


def weight_options(match_id: int) -> tuple[Option, ...]:
    return (
        Option(_("✅ Đúng"), ConfirmWeight(match_id, True), ("dung", "dung roi", "ok", "dong y")),
        Option(_("❌ Không đúng"), ConfirmWeight(match_id, False), ("khong dung", "sai")),
    )


def pay_options(match_id: int) -> tuple[Option, ...]:
    return (
        Option(_("💵 Đã trả tiền mặt"), PayDeal(match_id, deals.CASH), ("tien mat", "da tra tien mat")),
        Option(_("🏦 Đã chuyển khoản"), PayDeal(match_id, deals.TRANSFER), ("chuyen khoan", "da chuyen")),
    )


def receipt_options(match_id: int) -> tuple[Option, ...]:
    return (
        Option(_("✅ Đã nhận tiền"), ConfirmReceipt(match_id, True), ("da nhan", "da nhan tien", "ok")),
        Option(_("Chưa nhận"), ConfirmReceipt(match_id, False), ("chua nhan", "chua")),
    )


# --- texts ------------------------------------------------------------------------------------------


def deal_line(services: Services, p: deals.Parties) -> str:
    """ "Đơn #12: Na, 2.000 kg × 25.000 ₫/kg"."""
    return _("Đơn #{id}: {product}, {kg} × {price}").format(
        id=p.match.id,
        product=product_name(services, p.lot.product_code),
        kg=fmt.kg(p.match.kg),
        price=fmt.price_per_kg(p.match.price),
    )


def amount_line(weighed_kg: int, price: int, amount: int) -> str:
    return _("{kg} × {price} = {amount}").format(
        kg=fmt.kg(weighed_kg), price=fmt.price_per_kg(price), amount=fmt.money(amount)
    )


async def _officials(uow: UnitOfWork, province_code: int | None) -> list[dto.User]:
    """The officials of a province, or the admins when it has none."""
    people = await uow.users.with_role(("official",), province_code) if province_code else []
    return people or await uow.users.with_role(("admin",))


async def _province(uow: UnitOfWork, lot: dto.Lot) -> int | None:
    point = await uow.points.get(lot.collection_point_id) if lot.collection_point_id else None
    return point.province_code if point else None


async def _tell(uow: UnitOfWork, services: Services, user: dto.User, key: str, make: object) -> None:
    """Queue ``make()`` (a Screen built in the person's language) for ``user`` once (``key``)."""
    with use_locale(user.locale):
        screen = make() if callable(make) else make
    assert isinstance(screen, Screen)
    await notify(uow, services, user, screen, dedupe_key=key)


# --- renderers ---------------------------------------------------------------------------------------


@renders(PickupRecorded)
async def on_pickup(uow: UnitOfWork, services: Services, ev: PickupRecorded) -> None:
    p = await deals.parties(uow, ev.match_id)
    pickup = await uow.deals.pickup(ev.match_id)
    if p is None or pickup is None:
        return

    def to_seller() -> Screen:
        lines = [
            _("⚖️ {name} đã cân hàng {deal}.").format(name=p.trader.name, deal=deal_line(services, p)),
            _("Khối lượng cân: {weighed} (thỏa thuận {kg}), {grade}.").format(
                weighed=fmt.kg(ev.weighed_kg), kg=fmt.kg(p.match.kg), grade=grade_label(pickup.grade_checked)
            ),
            _("Khối lượng này có đúng không?"),
        ]
        return Screen("\n".join(lines), weight_options(ev.match_id), columns=2)

    if not ev.by_seller:
        await _tell(uow, services, p.seller, f"pickup:{ev.match_id}:seller", to_seller)
    else:
        await _tell(
            uow,
            services,
            p.trader,
            f"pickup:{ev.match_id}:trader",
            lambda: Screen(
                _("⚖️ {name} đã ghi khối lượng cân {deal}: {weighed}.").format(
                    name=p.seller.name, deal=deal_line(services, p), weighed=fmt.kg(ev.weighed_kg)
                )
            ),
        )
    if ev.surplus_kg:
        await _tell(
            uow,
            services,
            p.trader,
            f"surplus:{ev.match_id}",
            lambda: Screen(
                _(
                    "Cân dư {surplus} so với thỏa thuận (đơn #{id}). Bạn lấy thêm với giá {price} không?"
                ).format(
                    surplus=fmt.kg(ev.surplus_kg), id=ev.match_id, price=fmt.price_per_kg(p.match.price)
                ),
                (
                    Option(_("Lấy thêm"), TakeSurplus(ev.match_id, True), ("lay them", "lay", "co")),
                    Option(_("Không lấy"), TakeSurplus(ev.match_id, False), ("khong lay", "khong")),
                ),
                columns=2,
            ),
        )


@renders(SurplusDecided)
async def on_surplus(uow: UnitOfWork, services: Services, ev: SurplusDecided) -> None:
    p = await deals.parties(uow, ev.match_id)
    if p is None:
        return

    def to_seller() -> Screen:
        text = (
            _("Thương lái lấy thêm {kg} của đơn #{id}.")
            if ev.taken
            else _("Thương lái không lấy thêm {kg} của đơn #{id}; phần này được đưa lại để bán.")
        )
        return Screen(text.format(kg=fmt.kg(ev.kg), id=ev.match_id))

    await _tell(uow, services, p.seller, f"surplus:{ev.match_id}:seller", to_seller)


@renders(WeightDisputed)
async def on_dispute(uow: UnitOfWork, services: Services, ev: WeightDisputed) -> None:
    p = await deals.parties(uow, ev.match_id)
    pickup = await uow.deals.pickup(ev.match_id)
    if p is None or pickup is None:
        return
    for official in await _officials(uow, await _province(uow, p.lot)):

        def to_official() -> Screen:
            return Screen(
                _(
                    "⚠️ Tranh chấp khối lượng {deal}: cân được {weighed}, người bán ({seller}) báo {claimed}. "
                    "Thương lái: {trader}. Chọn khối lượng được công nhận:"
                ).format(
                    deal=deal_line(services, p),
                    weighed=fmt.kg(pickup.weighed_kg),
                    seller=p.seller.name,
                    claimed=fmt.kg(ev.claimed_kg),
                    trader=p.trader.name,
                ),
                (
                    Option(
                        _("Theo cân: {kg}").format(kg=fmt.kg(pickup.weighed_kg)),
                        SettleDispute(ev.match_id, pickup.weighed_kg),
                        ("theo can",),
                    ),
                    Option(
                        _("Theo người bán: {kg}").format(kg=fmt.kg(ev.claimed_kg)),
                        SettleDispute(ev.match_id, ev.claimed_kg),
                        ("theo nguoi ban",),
                    ),
                ),
            )

        await _tell(uow, services, official, f"dispute:{ev.match_id}:{official.id}", to_official)
    await _tell(
        uow,
        services,
        p.trader,
        f"dispute:{ev.match_id}:trader",
        lambda: Screen(
            _(
                "Người bán báo khối lượng đơn #{id} là {claimed}, khác với cân ({weighed}). Cán bộ sẽ giải quyết."
            ).format(id=ev.match_id, claimed=fmt.kg(ev.claimed_kg), weighed=fmt.kg(pickup.weighed_kg))
        ),
    )


@renders(DisputeResolved)
async def on_resolved(uow: UnitOfWork, services: Services, ev: DisputeResolved) -> None:
    p = await deals.parties(uow, ev.match_id)
    if p is None:
        return
    for person in (p.seller, p.trader):
        await _tell(
            uow,
            services,
            person,
            f"resolved:{ev.match_id}:{person.id}",
            lambda: Screen(
                _("Cán bộ đã giải quyết tranh chấp đơn #{id}: khối lượng được công nhận là {kg}.").format(
                    id=ev.match_id, kg=fmt.kg(ev.weighed_kg)
                )
            ),
        )


@renders(NoShowQuestion)
async def on_no_show_question(uow: UnitOfWork, services: Services, ev: NoShowQuestion) -> None:
    p = await deals.parties(uow, ev.match_id)
    if p is None or p.match.status not in deals.PICKABLE:
        return
    await _tell(
        uow,
        services,
        p.seller,
        f"noshowq:{ev.match_id}",
        lambda: Screen(
            _("Khung giờ lấy hàng {deal} đã qua. Thương lái {name} có đến lấy hàng không?").format(
                deal=deal_line(services, p), name=p.trader.name
            ),
            (
                Option(_("Đã đến lấy"), TraderCame(ev.match_id, True), ("da den", "co den", "da lay")),
                Option(_("Không đến"), TraderCame(ev.match_id, False), ("khong den", "chua den")),
            ),
            columns=2,
        ),
    )


@renders(NoShowRecorded)
async def on_no_show(uow: UnitOfWork, services: Services, ev: NoShowRecorded) -> None:
    p = await deals.parties(uow, ev.match_id)
    if p is None:
        return
    await _tell(
        uow,
        services,
        p.trader,
        f"noshow:{ev.match_id}:trader",
        lambda: Screen(
            _(
                "Bạn đã không đến lấy hàng đơn #{id}. Hàng được đưa lại để bán. Đây là lần thứ {n}; "
                "người bán và cán bộ thấy số lần này."
            ).format(id=ev.match_id, n=ev.count)
        ),
    )
    await _tell(
        uow,
        services,
        p.seller,
        f"noshow:{ev.match_id}:seller",
        lambda: Screen(
            _(
                "Đã ghi nhận thương lái {name} không đến (đơn #{id}). {kg} của bạn được đưa lại để ghép đơn mới."
            ).format(name=p.trader.name, id=ev.match_id, kg=fmt.kg(p.match.kg))
        ),
    )
    if ev.count >= 2:  # a pattern, not an accident: the officials see it
        for official in await _officials(uow, await _province(uow, p.lot)):
            await _tell(
                uow,
                services,
                official,
                f"noshow:{ev.match_id}:official:{official.id}",
                lambda: Screen(
                    _(
                        "Thương lái {name} ({phone}) đã không đến lấy hàng {n} lần (lần mới nhất: đơn #{id})."
                    ).format(name=p.trader.name, phone=p.trader.phone or "—", n=ev.count, id=ev.match_id)
                ),
            )


@renders(PaymentDue)
async def on_payment_due(uow: UnitOfWork, services: Services, ev: PaymentDue) -> None:
    p = await deals.parties(uow, ev.match_id)
    if p is None:
        return
    weighed = p.match.weighed_kg or 0
    bank = vietqr.bank_by_bin(p.seller.bank_bin) if p.seller.bank_bin and p.seller.bank_account else None
    caps = services.capabilities(p.trader.channel)

    def to_trader() -> Screen:
        lines = [
            _("💰 Tiền hàng {deal}:").format(deal=deal_line(services, p)),
            amount_line(weighed, p.match.price, ev.amount),
            _("Trả cho {name} – {phone}.").format(name=p.seller.name, phone=p.seller.phone or "—"),
        ]
        attachment = None
        if bank is not None and p.seller.bank_account:
            lines.append(
                _("Chuyển khoản: {bank}, số tài khoản {account}, nội dung «NONG SAN {id}».").format(
                    bank=bank.short_name, account=p.seller.bank_account, id=ev.match_id
                )
            )
            if caps.files != "none":  # bytes, or a signed link where the messenger fetches files
                code = vietqr.payload(bank.bin, p.seller.bank_account, ev.amount, f"NONG SAN {ev.match_id}")
                attachment = Attachment(f"vietqr-{ev.match_id}.png", vietqr.png(code), is_photo=True)
                lines.append(_("Quét mã VietQR bằng ứng dụng ngân hàng để chuyển đúng số tiền."))
        lines.append(_("Khi đã trả, chọn cách trả bên dưới."))
        return Screen("\n".join(lines), pay_options(ev.match_id), columns=2, attachment=attachment)

    await _tell(uow, services, p.trader, f"paydue:{ev.match_id}", to_trader)
    await _tell(
        uow,
        services,
        p.seller,
        f"paydue:{ev.match_id}:seller",
        lambda: Screen(
            _("Khối lượng đơn #{id} đã chốt: {line}. Thương lái {name} sẽ trả tiền.").format(
                id=ev.match_id, line=amount_line(weighed, p.match.price, ev.amount), name=p.trader.name
            )
        ),
    )


@renders(PaymentRecorded)
async def on_payment_recorded(uow: UnitOfWork, services: Services, ev: PaymentRecorded) -> None:
    p = await deals.parties(uow, ev.match_id)
    if p is None:
        return
    method = _("tiền mặt") if ev.method == deals.CASH else _("chuyển khoản")
    await _tell(
        uow,
        services,
        p.seller,
        f"paid:{ev.match_id}:ask",
        lambda: Screen(
            _("{name} báo đã trả {amount} ({method}) cho đơn #{id}. Bạn đã nhận được chưa?").format(
                name=p.trader.name, amount=fmt.money(ev.amount), method=method, id=ev.match_id
            ),
            receipt_options(ev.match_id),
            columns=2,
        ),
    )


@renders(ReceiptDenied)
async def on_receipt_denied(uow: UnitOfWork, services: Services, ev: ReceiptDenied) -> None:
    p = await deals.parties(uow, ev.match_id)
    if p is None:
        return
    await _tell(
        uow,
        services,
        p.trader,
        f"notreceived:{ev.match_id}:{services.clock.today().isoformat()}",
        lambda: Screen(
            _("Người bán chưa nhận được tiền đơn #{id}. Vui lòng kiểm tra lại với {name} – {phone}.").format(
                id=ev.match_id, name=p.seller.name, phone=p.seller.phone or "—"
            )
        ),
    )


@renders(MatchPaid)
async def on_paid(uow: UnitOfWork, services: Services, ev: MatchPaid) -> None:
    p = await deals.parties(uow, ev.match_id)
    if p is None:
        return
    await _tell(
        uow,
        services,
        p.trader,
        f"done:{ev.match_id}:trader",
        lambda: Screen(
            _("✅ Đơn #{id} đã thanh toán xong: {amount}. Cảm ơn bạn!").format(
                id=ev.match_id, amount=fmt.money(ev.amount)
            )
        ),
    )
    payouts = await uow.deals.payouts(ev.match_id)
    seller_lines = [
        _("✅ Đã nhận {amount} cho đơn #{id}.").format(amount=fmt.money(ev.amount), id=ev.match_id)
    ]
    attachment = None
    if payouts:
        from bot.presentation.statements import payouts_xlsx, statement_lines

        seller_lines.append(
            _("Chia cho các hộ (phí HTX {fee}%):").format(fee=fmt.number(p.seller.coop_fee_pct))
        )
        seller_lines += statement_lines(payouts)
        attachment = Attachment(f"chia-tien-don-{ev.match_id}.xlsx", payouts_xlsx(p, payouts))
        for line in payouts:
            household = await uow.users.get(line.user_id) if line.user_id else None
            if household is None or household.id == p.seller.id:
                continue
            await _tell(
                uow,
                services,
                household,
                f"statement:{ev.match_id}:{line.id}",
                lambda line=line: Screen(
                    _(
                        "Phiếu chia tiền đơn #{id} ({coop}): {name}, {kg} – thành tiền {gross}, phí HTX {fee}, "
                        "thực nhận {net}."
                    ).format(
                        id=ev.match_id,
                        coop=p.seller.name,
                        name=line.household,
                        kg=fmt.kg(line.kg),
                        gross=fmt.money(line.gross_vnd),
                        fee=fmt.money(line.fee_vnd),
                        net=fmt.money(line.net_vnd),
                    )
                ),
            )
    with use_locale(p.seller.locale):
        seller_screen = Screen("\n".join(str(x) for x in seller_lines), attachment=attachment)
    await notify(uow, services, p.seller, seller_screen, dedupe_key=f"done:{ev.match_id}:seller")
    if ev.below_floor:
        for official in await _officials(uow, await _province(uow, p.lot)):
            await _tell(
                uow,
                services,
                official,
                f"floorpaid:{ev.match_id}:{official.id}",
                lambda: Screen(
                    _(
                        "Cảnh báo ép giá: đơn #{id} ({product}, {kg}) đã thanh toán với giá {price}, "
                        "dưới giá sàn {floor}. Thương lái: {trader} – {phone}. Người bán: {seller}."
                    ).format(
                        id=ev.match_id,
                        product=product_name(services, p.lot.product_code),
                        kg=fmt.kg(p.match.weighed_kg or p.match.kg),
                        price=fmt.price_per_kg(p.match.price),
                        floor=fmt.price_per_kg(ev.floor) if ev.floor is not None else "—",
                        trader=p.trader.name,
                        phone=p.trader.phone or "—",
                        seller=p.seller.name,
                    )
                ),
            )


@renders(PaymentOverdue)
async def on_overdue(uow: UnitOfWork, services: Services, ev: PaymentOverdue) -> None:
    p = await deals.parties(uow, ev.match_id)
    payment = await uow.deals.payment(ev.match_id)
    if p is None or payment is None:
        return
    await _tell(
        uow,
        services,
        p.trader,
        f"overdue:{ev.match_id}:{ev.reminder}",
        lambda: Screen(
            _("⏰ Nhắc thanh toán đơn #{id}: {amount} cho {name} – {phone}, chưa trả từ {day}.").format(
                id=ev.match_id,
                amount=fmt.money(payment.amount_vnd),
                name=p.seller.name,
                phone=p.seller.phone or "—",
                day=fmt.date(payment.due_since.astimezone(services.settings.tz).date()),
            ),
            pay_options(ev.match_id),
            columns=2,
        ),
    )
    if ev.escalate:
        for official in await _officials(uow, await _province(uow, p.lot)):
            await _tell(
                uow,
                services,
                official,
                f"overdue:{ev.match_id}:official:{official.id}",
                lambda: Screen(
                    _(
                        "Thương lái {trader} ({phone}) chưa trả {amount} cho {seller} (đơn #{id}) từ {day}."
                    ).format(
                        trader=p.trader.name,
                        phone=p.trader.phone or "—",
                        amount=fmt.money(payment.amount_vnd),
                        seller=p.seller.name,
                        id=ev.match_id,
                        day=fmt.date(payment.due_since.astimezone(services.settings.tz).date()),
                    )
                ),
            )


@renders(GougingReported)
async def on_gouging(uow: UnitOfWork, services: Services, ev: GougingReported) -> None:
    from bot.presentation.statements import gouging_report_text

    report = await uow.deals.report(ev.report_id)
    if report is None:
        return
    for official in await _officials(uow, report.province_code):
        with use_locale(official.locale):
            screen = Screen(await gouging_report_text(uow, services, report))
        await notify(uow, services, official, screen, dedupe_key=f"gouging:{ev.report_id}:{official.id}")


# --- what the flows say back ------------------------------------------------------------------------


def refusal(done: deals.Done) -> str:
    """Why an action on a deal did not happen."""
    texts = {
        deals.Done.NOT_FOUND: _("Không tìm thấy đơn này."),
        deals.Done.NOT_YOURS: _("Đơn này không phải của bạn."),
        deals.Done.WRONG_STATE: _("Đơn này đã được xử lý hoặc chưa tới bước này."),
        deals.Done.TOO_MUCH: _("Khối lượng cân vượt quá mức cho phép so với thỏa thuận."),
        deals.Done.TOO_EARLY: _("Chưa tới giờ lấy hàng, chưa thể báo thương lái không đến."),
    }
    return texts.get(done, _("Không thực hiện được."))


def pickup_saved(outcome: deals.PickupOutcome, weighed_kg: int) -> str:
    assert outcome.parties is not None
    lines = [
        _("Đã ghi khối lượng cân đơn #{id}: {kg}.").format(id=outcome.parties.match.id, kg=fmt.kg(weighed_kg))
    ]
    if outcome.shortfall_kg:
        lines.append(
            _("Thiếu {kg} so với thỏa thuận: phần này được tìm từ người bán khác.").format(
                kg=fmt.kg(outcome.shortfall_kg)
            )
        )
    if outcome.surplus_kg:
        lines.append(_("Dư {kg} so với thỏa thuận.").format(kg=fmt.kg(outcome.surplus_kg)))
    if not outcome.confirmed:
        lines.append(_("Đang chờ người bán xác nhận khối lượng."))
    return "\n".join(lines)


def deal_label(services: Services, p: deals.Parties) -> str:
    """A button naming one deal: "#12 Na 2.000 kg – HTX Na Chi Lăng"."""
    return _("#{id} {product} {kg} – {other}").format(
        id=p.match.id,
        product=product_name(services, p.lot.product_code),
        kg=fmt.kg(p.match.kg),
        other=p.seller.name,
    )
