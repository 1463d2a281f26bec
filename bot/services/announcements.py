"""Announcements: checking the text, planning delivery through the outbox, progress, cancelling.

Delivery is planned as one outbox row per recipient with ``dedupe_key = ann:{id}:{user}``,
so planning again after a crash adds nobody twice; the outbox worker then sends at the
platform's pace. :func:`report_progress` runs periodically (the scheduler calls it) and
keeps the author informed until the broadcast is done: on Telegram with one progress message
edited in place whenever the counts change (``annrep:{id}:progress:{n}``, each update replacing
the last one delivered), on messengers that cannot edit with a new message per 25 % step
crossed. The final report is always a new message, so that the author is notified of it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from bot import formatting as fmt
from bot.events import REPLACES, Reply
from bot.i18n import _, use_locale
from bot.services.audience import Audience
from bot.services.notify import EDITING_CHANNELS, notify
from bot.textnorm import fold
from storage import dto
from storage.repositories.announcements import LIVE, Announcement, report_key
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.services.container import Services

MAX_LENGTH = 3500  # leaves room under Telegram's 4096 for the heading and footer
PLAN_CHUNK = 500  # rows per INSERT: well under SQLite's and asyncpg's parameter limits
PROGRESS_STEP = 25  # percent; where messages cannot be edited, one progress message per step crossed
MAX_SCHEDULE_DAYS = 30


# --- the text ------------------------------------------------------------------------------


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be announced ("empty" or "too_long"), or None when it can."""
    if not text.strip():
        return "empty"
    if len(text) > MAX_LENGTH:
        return "too_long"
    return None


def announcement_reply(text: str, *, required: bool, locale: str) -> Reply:
    """The message recipients get, in their language (the author's text is kept as written)."""
    with use_locale(locale):
        head = _("📢 THÔNG BÁO")
        foot = "" if required else "\n\n" + _("Không muốn nhận loại tin này? Gõ /dangky.")
    return Reply(f"{head}\n\n{text.strip()}{foot}")


# --- when ----------------------------------------------------------------------------------

_DATE = re.compile(r"\b(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2,4}))?\b")
_TIME = re.compile(r"\b(\d{1,2})\s*(?::|h|g|gio)\s*(\d{2})?\b")


def parse_send_time(text: str, now_local: dt.datetime) -> dt.datetime | None:
    """A local moment from "18:00", "mai 7:00", "15/9 7:00", "7h30 15/09/2026"; None if unreadable.

    ``now_local`` is aware, in the bot's time zone; so is the result (it may lie in the past).
    """
    t = fold(text)
    day = now_local.date()
    m = _DATE.search(t)
    if m:
        d, mo, y = int(m.group(1)), int(m.group(2)), m.group(3)
        year = (int(y) + 2000 if len(y) == 2 else int(y)) if y else now_local.year
        try:
            day = dt.date(year, mo, d)
        except ValueError:
            return None
        if not y and day < now_local.date():  # "5/1" typed in September means next January
            day = day.replace(year=year + 1)
        t = t[: m.start()] + " " + t[m.end() :]
    elif re.search(r"\bmai\b", t):
        day += dt.timedelta(days=1)
    m = _TIME.search(t)
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=now_local.tzinfo)


def schedule_problem(when: dt.datetime, now: dt.datetime) -> str | None:
    """ "past" or "too_far" when ``when`` cannot be a send time, else None."""
    if when <= now:
        return "past"
    if when - now > dt.timedelta(days=MAX_SCHEDULE_DAYS):
        return "too_far"
    return None


# --- planning and sending ------------------------------------------------------------------


# Telegram's paid broadcasts: up to 1,000 messages a second for 0.1 Star each (Bot API,
# sendMessage.allow_paid_broadcast). Other messengers have no such option.
PAID_CHANNEL = "telegram"
PAID_EXTRA = "paid_broadcast"  # the outbox sender reads it (bot.outbox.PAID)
STARS_PER_MESSAGE = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class PaidCost:
    """What sending an announcement as a paid broadcast costs."""

    messages: int  # its Telegram recipients
    stars: Decimal


