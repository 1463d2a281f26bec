"""Rules about people: phone numbers, names, registration, finding them, role grants and bans."""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass

from bot.domain_events import RoleGranted, emit
from bot.parsing import answers
from bot.textnorm import nfc
from storage import dto
from storage.types import bounded_int
from storage.uow import UnitOfWork

STAFF_ROLES = frozenset({"official", "admin"})
_NAME = re.compile(r"^[^\d/@#<>{}\[\]\\|]{2,60}$")


def normalize_phone(raw: str) -> str | None:
    """A Vietnamese mobile number as 0XXXXXXXXX, from "+84 912 345 678", "0912.345.678"...; None if invalid."""
    return answers.read_phone(raw)


def clean_name(raw: str) -> str | None:
    """A person's or household's name, tidied; None when it does not look like a name."""
    name = " ".join(nfc(raw).split())
    return name if _NAME.match(name) else None


def mask_phone(phone: str | None) -> str:
    """0912***678: enough to recognise, not enough to misuse (for non-admin eyes and logs)."""
    if not phone or len(phone) < 7:
        return "—"
    return f"{phone[:4]}***{phone[-3:]}"


@dataclass(frozen=True, slots=True)
class Registered:
    """Registration done: the person as stored, and the role a waiting grant gave them (if any)."""

    user: dto.User
    granted_role: str | None


async def register(
    uow: UnitOfWork,
    user: dto.User,
    *,
    name: str,
    phone: str,
    role: str,
    province_code: int,
    ward_code: int,
    now: dt.datetime,
) -> Registered:
    """Register ``user``; a role already granted (to them, or to their phone) is kept, never downgraded."""
    grant = await uow.grants.take(phone)
    final = grant.role if grant else (user.role if user.role in STAFF_ROLES else role)
    await uow.users.register(
        user.id, name=name, phone=phone, role=final, province_code=province_code, ward_code=ward_code, now=now
    )
    if grant is not None:
        await uow.audit.add(
            grant.granted_by,
            "grant_role_applied",
            user.key,
            details={"role": grant.role, "phone": mask_phone(phone)},
        )
    stored = await uow.users.get(user.id)
    assert stored is not None
    return Registered(stored, grant.role if grant else None)


# --- finding people and granting roles (admins) -----------------------------------------------

_ID_SEPARATORS = re.compile(r"[\s.#]")
MAX_EXTERNAL_ID = 64  # the column's length


class NotFound(enum.StrEnum):
    NOBODY = "nobody"  # nobody answers to this reference
    TOO_LONG = "too_long"  # a number longer than any id or phone: certainly a typing slip


@dataclass(frozen=True, slots=True)
class Found:
    """Who a reference names: one person, several sharing a phone, or nobody yet with that phone."""

    people: list[dto.User]
    phone: str | None = None


async def find_people(uow: UnitOfWork, ref: str) -> Found | NotFound:
    """The people ``ref`` names: ``channel:id``, a phone in any usual form ("0912 345 678",
    "0912.345.678", "+84 912 345 678", "84912345678") or an internal id."""
    ref = ref.strip()
    channel, sep, external = ref.partition(":")
    if sep and channel.strip().isalpha():
        external = external.strip()
        if len(external) > MAX_EXTERNAL_ID:
            return NotFound.TOO_LONG
        user = await uow.users.by_external(channel.strip().lower(), external)
        return Found([user]) if user else NotFound.NOBODY
    if (phone := answers.read_phone(ref)) is not None:
        return Found(await uow.users.with_phone(phone), phone)
    digits = _ID_SEPARATORS.sub("", ref)
    if not digits.isascii() or not digits.isdigit():
        return NotFound.NOBODY
    user_id = bounded_int(digits)
    if user_id is None:
        return NotFound.TOO_LONG
    user = await uow.users.get(user_id)
    return Found([user]) if user else NotFound.NOBODY


async def people(uow: UnitOfWork, ids: list[int]) -> list[dto.User]:
    """These people, in the order given (the ones that still exist)."""
    found = await uow.users.by_ids(ids)
    return [found[i] for i in ids if i in found]


@dataclass(frozen=True, slots=True)
class RoleGrant:
    """Give ``role`` to the person ``user_id``, or to whoever has (or registers with) ``phone``."""

    role: str
    user_id: int | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class Granted:
    user: dto.User
    previous: str | None


@dataclass(frozen=True, slots=True)
class Waiting:
    """Nobody has registered with the phone yet: the role is given when someone does."""

    phone: str


class NotGranted(enum.StrEnum):
    NOBODY = "nobody"
    SEVERAL = "several"  # the phone is shared: which person must be said


async def grant_role(uow: UnitOfWork, actor: dto.User, grant: RoleGrant) -> Granted | Waiting | NotGranted:
    """Grant a role now, or keep it for the phone's registration; audited either way."""
    if grant.user_id is None and grant.phone is not None:
        holders = await uow.users.with_phone(grant.phone)
        if len(holders) > 1:
            return NotGranted.SEVERAL
        if not holders:
            await uow.grants.put(grant.phone, grant.role, actor.id)
            await uow.audit.add(
                actor.id, "grant_role_pending", f"phone:{mask_phone(grant.phone)}", details={"to": grant.role}
            )
            return Waiting(grant.phone)
        grant = RoleGrant(grant.role, holders[0].id)
    target = await uow.users.get(grant.user_id) if grant.user_id is not None else None
    if target is None:
        return NotGranted.NOBODY
    await uow.users.update(target.id, role=grant.role)
    await uow.audit.add(actor.id, "grant_role", target.key, details={"from": target.role, "to": grant.role})
    await emit(uow, RoleGranted(target.id, grant.role))
    updated = await uow.users.get(target.id)
    assert updated is not None
    return Granted(updated, target.role)


class NotBanned(enum.StrEnum):
    NOBODY = "nobody"
    SELF = "self"


async def set_banned(uow: UnitOfWork, actor: dto.User, user_id: int, banned: bool) -> dto.User | NotBanned:
    """Block (or unblock) a person: nothing they send is handled any more; audited."""
    target = await uow.users.get(user_id)
    if target is None:
        return NotBanned.NOBODY
    if target.id == actor.id:
        return NotBanned.SELF
    await uow.users.update(target.id, banned=banned)
    await uow.audit.add(actor.id, "ban_user" if banned else "unban_user", target.key)
    return target
