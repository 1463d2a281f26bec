"""Broadcasts as people see them: the announcement, who it goes to, its delivery, and the reports
its author gets while it goes out.

Delivery is planned here when a :class:`BroadcastQueued` event arrives: one outbox row per
recipient with ``dedupe_key = ann:{id}:{user}``, so planning again (a re-delivered event, a crash)
adds nobody twice; the outbox sender then sends at each messenger's pace. The author hears how
far it got from the :class:`BroadcastProgressed` events the scheduler's job emits: where the
messenger can edit a message, one progress message is edited in place whenever the counts change
(``annrep:{id}:progress:{n}``, each update replacing the last one delivered); elsewhere a new
message per 25 % step crossed. The final report is always a new message, so that the author is
notified of it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any

from bot import formatting as fmt
from bot.domain_events import BroadcastFinished, BroadcastProgressed, BroadcastQueued
from bot.engine.screens import Screen
from bot.events import REPLACES
from bot.i18n import _, use_locale
from bot.outbox import PAID
from bot.presentation.labels import role_label
from bot.presentation.notifications import renders
from bot.presentation.notify import notify
from bot.services import announcements as service
from bot.services.announcements import Progress
from bot.services.audience import Audience
from storage import dto
from storage.repositories.announcements import report_key
from storage.types import utcnow
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.container import Services

PLAN_CHUNK = 500  # rows per INSERT: well under SQLite's and asyncpg's parameter limits
PROGRESS_STEP = 25  # percent; where messages cannot be edited, one progress message per step crossed


# --- what the official sees while writing ---------------------------------------------------


def paid_channels(services: Services) -> frozenset[str]:
    """Messengers on which a paid broadcast may be bought (none unless the operator enabled it)."""
    if not services.settings.telegram_paid_broadcast:
        return frozenset()
    return frozenset(name for name, caps in services.messengers.items() if caps.paid_broadcast)


def messenger_names(services: Services, channels: frozenset[str]) -> str:
    """The display names of ``channels``, as people call those messengers."""
    return ", ".join(sorted(services.capabilities(c).display_name for c in channels))


def announcement_screen(text: str, *, required: bool, locale: str) -> Screen:
    """The message recipients get, in their language (the author's text is kept as written)."""
    with use_locale(locale):
        head = _("📢 THÔNG BÁO")
        foot = "" if required else "\n\n" + _("Không muốn nhận loại tin này? Gõ /dangky.")
    return Screen(f"{head}\n\n{text.strip()}{foot}")


def describe(services: Services, audience: Audience) -> str:
    """ "Thương lái · Tỉnh Lạng Sơn · theo dõi Na" or "mọi người"."""
    places, catalog = services.places, services.catalog
    parts = []
    if audience.roles:
        parts.append(", ".join(role_label(r) for r in audience.roles))
    if audience.ward_code is not None and (ward := places.ward(audience.ward_code)):
        parts.append(ward.label)
    elif audience.province_code is not None and (prov := places.province(audience.province_code)):
        parts.append(prov.label)
    if audience.products:
        names = ", ".join(p.name_vi if (p := catalog.get(c)) else c for c in audience.products)
        parts.append(_("theo dõi {products}").format(products=names))
    text = " · ".join(parts) if parts else _("mọi người")
    return text + (" " + _("(bắt buộc, gửi cả người đã tắt thông báo)") if audience.required else "")


# --- delivery -----------------------------------------------------------------------------------


async def plan_delivery(
    uow: UnitOfWork, services: Services, announcement_id: int, *, now: dt.datetime
) -> int:
    """Queue one outbox row per recipient of a live announcement; returns how many were new (0 when
    run again, or when the announcement was cancelled meanwhile)."""
    ann = await service.lock_live(uow, announcement_id)
    if ann is None:
        return 0
    not_before = ann.scheduled_at if ann.scheduled_at and ann.scheduled_at > now else now
    payloads: dict[tuple[str, bool], dict[str, Any]] = {}
    added, after = 0, 0
    while page := await service.recipients(uow, ann, after_id=after, limit=PLAN_CHUNK):
        rows = []
        for person in page:
            paid = ann.paid and services.capabilities(person.channel).paid_broadcast
            if (person.locale, paid) not in payloads:
                screen = announcement_screen(ann.text, required=ann.required, locale=person.locale)
                reply = screen.to_reply(services.codec)
                if paid:
                    reply = dataclasses.replace(reply, extras={**reply.extras, PAID: True})
                payloads[(person.locale, paid)] = reply.to_json()
            rows.append(
                {
                    "channel": person.channel,
                    "chat_id": person.chat_id,
                    "user_id": person.user_id,
                    "payload": payloads[(person.locale, paid)],
                    "not_before": not_before,
                    "announcement_id": ann.id,
                    "dedupe_key": f"ann:{ann.id}:{person.user_id}",
                }
            )
        added += await uow.outbox.enqueue_many(rows)
        after = page[-1].user_id
    groups = await service.group_recipients(uow, Audience.from_json(ann.audience))
    if groups:  # subscribed groups read it in Vietnamese, the province's language
        payload = announcement_screen(ann.text, required=ann.required, locale="vi").to_reply(services.codec)
        rows = [
            {
                "channel": channel,
                "chat_id": chat_id,
                "is_group": True,
                "payload": payload.to_json(),
                "not_before": not_before,
                "announcement_id": ann.id,
                "dedupe_key": f"ann:{ann.id}:g:{channel}:{chat_id}"[:120],
            }
            for channel, chat_id in groups
        ]
        added += await uow.outbox.enqueue_many(rows)
    await service.planned(uow, ann)
    return added


@renders(BroadcastQueued)
async def deliver(uow: UnitOfWork, services: Services, ev: BroadcastQueued) -> None:
    await plan_delivery(uow, services, ev.announcement_id, now=services.clock.now())


# --- reports to the author ----------------------------------------------------------------------


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


def final_text(ann_id: int, ev: BroadcastFinished) -> str:
    """The report the author gets when nothing is left to send."""
    return _(
        "✅ Thông báo #{id} đã gửi xong: {sent} người nhận được, {failed} lỗi, {blocked} đã chặn bot "
        "(tổng {total})."
    ).format(
        id=ann_id,
        sent=fmt.number(ev.sent),
        failed=fmt.number(ev.failed),
        blocked=fmt.number(ev.blocked),
        total=fmt.number(ev.total),
    )


async def _author(uow: UnitOfWork, announcement_id: int) -> tuple[dto.User, dt.datetime] | None:
    ann = await uow.announcements.get(announcement_id)
    author = await uow.users.get(ann.author_id) if ann and ann.author_id is not None else None
    return (author, ann.created_at) if ann and author else None


async def _replace_progress(
    uow: UnitOfWork, services: Services, author: dto.User, ann_id: int, text: str, created_at: dt.datetime
) -> bool:
    """Queue an update of the author's progress message if the counts changed since the last one.

    At most one update waits at a time: while one does, later counts are reported by the next
    event. Each update replaces the last progress message delivered (the first one, unless an edit
    was refused and a new message was sent instead); with none delivered it is a new message.
    """
    earlier = await uow.outbox.for_user_with_key_prefix(author.id, report_key(ann_id, "progress:"))
    if any(r.status in ("pending", "sending") for r in earlier):
        return False
    if earlier and earlier[-1].payload.get("text") == text:
        return False  # nothing changed since the last update
    if author.bot_blocked or author.banned:
        return False
    shown = next((r for r in reversed(earlier) if r.status == "sent" and r.message_id), None)
    reply = Screen(text).to_reply(services.codec)
    if shown is not None and shown.dedupe_key:
        reply = dataclasses.replace(reply, extras={**reply.extras, REPLACES: shown.dedupe_key})
    return await uow.outbox.enqueue(
        author.channel,
        author.chat_id,
        reply.to_json(),
        user_id=author.id,
        dedupe_key=report_key(ann_id, f"progress:{len(earlier)}"),
        # Due before the broadcast's own rows, so it is not queued behind thousands of them.
        not_before=created_at,
    )


@renders(BroadcastProgressed)
async def progressed(uow: UnitOfWork, services: Services, ev: BroadcastProgressed) -> None:
    found = await _author(uow, ev.announcement_id)
    if found is None:
        return
    author, created_at = found
    p = Progress(ev.sent, ev.left, ev.failed, ev.blocked, ev.cancelled)
    with use_locale(author.locale):
        text = progress_text(ev.announcement_id, p)
    if services.capabilities(author.channel).edits:
        await _replace_progress(uow, services, author, ev.announcement_id, text, created_at)
        return
    # Only the highest step crossed is reported, each at most once (its dedupe key).
    step = p.done * 100 // max(p.total, 1) // PROGRESS_STEP * PROGRESS_STEP
    if step >= PROGRESS_STEP:
        key = report_key(ev.announcement_id, str(step))
        await notify(uow, services, author, Screen(text), dedupe_key=key, not_before=created_at)


@renders(BroadcastFinished)
async def finished(uow: UnitOfWork, services: Services, ev: BroadcastFinished) -> None:
    found = await _author(uow, ev.announcement_id)
    if found is None:
        return
    author, _created = found
    with use_locale(author.locale):
        screen = Screen(final_text(ev.announcement_id, ev))
    await notify(
        uow, services, author, screen, dedupe_key=report_key(ev.announcement_id, "final"), not_before=utcnow()
    )