async def paid_cost(uow: UnitOfWork, audience: Audience) -> PaidCost:
    """The Stars a paid broadcast to ``audience`` costs now (its Telegram recipients × 0.1)."""
    n = await uow.users.audience_count(**audience.criteria(), channel=PAID_CHANNEL)
    return PaidCost(n, n * STARS_PER_MESSAGE)


async def count_recipients(uow: UnitOfWork, audience: Audience) -> int:
    """How many people an announcement to ``audience`` reaches right now."""
    return await uow.users.audience_count(**audience.criteria())


async def plan_delivery(uow: UnitOfWork, ann: Announcement, *, now: dt.datetime) -> int:
    """Queue one outbox row per recipient; returns how many were new (0 when run again)."""
    audience = Audience.from_json(ann.audience)
    not_before = ann.scheduled_at if ann.scheduled_at and ann.scheduled_at > now else now
    payloads: dict[tuple[str, bool], dict[str, object]] = {}
    added, after = 0, 0
    while True:
        page = await uow.users.audience_page(after_id=after, limit=PLAN_CHUNK, **audience.criteria())
        if not page:
            return added
        rows = []
        for user_id, channel, chat_id, locale in page:
            paid = ann.paid and channel == PAID_CHANNEL
            if (locale, paid) not in payloads:
                reply = announcement_reply(ann.text, required=ann.required, locale=locale)
                if paid:
                    reply = replace(reply, extras={**reply.extras, PAID_EXTRA: True})
                payloads[(locale, paid)] = reply.to_json()
            rows.append(
                {
                    "channel": channel,
                    "chat_id": chat_id,
                    "user_id": user_id,
                    "payload": payloads[(locale, paid)],
                    "not_before": not_before,
                    "announcement_id": ann.id,
                    "dedupe_key": f"ann:{ann.id}:{user_id}",
                }
            )
        added += await uow.outbox.enqueue_many(rows)
        after = page[-1][0]


async def create(
    uow: UnitOfWork,
    *,
    author: dto.User,
    text: str,
    audience: Audience,
    now: dt.datetime,
    send_at: dt.datetime | None = None,
    paid: bool = False,
) -> Announcement:
    """Save an announcement, queue its delivery (now or at ``send_at``) and audit it.

    ``paid``: its Telegram messages go out as paid broadcasts (see :func:`paid_cost`).
    """
    scheduled = send_at is not None and send_at > now
    cost = await paid_cost(uow, audience) if paid else None
    ann = await uow.announcements.add(
        author_id=author.id,
        text=text.strip(),
        audience=audience.to_json(),
        required=audience.required,
        status="scheduled" if scheduled else "sending",
        scheduled_at=send_at if scheduled else None,
        paid=paid,
    )
    total = await plan_delivery(uow, ann, now=now)
    await uow.announcements.set_total(ann.id, total)
    await uow.audit.add(
        author.id,
        "announcement_schedule" if scheduled else "announcement_send",
        f"announcement:{ann.id}",
        details={
            "recipients": total,
            "audience": audience.to_json(),
            "scheduled_at": send_at.isoformat() if scheduled and send_at else None,
            "chars": len(ann.text),
            "paid_stars": str(cost.stars) if cost else None,
        },
    )
    return replace(ann, total=total)


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


def progress_text(ann_id: int, p: Progress) -> str:
    """ "Thông báo #3: đã gửi 1.200/3.000 …" in the current locale."""
    return _(
        "📨 Thông báo #{id}: đã gửi {sent}/{total}, còn lại {left}, lỗi {failed}, đã chặn bot {blocked}."
    ).format(
        id=ann_id,
        sent=fmt.number(p.sent),
        total=fmt.number(p.total),
        left=fmt.number(p.left),
        failed=fmt.number(p.failed),
        blocked=fmt.number(p.blocked),
    )


