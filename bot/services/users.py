"""Rules about people: phone numbers, names, registration, role grants."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bot.parsing import answers
from bot.textnorm import nfc
from storage import dto
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
