"""The weekly anti-price-gouging notice (thông báo chống ép giá) of each province: its settings,
its text, and the job that sends it to every trader and coop rep of the province in season."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from bot import formatting as fmt
from bot.events import Reply
from bot.i18n import _, use_locale
from bot.services.audience import GOUGING as GOUGING_TOPIC
from bot.services.audience import left_topic
from bot.services.quantities import RuleError, parse_window
from bot.textnorm import fold
from storage.repositories.notices import NoticeInfo
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.services.container import Services
    from storage import dto

GOUGING = "gouging"
AUDIENCE = ("trader", "coop_rep")  # people who left the "notice:gouging" topic (/dangky) are skipped
# A notice whose time passed while the bot was down still goes out within this window, never later.
NOTICE_GRACE = dt.timedelta(hours=6)
MAX_TEXT = 800
_CHUNK = 200
DEFAULTS: dict[str, Any] = {
    "text": None,
    "weekday": 0,
    "hour": 7,
    "minute": 0,
    "season_from": None,
    "season_to": None,
    "enabled": False,
}

_WEEKDAYS = {
    "thu 2": 0, "thu hai": 0, "t2": 0, "mon": 0, "monday": 0,
    "thu 3": 1, "thu ba": 1, "t3": 1, "tue": 1, "tuesday": 1,
    "thu 4": 2, "thu tu": 2, "t4": 2, "wed": 2, "wednesday": 2,
    "thu 5": 3, "thu nam": 3, "t5": 3, "thursday": 3,
    "thu 6": 4, "thu sau": 4, "t6": 4, "fri": 4, "friday": 4,
    "thu 7": 5, "thu bay": 5, "t7": 5, "sat": 5, "saturday": 5,
    "chu nhat": 6, "cn": 6, "sun": 6, "sunday": 6,
}  # fmt: skip
_WHEN = re.compile(r"^(?P<day>[a-z ]*?\d?)\s*(?:luc\s+)?(?P<h>\d{1,2})\s*(?:[:h]\s*(?P<m>\d{2})?)?\s*h?$")


def weekday_label(weekday: int) -> str:
    """Thứ Hai ... Chủ nhật."""
    labels = (_("Thứ Hai"), _("Thứ Ba"), _("Thứ Tư"), _("Thứ Năm"), _("Thứ Sáu"), _("Thứ Bảy"), _("Chủ nhật"))
    return labels[weekday]


def parse_when(text: str) -> tuple[int, int, int] | None:
    """(weekday, hour, minute) from "thứ 2 7:00", "T6 16h30", "chủ nhật 8h"; None if unreadable."""
    m = _WHEN.match(fold(text).replace(",", " "))
    if not m:
        return None
    day = _WEEKDAYS.get(" ".join(m["day"].split()))
    hour, minute = int(m["h"]), int(m["m"] or 0)
    if day is None or hour > 23 or minute > 59:
        return None
    return day, hour, minute


def parse_season(text: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The harvest season from "15/8 - 31/10"; raises :class:`RuleError` if unreadable."""
    window = parse_window(text, today)
    if window is None or window[0] == window[1]:
        raise RuleError(
            _("Chưa hiểu mùa vụ. Gõ theo dạng ngày bắt đầu - ngày kết thúc, ví dụ: 15/8 - 31/10.")
        )
    return window


def clean_text(text: str) -> str:
    body = text.strip()
    if not 10 <= len(body) <= MAX_TEXT:
        raise RuleError(_("Nội dung thông báo cần từ 10 đến 800 ký tự."))
    return body


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


def season_text(notice: NoticeInfo) -> str:
    if notice.season_from is None or notice.season_to is None:
        return _("cả năm")
    return f"{notice.season_from:%d/%m} – {notice.season_to:%d/%m}"


