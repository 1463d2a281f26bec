"""Changes of accepted deals as people see them: the question to the other side (✅ Đồng ý /
❌ Không), the answer told to the one who asked, the lapse of an unanswered one, and /dexuat,
the list of everything waiting for a person's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import formatting as fmt
from bot.domain_events import AmendmentDecided, AmendmentExpired, AmendmentProposed
from bot.engine.actions import Action, action
from bot.engine.screens import Option, Screen
from bot.i18n import _, use_locale
from bot.presentation.labels import product_name
from bot.presentation.market import DecideMatch
from bot.presentation.notifications import renders
from bot.presentation.notify import notify
from bot.services import amendments as service
from bot.services.amendments import PRICE, Answered, Outcome, Pending
from bot.services.matches import Deal, Decision

if TYPE_CHECKING:
    from bot.container import Services
    from storage.uow import UnitOfWork

MAX_LISTED = 8  # /dexuat: the oldest first, a few at a time


@action("amd")
@dataclass(frozen=True, slots=True)
class DecideAmendment(Action):
    """The asked side's answer to a change of an accepted deal."""

    amendment_id: int
    accept: bool


def amendment_options(amendment_id: int, prefix: str = "") -> tuple[Option, ...]:
    """✅ Đồng ý / ❌ Không, typed as labels or as the words people use."""
    return (
        Option(
            prefix + _("✅ Đồng ý"),
            DecideAmendment(amendment_id, True),
            ("dong y", "ok", "chap nhan", "nhan", "co"),
        ),
        Option(
            prefix + _("❌ Không"),
            DecideAmendment(amendment_id, False),
            ("khong", "khong dong y", "tu choi", "ko"),
        ),
    )


def _ask_text(services: Services, pending: Pending) -> str:
    a, deal = pending.amendment, pending.deal
    if a.kind == PRICE:
        headline = _("{name} đề nghị đổi giá đơn #{id} từ {old} thành {new}. Đồng ý?").format(
            name=pending.proposer.name,
            id=deal.match.id,
            old=fmt.price_per_kg(a.old_value),
            new=fmt.price_per_kg(a.new_value),
        )
        detail = _("{product}: {kg}, tổng từ {old} thành {new}.").format(
            product=product_name(services, deal.lot.product_code),
            kg=fmt.kg(deal.match.kg),
            old=fmt.money(deal.match.kg * a.old_value),
            new=fmt.money(deal.match.kg * a.new_value),
        )
    else:
        headline = _("{name} đề nghị đổi khối lượng đơn #{id} từ {old} thành {new}. Đồng ý?").format(
            name=pending.proposer.name, id=deal.match.id, old=fmt.kg(a.old_value), new=fmt.kg(a.new_value)
        )
        detail = _("{product}, giá {price}. Nếu đồng ý, {diff} còn lại được ghép với bên khác.").format(
            product=product_name(services, deal.lot.product_code),
            price=fmt.price_per_kg(deal.match.price),
            diff=fmt.kg(a.old_value - a.new_value),
        )
    until = a.expires_at.astimezone(services.settings.tz)
    answer_by = _("Không trả lời trước {time} ngày {day} thì đơn giữ nguyên.").format(
        time=f"{until:%H:%M}", day=fmt.date(until.date())
    )
    return "\n".join((headline, detail, answer_by))


@renders(AmendmentProposed)
async def on_proposed(uow: UnitOfWork, services: Services, ev: AmendmentProposed) -> None:
    pending = await service.load(uow, ev.amendment_id)
    if pending is None or pending.amendment.status != "pending":
        return
    person = pending.deal.rep if pending.amendment.side == "rep" else pending.deal.trader
    with use_locale(person.locale):
        screen = Screen(_ask_text(services, pending), amendment_options(ev.amendment_id), columns=2)
    await notify(uow, services, person, screen, dedupe_key=f"amendment:{ev.amendment_id}")


def _changed_text(pending: Pending) -> str:
    """The deal as it is now, after a change was agreed."""
    a, match = pending.amendment, pending.deal.match
    if a.kind == PRICE:
        return _("Đơn #{id} giờ là {kg} giá {price}.").format(
            id=match.id, kg=fmt.kg(match.kg), price=fmt.price_per_kg(a.new_value)
        )
    return _("Đơn #{id} giờ là {kg} giá {price}.").format(
        id=match.id, kg=fmt.kg(a.new_value), price=fmt.price_per_kg(match.price)
    )


