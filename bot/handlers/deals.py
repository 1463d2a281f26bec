"""After the slot: the pickup and its weighing (/layhang), the seller's answer to the weight
(or a dispute), a surplus, a no-show, the payment (/thanhtoan) and its receipt."""

from __future__ import annotations

import enum
import re

from bot import formatting as fmt
from bot.engine.context import Ctx
from bot.engine.flow import Flow
from bot.engine.router import Command, Router
from bot.engine.widgets import Choice, Select, Summary, TextInput
from bot.handlers.roles import COOP_REP, FARMER, STAFF, TRADER
from bot.i18n import _, lazy_gettext
from bot.parsing import answers
from bot.presentation import deals as show
from bot.presentation.labels import grade_label
from bot.services import deals
from storage.types import bounded_int

ORDER = 57
TRADERS = frozenset({TRADER})
SELLERS = frozenset({FARMER, COOP_REP})
PARTIES = TRADERS | SELLERS
GRADES = ("1", "2", "xo")


# --- /layhang: recording the pickup -------------------------------------------------------------------


class Step(enum.StrEnum):
    DEAL = "deal"
    WEIGHT = "weight"
    GRADE = "grade"
    CONFIRM = "confirm"


pickup = Flow("pickup", Step, roles=PARTIES | STAFF, action_name="layhang")


async def _deals(ctx: Ctx) -> list[Choice]:
    return [
        Choice(show.deal_label(ctx.services, p), str(p.match.id))
        for p in await deals.pickable_for(ctx.uow, ctx.user)
    ]


def _read_deal(ctx: Ctx, text: str) -> str | None:
    m = re.search(r"\d+", text)
    return m.group() if m else None


async def _check_deal(ctx: Ctx, value: object) -> int:
    match_id = bounded_int(str(value))
    mine = {p.match.id for p in await deals.pickable_for(ctx.uow, ctx.user)}
    if match_id is None or match_id not in mine:
        raise ValueError(_("Không có đơn #{id} đang chờ lấy hàng của bạn.").format(id=str(value)[:12]))
    return match_id


async def _agreed(ctx: Ctx) -> deals.Parties:
    p = await deals.parties(ctx.uow, int(ctx.answers["deal"]))
    assert p is not None
    return p


async def _weight_question(ctx: Ctx) -> str:
    p = await _agreed(ctx)
    question = _("Khối lượng cân được bao nhiêu? (thỏa thuận {kg}; ví dụ «1.950 kg», «1 tấn 9»)").format(
        kg=fmt.kg(p.match.kg)
    )
    return f"{show.deal_label(ctx.services, p)}\n{question}"


async def _check_weight(ctx: Ctx, value: object) -> int:
    kg = int(value)  # type: ignore[call-overload]
    p = await _agreed(ctx)
    most = deals.max_weighed(p.match.kg, ctx.settings.weighing_tolerance)
    if not 0 < kg <= most:
        raise ValueError(
            _("Khối lượng cân phải từ 1 kg đến {most} (thỏa thuận {kg} cộng dung sai {tol}%).").format(
                most=fmt.kg(most),
                kg=fmt.kg(p.match.kg),
                tol=fmt.number(ctx.settings.weighing_tolerance * 100),
            )
        )
    return kg


async def _summary_rows(ctx: Ctx) -> list[tuple[str, str]]:
    p = await _agreed(ctx)
    return [
        (_("Đơn"), show.deal_label(ctx.services, p)),
        (_("Khối lượng cân"), fmt.kg(int(ctx.answers["weight"]))),
        (_("Loại khi kiểm"), grade_label(str(ctx.answers["grade"]))),
    ]


pickup.step(
    Step.DEAL,
    Select(
        lazy_gettext("Ghi khối lượng cân cho đơn nào?"), _deals, read=_read_deal, check=_check_deal, columns=1
    ),
    key="deal",
)
pickup.step(
    Step.WEIGHT,
    TextInput(
        _weight_question,
        lambda _ctx, text: answers.read_quantity_kg(text),
        lazy_gettext("Tôi chưa hiểu khối lượng. Ví dụ: 1.950 kg, 2 tấn, 19 tạ."),
        check=_check_weight,
    ),
    key="weight",
    edit_label=lazy_gettext("Khối lượng"),
)
pickup.step(
    Step.GRADE,
    Select(
        lazy_gettext("Hàng khi kiểm là loại mấy?"),
        lambda _ctx: [Choice(grade_label(g), g) for g in GRADES],
        read=lambda _ctx, text: answers.read_grade(text),
        columns=3,
    ),
    key="grade",
    edit_label=lazy_gettext("Loại"),
)
pickup.step(
    Step.CONFIRM,
    Summary(lazy_gettext("Ghi nhận lấy hàng:"), _summary_rows, question=lazy_gettext("Ghi nhận?")),
    key="confirmed",
)