async def get_notice(uow: UnitOfWork, province_code: int, kind: str = GOUGING) -> NoticeInfo:
    """The province's notice, or the defaults (disabled) when none was saved yet."""
    found = await uow.notices.get(province_code, kind)
    if found is not None:
        return found
    return NoticeInfo(id=0, province_code=province_code, kind=kind, updated_by=None, **DEFAULTS)


async def change_notice(
    uow: UnitOfWork, official: dto.User, province_code: int, kind: str = GOUGING, **changes: Any
) -> NoticeInfo:
    """Save some settings of the province's notice, audited."""
    notice = await uow.notices.save(province_code, kind, DEFAULTS, updated_by=official.id, **changes)
    details = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in changes.items()}
    await uow.audit.add(official.id, "notice_change", f"{kind}:{province_code}", details=details)
    return notice


async def gouging_text(services: Services, uow: UnitOfWork, notice: NoticeInfo) -> str:
    """The notice as a trader or rep reads it, in the current locale: the rule, the province's
    reference prices and the officials to call (their phones are public for this purpose)."""
    province = services.places.provinces[notice.province_code].name
    body = notice.text or _(
        "Nghiêm cấm ép giá nông sản. Thương lái không được ép bà con bán thấp hơn giá tham chiếu; "
        "đơn mua thấp hơn giá tham chiếu quá {margin}% sẽ không được ghép tự động. "
        "Bà con gặp trường hợp ép giá hãy báo ngay cho cán bộ."
    ).format(margin=fmt.number(services.settings.gouging_margin * 100))
    lines = [_("📢 THÔNG BÁO CHỐNG ÉP GIÁ – {province}").format(province=province), body, ""]
    prices = await uow.prices.in_province(notice.province_code, services.clock.today())
    if prices:
        lines.append(_("Giá tham chiếu hiện nay:"))
        for p in prices:
            product = services.catalog.get(p.product_code)
            name = product.name_vi if product else p.product_code
            lines.append(f"• {name}: {fmt.price_per_kg(p.price)}")
    else:
        lines.append(_("Chưa có giá tham chiếu nào trong tỉnh."))
    officials = [o for o in await uow.users.with_role(("official",), notice.province_code) if o.registered]
    if officials:
        lines += ["", _("Liên hệ cán bộ khi bị ép giá:")]
        lines += [f"• {o.name} – {o.phone}" for o in officials]
    return "\n".join(lines)


async def send_due_notices(services: Services, kind: str = GOUGING) -> int:
    """Queue every enabled notice whose weekly time has come (in season, within the grace window)
    for the traders and reps of its province; a second run queues nothing new. Returns messages queued."""
    local_now = services.clock.local_now()
    queued = 0
    async with services.db.reader() as uow:
        notices = await uow.notices.enabled(kind)
    for notice in notices:
        due = last_occurrence(notice, local_now)
        if local_now - due > NOTICE_GRACE or not in_season(notice, due.date()):
            continue
        texts: dict[str, dict[str, Any]] = {}
        after_id = 0
        while True:
            # A page a transaction: a province of thousands never holds the writer for long.
            async with services.db.uow() as uow:
                page = await uow.users.audience_page(
                    after_id=after_id,
                    limit=_CHUNK,
                    roles=AUDIENCE,
                    province_code=notice.province_code,
                    muted_topic=left_topic(GOUGING_TOPIC),
                )
                if not page:
                    break
                rows = []
                for user_id, channel, chat_id, locale in page:
                    if locale not in texts:
                        with use_locale(locale):
                            texts[locale] = Reply(await gouging_text(services, uow, notice)).to_json()
                    rows.append(
                        {
                            "channel": channel,
                            "chat_id": chat_id,
                            "user_id": user_id,
                            "payload": texts[locale],
                            "dedupe_key": f"notice:{kind}:{notice.province_code}:{due.date().isoformat()}:{user_id}",
                        }
                    )
                queued += await uow.outbox.enqueue_many(rows)
            after_id = page[-1][0]
    if queued:
        services.wake_outbox()
    return queued
