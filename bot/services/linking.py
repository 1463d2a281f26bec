"""One person, several messengers: an account joins a registered person with a one-time code sent
through that person's account; the person chooses where notifications go and may unlink an account.

The answers never tell whether a phone is registered: a request that reaches nobody is stored
like one that does (a code nobody can type), so it expires and counts wrong tries the same way.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from bot.domain_events import AccountLinked, AccountUnlinked, LinkCodeSent, emit
from storage import dto
from storage.uow import UnitOfWork

CODE_TTL = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5  # wrong tries that void a code
CODES_PER_HOUR = 3  # codes sent to one person in an hour, whoever asks
ASKED_PER_HOUR = 10  # codes one account may ask for in an hour: nobody goes through phone numbers
SECRET_NAME = "link_codes"
_KEEP_CODES = dt.timedelta(days=1)  # old codes only count towards the hourly limit


def _digest(secret: str, channel: str, external_id: str, code: str) -> str:
    """The stored form of a code: keyed to the app's secret and to the account that may type it."""
    message = f"{channel}:{external_id}:{code}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


async def accounts_of(uow: UnitOfWork, user: dto.User) -> list[dto.Account]:
    """The person's messenger accounts, the one used last first."""
    return await uow.accounts.of_user(user.id)


async def request_codes(
    uow: UnitOfWork, requester: dto.User, channel: str, external_id: str, phone: str, now: dt.datetime
) -> int:
    """Send a code to every other registered person with ``phone``, each through their own account
    (at most :data:`CODES_PER_HOUR` each); returns how many were sent, which is never shown."""
    secret = await uow.secrets.get_or_create(SECRET_NAME)
    await uow.accounts.prune_codes(now - _KEEP_CODES)
    hour_ago = now - dt.timedelta(hours=1)
    if await uow.accounts.asked_since(channel, external_id, hour_ago) >= ASKED_PER_HOUR:
        return 0  # the answer stays the same; the codes already asked for still work
    sent = 0
    for person in await uow.users.registered_with_phone(phone):
        if person.id == requester.id:
            continue
        if await uow.accounts.codes_sent_since(person.id, hour_ago) >= CODES_PER_HOUR:
            continue
        code = f"{secrets.randbelow(1_000_000):06d}"
        row = await uow.accounts.add_code(
            user_id=person.id,
            channel=channel,
            external_id=external_id,
            code_hash=_digest(secret, channel, external_id, code),
            expires_at=now + CODE_TTL,
            now=now,
        )
        await emit(uow, LinkCodeSent(row.id, code))
        sent += 1
    if not sent:  # nobody to send to: a request no code satisfies, answered the same way
        await uow.accounts.add_code(
            user_id=None,
            channel=channel,
            external_id=external_id,
            code_hash=secrets.token_hex(32),
            expires_at=now + CODE_TTL,
            now=now,
        )
    return sent


class CodeCheck(enum.StrEnum):
    RIGHT = "right"
    WRONG = "wrong"
    VOIDED = "voided"  # too many wrong tries: ask for a new code
    EXPIRED = "expired"
    NONE = "none"  # this account asked for no code


@dataclass(frozen=True, slots=True)
class Checked:
    result: CodeCheck
    person_id: int | None = None  # RIGHT: the person the code was sent to
    tries_left: int = 0  # WRONG


async def check_code(uow: UnitOfWork, channel: str, external_id: str, code: str, now: dt.datetime) -> Checked:
    """Is ``code`` one sent for this account? A right code is used up; a wrong one counts against
    every code the account is waiting for."""
    waiting = await uow.accounts.unused_codes(channel, external_id)
    live = [c for c in waiting if c.expires_at > now and c.attempts < MAX_ATTEMPTS]
    if not live:
        if not waiting:
            return Checked(CodeCheck.NONE)
        return Checked(CodeCheck.VOIDED if waiting[0].attempts >= MAX_ATTEMPTS else CodeCheck.EXPIRED)
    digest = _digest(await uow.secrets.get_or_create(SECRET_NAME), channel, external_id, code)
    for c in live:
        if (
            c.user_id is not None
            and hmac.compare_digest(c.code_hash, digest)
            and await uow.accounts.use_code(c.id, now)
        ):
            return Checked(CodeCheck.RIGHT, person_id=c.user_id)
    await uow.accounts.wrong_attempt([c.id for c in live])
    left = MAX_ATTEMPTS - 1 - max(c.attempts for c in live)
    return Checked(CodeCheck.VOIDED) if left <= 0 else Checked(CodeCheck.WRONG, tries_left=left)


