"""The weekly anti-price-gouging notice (thông báo chống ép giá) of each province: its settings,
the rules for changing them (audited), and when it is due and for whom. The notice's words and
the job that queues it live in :mod:`bot.presentation.prices`."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from bot.services.audience import GOUGING as GOUGING_TOPIC
from bot.services.audience import left_topic
from storage import dto
from storage.repositories.notices import NoticeInfo
from storage.uow import UnitOfWork

GOUGING = "gouging"
AUDIENCE = ("trader", "coop_rep")  # people who left the "notice:gouging" topic (/dangky) are skipped
# A notice whose time passed while the bot was down still goes out within this window, never later.
NOTICE_GRACE = dt.timedelta(hours=6)
MIN_TEXT, MAX_TEXT = 10, 800
DEFAULTS: dict[str, Any] = {
    "text": None,
    "weekday": 0,
    "hour": 7,
    "minute": 0,
    "season_from": None,
    "season_to": None,
    "enabled": False,
}
CHANGEABLE = frozenset(DEFAULTS)


class NoticeProblem(enum.StrEnum):
    TEXT_LENGTH = "text_length"
    SEASON = "season"


class NoticeRuleError(ValueError):
    def __init__(self, problem: NoticeProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def clean_text(text: str) -> str:
    body = text.strip()
    if not MIN_TEXT <= len(body) <= MAX_TEXT:
        raise NoticeRuleError(NoticeProblem.TEXT_LENGTH)
    return body


def check_season(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """A season needs two different days (it may run over New Year)."""
    if start is None or end is None or (start.month, start.day) == (end.month, end.day):
        raise NoticeRuleError(NoticeProblem.SEASON)
    return start, end


def in_season(notice: NoticeInfo, day: dt.date) -> bool:
    """True when ``day`` falls in the season (month and day only; a season may run over New Year)."""
    if notice.season_from is None or notice.season_to is None:
        return True
    start = (notice.season_from.month, notice.season_from.day)
    end = (notice.season_to.month, notice.season_to.day)
    key = (day.month, day.day)
    return start <= key <= end if start <= end else key >= start or key <= end


def last_occurrence(notice: NoticeInfo, local_now: dt.datetime) -> dt.datetime:
    """The latest weekday-and-time of the notice at or before ``local_now`` (aware, local)."""
    days_back = (local_now.weekday() - notice.weekday) % 7
    moment = dt.datetime.combine(
        local_now.date() - dt.timedelta(days=days_back),
        dt.time(notice.hour, notice.minute),
        tzinfo=local_now.tzinfo,
    )
    if moment > local_now:
        moment -= dt.timedelta(days=7)
    return moment


async def get_notice(uow: UnitOfWork, province_code: int, kind: str = GOUGING) -> NoticeInfo:
    """The province's notice, or the defaults (disabled) when none was saved yet."""
    found = await uow.notices.get(province_code, kind)
    if found is not None:
        return found
    return NoticeInfo(id=0, province_code=province_code, kind=kind, updated_by=None, **DEFAULTS)


async def change_notice(
    uow: UnitOfWork, official: dto.User, province_code: int, changes: dict[str, Any], kind: str = GOUGING
) -> NoticeInfo:
    """Save some settings of the province's notice, audited."""
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise ValueError(f"not changeable: {sorted(unknown)}")
    if changes.get("text") is not None:
        changes = {**changes, "text": clean_text(changes["text"])}
    notice = await uow.notices.save(province_code, kind, DEFAULTS, updated_by=official.id, **changes)
    details = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in changes.items()}
    await uow.audit.add(official.id, "notice_change", f"{kind}:{province_code}", details=details)
    return notice


async def due_notices(
    uow: UnitOfWork, local_now: dt.datetime, kind: str = GOUGING
) -> list[tuple[NoticeInfo, dt.datetime]]:
    """Enabled notices whose weekly time has come (in season, within the grace window), with that time."""
    due = []
    for notice in await uow.notices.enabled(kind):
        moment = last_occurrence(notice, local_now)
        if local_now - moment <= NOTICE_GRACE and in_season(notice, moment.date()):
            due.append((notice, moment))
    return due


async def audience_page(
    uow: UnitOfWork, notice: NoticeInfo, *, after_id: int, limit: int
) -> list[tuple[int, str, str, str]]:
    """(id, channel, chat_id, locale) of the province's traders and reps who did not switch the
    notice off, the next ``limit`` after ``after_id``."""
    return await uow.users.audience_page(
        after_id=after_id,
        limit=limit,
        roles=AUDIENCE,
        province_code=notice.province_code,
        muted_topic=left_topic(GOUGING_TOPIC),
    )


async def contacts(uow: UnitOfWork, province_code: int) -> list[dto.User]:
    """The province's registered officials, whose phones the notice gives for reporting gouging."""
    return [o for o in await uow.users.with_role(("official",), province_code) if o.registered]
