"""A person's own details (/hoso): name, phone, place, the bank account they are paid to, and a
cooperative's fee on its households' proceeds."""

from __future__ import annotations

from typing import Any

from bot.services.vietqr import bank_by_bin, read_account
from storage import dto
from storage.uow import UnitOfWork

MAX_COOP_FEE_PCT = 30.0


class ProfileError(ValueError):
    """A value that cannot be saved; ``message`` explains it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def update(uow: UnitOfWork, user: dto.User, **changes: Any) -> dto.User:
    """Save the changed fields (name, phone, province_code, ward_code, bank_bin, bank_account,
    coop_fee_pct, locale); returns the person as stored. Values are already read and checked by the flow;
    the rules that hold whatever asks are checked again here."""
    allowed = {
        "name", "phone", "province_code", "ward_code", "bank_bin", "bank_account", "coop_fee_pct", "locale"
    }  # fmt: skip
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not a profile field: {sorted(unknown)}")
    if changes.get("bank_bin") and bank_by_bin(str(changes["bank_bin"])) is None:
        raise ValueError("unknown bank")
    if changes.get("bank_account") and read_account(str(changes["bank_account"])) is None:
        raise ValueError("bad account number")
    fee = changes.get("coop_fee_pct")
    if fee is not None and not 0 <= float(fee) <= MAX_COOP_FEE_PCT:
        raise ValueError("coop fee out of range")
    if changes:
        await uow.users.update(user.id, **changes)
        await uow.events.record("user", user.id, user.id, "profile_changed", {"fields": sorted(changes)})
    stored = await uow.users.get(user.id)
    assert stored is not None
    return stored