@pickup.committer
async def save_pickup(ctx: Ctx) -> None:
    a = ctx.answers
    outcome = await deals.record_pickup(
        ctx.uow,
        ctx.user,
        int(a["deal"]),
        int(a["weight"]),
        str(a["grade"]),
        tolerance=ctx.settings.weighing_tolerance,
        now=ctx.now,
    )
    ctx.leave()
    if outcome.done is not deals.Done.OK:
        ctx.say(show.refusal(outcome.done))
        return
    ctx.say(show.pickup_saved(outcome, int(a["weight"])))
    ctx.on_commit(_wake(ctx))


async def cmd_pickup(ctx: Ctx, args: str) -> None:
    """/layhang [mã đơn]; with a single deal waiting, that one without asking."""
    prefill = {}
    waiting = await deals.pickable_for(ctx.uow, ctx.user)
    if not waiting:
        ctx.say(_("Bạn không có đơn nào đang chờ lấy hàng."))
        return
    if (match_id := bounded_int(args.strip().lstrip("#"))) is not None:
        prefill = {"deal": str(match_id)}
    elif len(waiting) == 1:
        prefill = {"deal": str(waiting[0].match.id)}
    await pickup.start(ctx, prefill)
    if prefill and ctx.flow == pickup.name and ctx.step == Step.DEAL:
        return  # the number given was not one of theirs: the list was shown


async def on_record_pickup(ctx: Ctx, act: show.RecordPickup) -> None:
    await cmd_pickup(ctx, str(act.match_id))


# --- the seller's answer to the weight, and a dispute -------------------------------------------------


class DisputeStep(enum.StrEnum):
    CLAIM = "claim"


dispute = Flow("dispute", DisputeStep, roles=SELLERS, action_name="dispute")
dispute.step(
    DisputeStep.CLAIM,
    TextInput(
        lazy_gettext("Theo bạn, hàng cân được bao nhiêu kg?"),
        lambda _ctx, text: answers.read_quantity_kg(text),
        lazy_gettext("Tôi chưa hiểu khối lượng. Ví dụ: 2.000 kg, 2 tấn."),
    ),
    key="claimed",
)


@dispute.committer
async def save_dispute(ctx: Ctx) -> None:
    outcome = await deals.answer_weight(
        ctx.uow,
        ctx.user,
        int(ctx.answers["deal"]),
        agree=False,
        claimed_kg=int(ctx.answers["claimed"]),
        now=ctx.now,
    )
    ctx.leave()
    if outcome.done is not deals.Done.OK:
        ctx.say(show.refusal(outcome.done))
        return
    ctx.say(
        _("Đã báo cán bộ: khối lượng đơn #{id} đang tranh chấp. Bạn sẽ được báo kết quả.").format(
            id=ctx.answers.get("deal") or ""
        )
    )
    ctx.on_commit(_wake(ctx))


async def on_weight(ctx: Ctx, act: show.ConfirmWeight) -> None:
    if not act.agree:
        await dispute.start(ctx, {"deal": act.match_id})
        return
    outcome = await deals.answer_weight(
        ctx.uow, ctx.user, act.match_id, agree=True, claimed_kg=None, now=ctx.now
    )
    if outcome.done is not deals.Done.OK:
        ctx.say(show.refusal(outcome.done))
        return
    ctx.say(_("Cảm ơn, đã xác nhận khối lượng đơn #{id}.").format(id=act.match_id))
    ctx.on_commit(_wake(ctx))


async def on_settle(ctx: Ctx, act: show.SettleDispute) -> None:
    done = await deals.resolve_dispute(
        ctx.uow, ctx.user, act.match_id, act.kg, tolerance=ctx.settings.weighing_tolerance, now=ctx.now
    )
    if done is not deals.Done.OK:
        ctx.say(show.refusal(done))
        return
    ctx.say(
        _("Đã công nhận khối lượng {kg} cho đơn #{id}. Hai bên đã được báo.").format(
            kg=fmt.kg(act.kg), id=act.match_id
        )
    )
    ctx.on_commit(_wake(ctx))


async def on_surplus(ctx: Ctx, act: show.TakeSurplus) -> None:
    done = await deals.decide_surplus(ctx.uow, ctx.user, act.match_id, act.take, now=ctx.now)
    if done is not deals.Done.OK:
        ctx.say(show.refusal(done))
        return
    ctx.say(_("Đã ghi nhận.") if act.take else _("Đã ghi nhận: phần dư được đưa lại để bán."))
    ctx.on_commit(_wake(ctx))


