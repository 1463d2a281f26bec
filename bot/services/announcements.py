"""Announcements (broadcasts): the rules on the text, the send time and the cost, their life cycle.

An announcement is saved with its audience and a :class:`BroadcastQueued` event; the
notifications then plan one outbox row per recipient (``bot.presentation.broadcasts``), so a
broadcast of any size never holds up the official's answer. :func:`report_progress` runs
periodically (the scheduler calls it): it starts due scheduled broadcasts, closes finished ones
and emits their progress, which the presentation turns into messages to the author.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from bot.domain_events import BroadcastFinished, BroadcastProgressed, BroadcastQueued, emit
from bot.parsing import answers
from bot.services.audience import Audience
from bot.textnorm import fold
from storage import dto
from storage.repositories.announcements import LIVE, Announcement
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.container import Services

MAX_LENGTH = 3500  # leaves room under the smallest message limit we serve for the heading and footer
MAX_SCHEDULE_DAYS = 30
# Paid broadcasts (where a messenger offers them): 0.1 Star a message, up to 1,000 messages a second.
STARS_PER_MESSAGE = Decimal("0.1")


# --- the text ------------------------------------------------------------------------------


class TextProblem(enum.StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"


def text_problem(text: str) -> TextProblem | None:
    """Why ``text`` cannot be announced, or None when it can."""
    if not text.strip():
        return TextProblem.EMPTY
    if len(text) > MAX_LENGTH:
        return TextProblem.TOO_LONG
    return None


# --- when ----------------------------------------------------------------------------------

_TIME = re.compile(r"\b(\d{1,2})\s*(?::|h|g|gio)\s*(\d{2})?\b")


def parse_send_time(text: str, now_local: dt.datetime) -> dt.datetime | None:
    """A local moment from "18:00", "mai 7:00", "15/9 7:00", "7h30 15/09/2026", "thứ 7 6:30"; None
    without a time of day. The day is read by the one date parser (today when none is named).

    ``now_local`` is aware, in the bot's time zone; so is the result (it may lie in the past).
    """
    folded = fold(text)
    m = _TIME.search(folded)
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    rest = (folded[: m.start()] + " " + folded[m.end() :]).strip()
    day = now_local.date()
    if rest and (read := answers.read_period(rest, day)) is not None:
        day = read[0] or read[1] or day
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=now_local.tzinfo)


class ScheduleProblem(enum.StrEnum):
    PAST = "past"
    TOO_FAR = "too_far"


def schedule_problem(when: dt.datetime, now: dt.datetime) -> ScheduleProblem | None:
    """Why ``when`` cannot be a send time, else None."""
    if when <= now:
        return ScheduleProblem.PAST
    if when - now > dt.timedelta(days=MAX_SCHEDULE_DAYS):
        return ScheduleProblem.TOO_FAR
    return None


# --- audience and cost ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaidCost:
    """What sending an announcement as a paid broadcast costs."""

    messages: int  # its recipients on messengers that offer paid broadcasts
    stars: Decimal


async def paid_cost(uow: UnitOfWork, audience: Audience, channels: Collection[str]) -> PaidCost:
    """The Stars a paid broadcast to ``audience`` costs now: its recipients on ``channels`` × 0.1."""
    n = 0
    for channel in sorted(channels):
        n += await uow.users.audience_count(**audience.criteria(), channel=channel)
    return PaidCost(n, n * STARS_PER_MESSAGE)


def reaches_groups(audience: Audience) -> bool:
    """Subscribed groups get announcements to everyone or to a whole province (a group is not one
    role, one ward or one product's followers)."""
    return not (audience.roles or audience.products or audience.ward_code)


async def group_recipients(uow: UnitOfWork, audience: Audience) -> list[tuple[str, str]]:
    """(channel, chat_id) of the subscribed groups an announcement to ``audience`` reaches."""
    return await uow.groups.chats(audience.province_code) if reaches_groups(audience) else []


async def count_recipients(uow: UnitOfWork, audience: Audience) -> int:
    """How many chats an announcement to ``audience`` reaches right now: people, and groups."""
    people = await uow.users.audience_count(**audience.criteria())
    groups = await uow.groups.count(audience.province_code) if reaches_groups(audience) else 0
    return people + groups


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: int
    channel: str
    chat_id: str
    locale: str


async def recipients(uow: UnitOfWork, ann: Announcement, *, after_id: int, limit: int) -> list[Recipient]:
    """The next ``limit`` people of the announcement's audience after ``after_id`` (keyset paging)."""
    audience = Audience.from_json(ann.audience)
    page = await uow.users.audience_page(after_id=after_id, limit=limit, **audience.criteria())
    return [Recipient(*row) for row in page]


# --- creating ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewAnnouncement:
    """What the official asked for. ``paid_channels``: where a paid broadcast is billed (empty: not paid);
    ``agreed_stars``: the cost the official confirmed."""

    text: str
    audience: Audience
    send_at: dt.datetime | None = None
    paid_channels: frozenset[str] = frozenset()
    agreed_stars: str | None = None


class NotCreated(enum.StrEnum):
    NOBODY = "nobody"  # the audience is empty now
    COST_CHANGED = "cost_changed"  # the paid broadcast would cost something else than agreed


@dataclass(frozen=True, slots=True)
class Created:
    announcement: Announcement
    recipients: int
    scheduled: bool


async def create(
    uow: UnitOfWork, author: dto.User, new: NewAnnouncement, *, now: dt.datetime
) -> Created | NotCreated:
    """Save an announcement to send now or at ``send_at``, audit it and queue it for delivery."""
    audience = new.audience
    count = await count_recipients(uow, audience)
    if count == 0:
        return NotCreated.NOBODY
    cost = await paid_cost(uow, audience, new.paid_channels) if new.paid_channels else None
    if cost is not None and str(cost.stars) != new.agreed_stars:
        return NotCreated.COST_CHANGED
    scheduled = new.send_at is not None and new.send_at > now
    ann = await uow.announcements.add(
        author_id=author.id,
        text=new.text.strip(),
        audience=audience.to_json(),
        required=audience.required,
        status="scheduled" if scheduled else "sending",
        scheduled_at=new.send_at if scheduled else None,
        paid=cost is not None,
    )
    await uow.announcements.set_total(ann.id, count)
    await uow.audit.add(
        author.id,
        "announcement_schedule" if scheduled else "announcement_send",
        f"announcement:{ann.id}",
        details={
            "recipients": count,
            "audience": audience.to_json(),
            "scheduled_at": new.send_at.isoformat() if scheduled and new.send_at else None,
            "chars": len(ann.text),
            "paid_stars": str(cost.stars) if cost else None,
        },
    )
    await emit(uow, BroadcastQueued(ann.id))
    return Created(replace(ann, total=count), count, scheduled)


# --- planning (the delivery itself is queued by the presentation) ---------------------------


async def lock_live(uow: UnitOfWork, announcement_id: int) -> Announcement | None:
    """The announcement if it may still go out, locked until the transaction ends (a concurrent
    cancel waits for the rows planned now, and withdraws them too); None otherwise."""
    for _attempt in range(3):
        ann = await uow.announcements.get(announcement_id)
        if ann is None or ann.status not in LIVE:
            return None
        if await uow.announcements.transition(ann.id, (ann.status,), ann.status):
            return ann
    return None


async def planned(uow: UnitOfWork, ann: Announcement) -> int:
    """Record how many messages the announcement has; one that reaches nobody is finished at once."""
    total = sum((await uow.outbox.counts(ann.id)).values())
    await uow.announcements.set_total(ann.id, total)
    if total == 0 and await uow.announcements.transition(ann.id, LIVE, "done"):
        await uow.audit.add(
            None,
            "announcement_done",
            f"announcement:{ann.id}",
            details={"sent": 0, "failed": 0, "blocked": 0},
        )
        await emit(uow, BroadcastFinished(ann.id, 0, 0, 0, 0))
    return total


# --- cancelling ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    """What cancelling did: ``withdrawn`` messages will not go out; ``already_sent`` did."""

    announcement: Announcement | None
    cancelled: bool
    withdrawn: int = 0
    already_sent: int = 0


async def cancel(uow: UnitOfWork, announcement_id: int, actor: dto.User) -> CancelOutcome:
    """Stop a scheduled or running broadcast: its unsent messages are withdrawn, and it is audited."""
    ann = await uow.announcements.get(announcement_id)
    if ann is None or not await uow.announcements.transition(ann.id, LIVE, "cancelled"):
        return CancelOutcome(ann, False)
    withdrawn = await uow.outbox.cancel_announcement(ann.id)
    counts = await uow.outbox.counts(ann.id)
    sent = counts.get("sent", 0) + counts.get("sending", 0)
    await uow.audit.add(
        actor.id,
        "announcement_cancel",
        f"announcement:{ann.id}",
        details={"withdrawn": withdrawn, "already_sent": sent, "was": ann.status},
    )
    return CancelOutcome(replace(ann, status="cancelled"), True, withdrawn, sent)


async def stoppable(uow: UnitOfWork, actor: dto.User, limit: int = 8) -> list[Announcement]:
    """Broadcasts ``actor`` may still stop: an admin's view is everyone's, an official's their own."""
    author = None if actor.role == "admin" else actor.id
    return await uow.announcements.live(author_id=author, limit=limit)


# --- progress ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    """Delivery counts of one broadcast."""

    sent: int
    left: int
    failed: int
    blocked: int
    cancelled: int

    @classmethod
    def of(cls, counts: dict[str, int]) -> Progress:
        return cls(
            sent=counts.get("sent", 0),
            left=counts.get("pending", 0) + counts.get("sending", 0),
            failed=counts.get("failed", 0),
            blocked=counts.get("blocked", 0),
            cancelled=counts.get("cancelled", 0),
        )

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.blocked

    @property
    def total(self) -> int:
        return self.done + self.left + self.cancelled


async def progress_of(uow: UnitOfWork, announcement_id: int) -> Progress:
    """Current delivery counts of one broadcast."""
    return Progress.of(await uow.outbox.counts(announcement_id))


async def _advance(uow: UnitOfWork, ann: Announcement, now: dt.datetime) -> bool:
    """Start, close or report one live broadcast; True when an event was emitted."""
    if ann.status == "scheduled":
        if ann.scheduled_at is None or ann.scheduled_at > now:
            return False
        if not await uow.announcements.transition(ann.id, ("scheduled",), "sending"):
            return False
    p = await progress_of(uow, ann.id)
    if p.total == 0:
        return False  # not planned yet: the notifications are still queueing its messages
    if p.left == 0:
        if not await uow.announcements.transition(ann.id, ("sending",), "done"):
            return False
        await uow.audit.add(
            None,
            "announcement_done",
            f"announcement:{ann.id}",
            details={"sent": p.sent, "failed": p.failed, "blocked": p.blocked},
        )
        await emit(uow, BroadcastFinished(ann.id, p.sent, p.failed, p.blocked, p.total))
        return True
    if p.done == 0:
        return False
    await emit(uow, BroadcastProgressed(ann.id, p.sent, p.left, p.failed, p.blocked, p.cancelled))
    return True


async def report_progress(services: Services) -> int:
    """Start due scheduled broadcasts, close finished ones, emit the progress of running ones.

    Returns how many events were emitted. Call it periodically (every 30–60 s).
    """
    now = services.clock.now()
    async with services.db.reader() as uow:
        live = await uow.announcements.live(limit=1000)
    emitted = 0
    for ann in live:
        async with services.db.uow() as uow:  # one transaction each: one bad row cannot block the rest
            emitted += await _advance(uow, ann, now)
    if emitted:
        services.wake_events()
    return emitted