class Linking(enum.StrEnum):
    LINKED = "linked"
    ROLES_DIFFER = "roles_differ"  # one person, one role: a trader cannot become a farmer's account
    ALREADY = "already"  # the account already belongs to that person
    GONE = "gone"  # the person erased their account (or was merged) since the code was sent


@dataclass(frozen=True, slots=True)
class Linked:
    result: Linking
    person: dto.User  # whom the account belongs to now
    merged_history: bool = False  # the account was registered on its own: its history joined
    other_role: str | None = None  # ROLES_DIFFER: the role of the person reached by the code


async def link(uow: UnitOfWork, channel: str, external_id: str, person_id: int, now: dt.datetime) -> Linked:
    """The account ``channel:external_id`` joins person ``person_id`` (whose code it typed); the
    person it belonged to so far is merged in (lots, orders, deals, messages...) and kept only as a
    tombstone. Refused when both have a role and the roles differ."""
    account = await uow.accounts.find(channel, external_id)
    requester = await uow.users.get(account.user_id) if account is not None else None
    assert account is not None and requester is not None, "the engine made the account of the writer"
    person = await uow.users.get(person_id)
    if person is None or not person.registered or person.merged_into is not None:
        return Linked(Linking.GONE, requester)
    if account.user_id == person.id:
        return Linked(Linking.ALREADY, person)
    if requester.role and person.role and requester.role != person.role:
        return Linked(Linking.ROLES_DIFFER, requester, other_role=person.role)
    joining = await uow.accounts.of_user(requester.id)
    await uow.accounts.merge_people(keep=person.id, drop=requester.id)
    for a in joining:
        await uow.conversations.clear(a.channel, a.chat_id)  # nothing half-done of the old person
        await uow.accounts.relinked(a.id, now)
    await uow.users.deliver(person.id, account.id, wrote=True)  # the account used last
    await uow.audit.add(
        person.id,
        "account_linked",
        account.key,
        details={"merged_user": requester.id, "was_registered": requester.registered},
    )
    await emit(uow, AccountLinked(person.id, account.id))
    stored = await uow.users.get(person.id)
    assert stored is not None
    return Linked(Linking.LINKED, stored, merged_history=requester.registered)


class Unlinking(enum.StrEnum):
    UNLINKED = "unlinked"
    NOT_YOURS = "not_yours"  # already unlinked, or someone else's
    LAST_ONE = "last_one"  # a person keeps at least one account (/xoataikhoan deletes it all)


async def unlink(
    uow: UnitOfWork, user: dto.User, account_id: int, acting: tuple[str, str]
) -> tuple[Unlinking, dto.Account | None]:
    """Take one account away from the person (``acting``: the account asking); its next message
    makes a new, unregistered person. Notifications move to another of their accounts."""
    account = await uow.accounts.get(account_id)
    if account is None or account.user_id != user.id:
        return Unlinking.NOT_YOURS, None
    accounts = await uow.accounts.of_user(user.id)
    if len(accounts) <= 1:
        return Unlinking.LAST_ONE, account
    await uow.accounts.remove(account.id, user.id)
    if user.notify_channel == account.channel and not any(
        a.channel == account.channel for a in accounts if a.id != account.id
    ):
        await uow.users.update(user.id, notify_channel=None)
    here = next((a for a in accounts if (a.channel, a.external_id) == acting and a.id != account.id), None)
    await uow.users.deliver(user.id, here.id if here else None)
    await uow.audit.add(user.id, "account_unlinked", account.key, details={"by": ":".join(acting)})
    await emit(uow, AccountUnlinked(user.id, account.channel, account.chat_id, tell=here is not None))
    return Unlinking.UNLINKED, account


async def notify_via(
    uow: UnitOfWork, user: dto.User, channel: str | None, acting: tuple[str, str]
) -> dto.User:
    """Notifications go to the person's account on ``channel`` from now on (None: wherever they
    wrote last); a messenger they have no account on changes nothing."""
    accounts = await uow.accounts.of_user(user.id)
    if channel is not None and channel not in {a.channel for a in accounts}:
        return user
    await uow.users.update(user.id, notify_channel=channel)
    here = next((a for a in accounts if (a.channel, a.external_id) == acting), None)
    await uow.users.deliver(user.id, here.id if here else None)
    stored = await uow.users.get(user.id)
    assert stored is not None
    return stored
