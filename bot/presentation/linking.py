"""One person on several messengers, as people see it: the code sent through the registered account,
the linked accounts and where notifications go (/lienket), and the security notices."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import formatting as fmt
from bot.domain_events import AccountLinked, AccountUnlinked, LinkCodeSent
from bot.engine.actions import Action, action
from bot.engine.screens import Option, Screen
from bot.i18n import _, use_locale
from bot.presentation.labels import role_label
from bot.presentation.notifications import renders
from bot.presentation.notify import notify
from bot.services.linking import CODE_TTL, MAX_ATTEMPTS, Linked, Linking, Unlinking
from bot.textnorm import fold
from storage import dto

if TYPE_CHECKING:
    from bot.services.container import Services
    from storage.uow import UnitOfWork

MINUTES = int(CODE_TTL.total_seconds() // 60)


@action("lkv")
@dataclass(frozen=True, slots=True)
class NotifyVia(Action):
    """Notifications go to the person's account on ``channel`` ("": where they wrote last)."""

    channel: str


@action("lku")
@dataclass(frozen=True, slots=True)
class Unlink(Action):
    account_id: int
    sure: bool


@action("lkk")
@dataclass(frozen=True, slots=True)
class KeepAccounts(Action):
    pass


@action("lkn")
@dataclass(frozen=True, slots=True)
class LinkAnother(Action):
    """Link this person's account to another registered person (from the accounts screen)."""


def messenger(services: Services, channel: str) -> str:
    """How people call the messenger of ``channel``."""
    caps = services.messengers.get(channel)
    return caps.display_name if caps is not None else channel


def _labels(services: Services, accounts: list[dto.Account]) -> dict[int, str]:
    """A name per account: the messenger, numbered when the person has two on the same one."""
    names = {a.id: messenger(services, a.channel) for a in accounts}
    seen: dict[str, int] = {}
    for a in sorted(accounts, key=lambda a: a.id):
        seen[a.channel] = seen.get(a.channel, 0) + 1
        if sum(1 for b in accounts if b.channel == a.channel) > 1:
            names[a.id] = f"{names[a.id]} {seen[a.channel]}"
    return names


# --- starting a link ---------------------------------------------------------------------------


def link_intro(services: Services, here: str) -> str:
    """What linking does, said before the phone is asked (``here``: this account's messenger)."""
    others = [c.display_name for ch, c in services.messengers.items() if ch != here and c.public]
    return _(
        "Liên kết tài khoản {here} này với tài khoản bạn đã đăng ký trên ứng dụng khác ({others}): "
        "một người, một hồ sơ, một lịch sử. Bot sẽ gửi mã 6 số qua tài khoản đã đăng ký; bạn gõ mã đó ở đây."
    ).format(here=messenger(services, here), others=", ".join(others) or "—")


def codes_sent_text() -> str:
    # The same words whether or not the phone is registered: nobody learns who uses the bot.
    return _(
        "Nếu số này đã đăng ký, mã liên kết vừa được gửi tới tài khoản đó (có hiệu lực {minutes} phút)."
    ).format(minutes=MINUTES)


def code_question() -> str:
    return _("Gõ mã 6 số bạn nhận được ở tài khoản đã đăng ký.")


def code_invalid_text() -> str:
    return _("Mã gồm 6 chữ số, ví dụ 123456.")


def wrong_code_text(tries_left: int) -> str:
    return _("Mã không đúng. Bạn còn {n} lần thử.").format(n=tries_left)


def voided_text() -> str:
    return _("Bạn đã nhập sai {n} lần nên mã đã bị hủy. Gõ /lienket để nhận mã mới.").format(n=MAX_ATTEMPTS)


def expired_text() -> str:
    return _("Mã đã hết hạn. Chọn «Gửi lại mã» để nhận mã mới.")


def no_code_text() -> str:
    return _("Không có mã liên kết nào đang chờ cho tài khoản này. Gõ /lienket để nhận mã.")