def final_text(ann_id: int, p: Progress) -> str:
    """The report the author gets when nothing is left to send."""
    return _(
        "✅ Thông báo #{id} đã gửi xong: {sent} người nhận được, {failed} lỗi, {blocked} đã chặn bot "
        "(tổng {total})."
    ).format(
        id=ann_id,
        sent=fmt.number(p.sent),
        failed=fmt.number(p.failed),
        blocked=fmt.number(p.blocked),
        total=fmt.number(p.total),
    )


async def progress_of(uow: UnitOfWork, announcement_id: int) -> Progress:
    """Current delivery counts of one broadcast."""
    return Progress.of(await uow.outbox.counts(announcement_id))


async def _tell(
    uow: UnitOfWork, author: dto.User | None, key: str, compose: object, not_before: dt.datetime
) -> int:
    if author is None:
        return 0
    with use_locale(author.locale):
        text = compose() if callable(compose) else str(compose)
    return int(await notify(uow, author, Reply(text), dedupe_key=key, not_before=not_before))


async def _update_progress(uow: UnitOfWork, author: dto.User, ann: Announcement, p: Progress) -> int:
    """Queue an update of the author's progress message if the counts changed since the last one.

    At most one update is queued at a time: while one waits, the next run reports newer counts.
    Each update replaces the last progress message delivered (the first one, unless an edit was
    refused and a new message was sent instead); with none delivered it is a new message.
    """
    earlier = await uow.outbox.for_user_with_key_prefix(author.id, report_key(ann.id, "progress:"))
    if any(r.status in ("pending", "sending") for r in earlier):
        return 0
    with use_locale(author.locale):
        text = progress_text(ann.id, p)
    if earlier and earlier[-1].payload.get("text") == text:
        return 0  # nothing changed since the last update
    shown = next((r for r in reversed(earlier) if r.status == "sent" and r.message_id), None)
    extras = {REPLACES: shown.dedupe_key} if shown is not None and shown.dedupe_key else {}
    return int(
        await notify(
            uow,
            author,
            Reply(text, extras=extras),
            dedupe_key=report_key(ann.id, f"progress:{len(earlier)}"),
            # Due before the broadcast's own rows, so it is not queued behind thousands of them.
            not_before=ann.created_at,
        )
    )


async def _progress_one(uow: UnitOfWork, ann: Announcement, now: dt.datetime) -> int:
    if ann.status == "scheduled":
        if ann.scheduled_at is None or ann.scheduled_at > now:
            return 0
        if not await uow.announcements.transition(ann.id, ("scheduled",), "sending"):
            return 0
    p = await progress_of(uow, ann.id)
    author = await uow.users.get(ann.author_id) if ann.author_id is not None else None
    if p.left == 0:
        if not await uow.announcements.transition(ann.id, ("sending",), "done"):
            return 0
        await uow.audit.add(
            None,
            "announcement_done",
            f"announcement:{ann.id}",
            details={"sent": p.sent, "failed": p.failed, "blocked": p.blocked},
        )
        return await _tell(uow, author, report_key(ann.id, "final"), lambda: final_text(ann.id, p), now)
    if p.done == 0 or author is None:
        return 0
    if author.channel in EDITING_CHANNELS:
        return await _update_progress(uow, author, ann, p)
    # Only the highest step crossed is reported, each at most once (its dedupe key).
    step = p.done * 100 // max(p.total, 1) // PROGRESS_STEP * PROGRESS_STEP
    if step < PROGRESS_STEP:
        return 0
    return await _tell(
        uow, author, report_key(ann.id, str(step)), lambda: progress_text(ann.id, p), ann.created_at
    )


async def report_progress(services: Services) -> int:
    """Start due scheduled broadcasts, tell authors how far theirs got, close finished ones.

    Returns how many messages to authors were queued. Call it periodically (every 30–60 s).
    """
    now = services.clock.now()
    async with services.db.uow() as uow:
        live = await uow.announcements.live(limit=1000)
    queued = 0
    for ann in live:
        async with services.db.uow() as uow:  # one transaction each: one bad row cannot block the rest
            queued += await _progress_one(uow, ann, now)
    if queued:
        services.wake_outbox()
    return queued