async def on_came(ctx: Ctx, act: show.TraderCame) -> None:
    if act.came:
        ctx.say(
            _(
                "Cảm ơn. Khi thương lái ghi khối lượng cân, bạn sẽ được hỏi xác nhận (hoặc tự ghi bằng /layhang)."
            )
        )
        return
    done = await deals.report_no_show(ctx.uow, ctx.user, act.match_id, now=ctx.now)
    if done is not deals.Done.OK:
        ctx.say(show.refusal(done))
        return
    ctx.say(
        _("Đã ghi nhận thương lái không đến (đơn #{id}). Hàng được đưa lại để ghép đơn mới.").format(
            id=act.match_id
        )
    )
    ctx.on_commit(_wake(ctx))


_NO_SHOW = re.compile(r"^(?:khong den|chua den|ko den|k den)\s*(?:don\s*)?#?\s*(\d{1,9})$")


async def on_no_show_sentence(ctx: Ctx) -> bool:
    """ "không đến 12": the seller reports a no-show by the deal's number."""
    from bot.textnorm import fold

    m = _NO_SHOW.match(fold(ctx.text))
    if m is None or ctx.user.role not in SELLERS:
        return False
    await on_came(ctx, show.TraderCame(int(m.group(1)), False))
    return True


# --- the payment --------------------------------------------------------------------------------------


async def cmd_pay(ctx: Ctx, _args: str) -> None:
    """/thanhtoan: the trader's picked-up deals still to pay, each with its pay buttons."""
    due = await deals.to_pay_for(ctx.uow, ctx.user)
    if not due:
        ctx.say(_("Bạn không có đơn nào chờ thanh toán."))
        return
    for p, payment in due:
        line = show.amount_line(p.match.weighed_kg or 0, p.match.price, payment.amount_vnd)
        text = _("Đơn #{id} – {seller} ({phone}): {line}").format(
            id=p.match.id, seller=p.seller.name, phone=p.seller.phone or "—", line=line
        )
        if payment.recorded_at is not None:
            ctx.say(text + "\n" + _("Đã báo trả, đang chờ người bán xác nhận."))
        else:
            ctx.say(text, show.pay_options(p.match.id), columns=2)


async def on_pay(ctx: Ctx, act: show.PayDeal) -> None:
    done = await deals.record_payment(ctx.uow, ctx.user, act.match_id, act.method, now=ctx.now)
    if done is not deals.Done.OK:
        ctx.say(show.refusal(done))
        return
    ctx.say(
        _("Đã ghi nhận thanh toán đơn #{id}. Đang chờ người bán xác nhận đã nhận tiền.").format(
            id=act.match_id
        )
    )
    ctx.on_commit(_wake(ctx))


async def on_receipt(ctx: Ctx, act: show.ConfirmReceipt) -> None:
    floor = await deals.price_floor(ctx.uow, act.match_id, ctx.today, ctx.settings.gouging_margin)
    outcome = await deals.confirm_receipt(
        ctx.uow, ctx.user, act.match_id, received=act.received, floor=floor, now=ctx.now
    )
    if outcome.done is not deals.Done.OK:
        ctx.say(show.refusal(outcome.done))
        return
    if act.received:
        ctx.say(_("✅ Đơn #{id} đã hoàn tất. Cảm ơn bạn!").format(id=act.match_id))
    else:
        ctx.say(_("Đã báo thương lái là bạn chưa nhận được tiền."))
    ctx.on_commit(_wake(ctx))


def _wake(ctx: Ctx):  # type: ignore[no-untyped-def]
    async def hook() -> None:
        ctx.services.wake_events()

    return hook


def register(router: Router) -> None:
    router.flow(pickup)
    router.flow(dispute)
    router.command(
        Command(
            "layhang",
            cmd_pickup,
            lazy_gettext("Ghi cân lấy hàng"),
            roles=PARTIES | STAFF,
            description=lazy_gettext("ghi khối lượng cân khi lấy hàng"),
        )
    )
    router.command(
        Command(
            "thanhtoan",
            cmd_pay,
            lazy_gettext("Thanh toán"),
            roles=TRADERS,
            description=lazy_gettext("các đơn chờ thanh toán"),
        )
    )
    router.on(show.RecordPickup, on_record_pickup, roles=PARTIES | STAFF)
    router.on(show.ConfirmWeight, on_weight, roles=SELLERS)
    router.on(show.SettleDispute, on_settle, roles=STAFF, audit_as="dispute_resolve")
    router.on(show.TakeSurplus, on_surplus, roles=TRADERS)
    router.on(show.TraderCame, on_came, roles=SELLERS)
    router.on(show.PayDeal, on_pay, roles=TRADERS)
    router.on(show.ConfirmReceipt, on_receipt, roles=SELLERS)
    router.text(on_no_show_sentence, in_flows=True)