def linked_text(services: Services, here: str, outcome: Linked) -> str:
    """The answer to the account that typed the code."""
    person = outcome.person
    if outcome.result is Linking.ROLES_DIFFER:
        return _(
            "Không liên kết được: tài khoản này là {mine}, tài khoản kia là {other}. Mỗi người chỉ có một "
            "vai trò; nếu cần đổi, hãy liên hệ quản trị viên."
        ).format(mine=role_label(person.role), other=role_label(outcome.other_role))
    if outcome.result is Linking.ALREADY:
        return _("Tài khoản này đã được liên kết với {name} rồi.").format(name=person.name or "—")
    if outcome.result is Linking.GONE:
        return _("Tài khoản kia không còn nữa. Không có gì thay đổi.")
    lines = [
        _(
            "Đã liên kết! Tài khoản {here} này giờ là tài khoản của {name} ({role}): chung hồ sơ, lô hàng, "
            "đơn mua và lịch sử."
        ).format(here=messenger(services, here), name=person.name or "—", role=role_label(person.role))
    ]
    if outcome.merged_history:
        lines.append(_("Những gì tài khoản này đã làm trước đây cũng được gộp vào."))
    lines.append(_("Thông báo gửi tới nơi bạn nhắn gần nhất; đổi bằng /lienket."))
    return "\n".join(lines)


# --- the accounts of a person ------------------------------------------------------------------


def accounts_screen(services: Services, user: dto.User, accounts: list[dto.Account]) -> Screen:
    """The person's accounts, where notifications go, and what they can change."""
    names = _labels(services, accounts)
    tz = services.settings.tz
    lines = [_("Tài khoản của {name} dùng được trên:").format(name=user.name or "—")]
    for a in accounts:
        lines.append(
            _("• {account}: nhắn lần cuối {when}").format(
                account=names[a.id], when=fmt.datetime(a.last_seen_at.astimezone(tz))
            )
        )
    if user.notify_channel is None:
        where = _("nơi bạn nhắn gần nhất ({account})").format(account=messenger(services, user.channel))
    else:
        where = messenger(services, user.notify_channel)
    lines.append(_("Thông báo gửi tới: {where}.").format(where=where))
    options: list[Option] = []
    if user.notify_channel is not None:
        options.append(
            Option(_("🔔 Nơi nhắn gần nhất"), NotifyVia(""), ("gan nhat", "noi nhan gan nhat", "tu dong"))
        )
    for channel in dict.fromkeys(a.channel for a in accounts):
        if channel != user.notify_channel:
            name = messenger(services, channel)
            options.append(
                Option(
                    _("🔔 Luôn qua {messenger}").format(messenger=name),
                    NotifyVia(channel),
                    (f"qua {fold(name)}", f"luon qua {fold(name)}", f"thong bao qua {fold(name)}"),
                )
            )
    if len(accounts) > 1:
        for a in accounts:
            options.append(
                Option(
                    _("✂️ Bỏ liên kết {account}").format(account=names[a.id]),
                    Unlink(a.id, False),
                    (f"bo lien ket {fold(names[a.id])}", f"bo {fold(names[a.id])}"),
                )
            )
    options.append(Option(_("🔗 Liên kết với tài khoản khác"), LinkAnother(), ("lien ket khac",)))
    return Screen("\n".join(lines), tuple(options))


def notify_set_text(services: Services, user: dto.User) -> str:
    if user.notify_channel is None:
        return _("Từ nay thông báo gửi tới nơi bạn nhắn gần nhất.")
    return _("Từ nay thông báo luôn gửi qua {messenger}.").format(
        messenger=messenger(services, user.notify_channel)
    )


