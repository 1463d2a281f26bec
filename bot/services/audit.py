"""What goes into the audit log besides the privileged actions themselves: the refusals."""

from __future__ import annotations

from collections.abc import Collection

from storage import dto
from storage.uow import UnitOfWork

# Roles whose actions are privileged: a refusal of one of their actions is a security event.
PRIVILEGED_ROLES = frozenset({"official", "admin"})


async def refused(uow: UnitOfWork, user: dto.User, action: str, needed: Collection[str]) -> bool:
    """Audit that ``user`` was refused ``action`` (registered or not) when only staff may do it; True if audited."""
    if not needed or not set(needed) <= PRIVILEGED_ROLES:
        return False
    await uow.audit.add(
        user.id,
        action,
        None,
        allowed=False,
        details={"role": user.role, "registered": user.registered, "needed": sorted(needed)},
    )
    return True