@renders(AmendmentDecided)
async def on_decided(uow: UnitOfWork, services: Services, ev: AmendmentDecided) -> None:
    """The one who asked hears the answer."""
    pending = await service.load(uow, ev.amendment_id)
    if pending is None:
        return
    a, proposer, answerer = pending.amendment, pending.proposer, pending.deal.other(pending.proposer.id)
    with use_locale(proposer.locale):
        if ev.accepted:
            text = _("✅ {name} đã đồng ý. {deal}").format(name=answerer.name, deal=_changed_text(pending))
        elif a.kind == PRICE:
            text = _("{name} không đồng ý đổi giá đơn #{id}. Đơn giữ nguyên giá {price}.").format(
                name=answerer.name, id=a.match_id, price=fmt.price_per_kg(a.old_value)
            )
        else:
            text = _("{name} không đồng ý đổi khối lượng đơn #{id}. Đơn giữ nguyên {kg}.").format(
                name=answerer.name, id=a.match_id, kg=fmt.kg(a.old_value)
            )
    await notify(uow, services, proposer, Screen(text), dedupe_key=f"amendment_decided:{a.id}")


@renders(AmendmentExpired)
async def on_expired(uow: UnitOfWork, services: Services, ev: AmendmentExpired) -> None:
    pending = await service.load(uow, ev.amendment_id)
    if pending is None:
        return
    proposer = pending.proposer
    with use_locale(proposer.locale):
        text = _("Đề nghị thay đổi đơn #{id} đã hết hạn vì bên kia chưa trả lời. Đơn giữ nguyên.").format(
            id=pending.amendment.match_id
        )
    await notify(uow, services, proposer, Screen(text), dedupe_key=f"amendment_expired:{ev.amendment_id}")


def answered_screen(answered: Answered) -> Screen:
    """The reply to an answer."""
    if answered.outcome is Outcome.ACCEPTED and answered.pending is not None:
        return Screen(_("Bạn đã đồng ý. {deal}").format(deal=_changed_text(answered.pending)))
    texts = {
        Outcome.DECLINED: _("Bạn đã không đồng ý. Đơn giữ nguyên như cũ."),
        Outcome.NOT_YOURS: _("Đề nghị này không phải để bạn trả lời."),
    }
    return Screen(
        texts.get(
            answered.outcome,
            _("Đề nghị này đã được trả lời, đã hết hạn, hoặc đơn không còn thay đổi được nữa."),
        )
    )


# --- /dexuat ----------------------------------------------------------------------------------------


def _proposal_line(services: Services, deal: Deal, person_id: int) -> str:
    return _("Đề xuất #{id}: {product} {kg}, giá {price} – {name}").format(
        id=deal.match.id,
        product=product_name(services, deal.lot.product_code),
        kg=fmt.kg(deal.match.kg),
        price=fmt.price_per_kg(deal.match.price),
        name=deal.other(person_id).name,
    )


def _amendment_line(pending: Pending) -> str:
    a = pending.amendment
    if a.kind == PRICE:
        return _("Đổi giá đơn #{id}: {old} → {new} – {name}").format(
            id=a.match_id,
            old=fmt.price_per_kg(a.old_value),
            new=fmt.price_per_kg(a.new_value),
            name=pending.proposer.name,
        )
    return _("Đổi khối lượng đơn #{id}: {old} → {new} – {name}").format(
        id=a.match_id, old=fmt.kg(a.old_value), new=fmt.kg(a.new_value), name=pending.proposer.name
    )


def waiting_screen(services: Services, person_id: int, deals: list[Deal], pendings: list[Pending]) -> Screen:
    """Everything waiting for the person's answer, each with its two answers."""
    if not deals and not pendings:
        return Screen(_("Bạn không có đề xuất nào đang chờ."))
    total = len(deals) + len(pendings)
    lines = [_("Đang chờ bạn trả lời ({n}):").format(n=total)]
    options: list[Option] = []
    shown = 0
    for deal in deals[:MAX_LISTED]:
        lines.append(f"• {_proposal_line(services, deal, person_id)}")
        n = deal.match.id
        options += [
            Option(f"#{n} " + _("✅ Đồng ý"), DecideMatch(n, Decision.ACCEPT), (f"dong y {n}",)),
            Option(f"#{n} " + _("❌ Từ chối"), DecideMatch(n, Decision.DECLINE), (f"tu choi {n}",)),
        ]
        shown += 1
    for pending in pendings[: max(MAX_LISTED - shown, 0)]:
        lines.append(f"• {_amendment_line(pending)}")
        options += amendment_options(
            pending.amendment.id, _("Đổi #{id} ").format(id=pending.amendment.match_id)
        )
        shown += 1
    if shown < total:
        lines.append(
            _("… và {n} mục nữa: trả lời các mục trên rồi gõ /dexuat để xem tiếp.").format(n=total - shown)
        )
    return Screen("\n".join(lines), tuple(options), columns=2)