def unlink_question(services: Services, account: dto.Account) -> Screen:
    name = messenger(services, account.channel)
    return Screen(
        _(
            "Bỏ liên kết tài khoản {messenger}? Tài khoản đó sẽ không còn dùng chung hồ sơ, lô hàng, đơn mua và "
            "thông báo của bạn; muốn dùng lại phải liên kết lại."
        ).format(messenger=name),
        (
            Option(
                _("✂️ Bỏ liên kết"),
                Unlink(account.id, True),
                ("bo lien ket", "dong y", "ok", "co", "xac nhan"),
            ),
            Option(_("Thôi, giữ lại"), KeepAccounts(), ("thoi", "khong", "giu lai")),
        ),
        columns=2,
    )


def unlinked_text(services: Services, outcome: Unlinking, account: dto.Account | None) -> str:
    if outcome is Unlinking.LAST_ONE:
        return _(
            "Đây là tài khoản duy nhất của bạn nên không bỏ liên kết được. Muốn xóa hẳn, gõ /xoataikhoan."
        )
    if outcome is Unlinking.NOT_YOURS or account is None:
        return _("Tài khoản đó không còn liên kết với bạn.")
    return _(
        "Đã bỏ liên kết tài khoản {messenger}. Tin nhắn tiếp theo từ tài khoản đó sẽ là của một người dùng "
        "mới, chưa đăng ký."
    ).format(messenger=messenger(services, account.channel))


def kept_text() -> str:
    return _("Đã giữ nguyên các liên kết.")


# --- what the registered account is told --------------------------------------------------------


@renders(LinkCodeSent)
async def on_code(uow: UnitOfWork, services: Services, ev: LinkCodeSent) -> None:
    row = await uow.accounts.code(ev.code_id)
    if row is None or row.user_id is None or row.used_at is not None:
        return
    person = await uow.users.get(row.user_id)
    if person is None:
        return
    name = messenger(services, row.requested_by_channel)
    with use_locale(person.locale):
        screen = Screen(
            _(
                "🔐 Mã liên kết tài khoản: {code}\n"
                "Có người muốn dùng một tài khoản {messenger} làm tài khoản của bạn trên bot. Nếu là bạn, gõ mã "
                "này ở {messenger} trong {minutes} phút.\n"
                "Nếu không phải bạn, hãy bỏ qua tin này và đừng đưa mã cho ai."
            ).format(code=ev.code, messenger=name, minutes=MINUTES)
        )
    await notify(uow, services, person, screen, dedupe_key=f"link-code:{row.id}")


@renders(AccountLinked)
async def on_linked(uow: UnitOfWork, services: Services, ev: AccountLinked) -> None:
    person = await uow.users.get(ev.user_id)
    if person is None:
        return
    accounts = await uow.accounts.of_user(person.id)
    joined = next((a for a in accounts if a.id == ev.account_id), None)
    if joined is None:
        return
    for a in accounts:
        if a.id == joined.id:
            continue
        with use_locale(person.locale):
            screen = Screen(
                _(
                    "🔐 Tài khoản {messenger} vừa được liên kết với tài khoản của bạn: từ nay dùng chung hồ sơ, "
                    "lô hàng, đơn mua và lịch sử. Nếu không phải bạn làm, gõ /lienket để bỏ liên kết ngay."
                ).format(messenger=messenger(services, joined.channel))
            )
        here = dataclasses.replace(person, channel=a.channel, chat_id=a.chat_id)
        await notify(uow, services, here, screen, dedupe_key=f"linked:{joined.id}:{a.id}")


@renders(AccountUnlinked)
async def on_unlinked(uow: UnitOfWork, services: Services, ev: AccountUnlinked) -> None:
    person = await uow.users.get(ev.user_id)
    if person is None or not ev.tell:
        return
    with use_locale(person.locale):
        screen = Screen(
            _(
                "Tài khoản {messenger} này đã được bỏ liên kết khỏi tài khoản của {name}. Tin nhắn tiếp theo ở "
                "đây sẽ bắt đầu như một người dùng mới."
            ).format(messenger=messenger(services, ev.channel), name=person.name or "—")
        )
    there = dataclasses.replace(person, channel=ev.channel, chat_id=ev.chat_id, bot_blocked=False)
    await notify(uow, services, there, screen)
