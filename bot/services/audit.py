"""What goes into the audit log besides the privileged actions themselves (the refusals), and reading it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

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


async def viewed(uow: UnitOfWork, user: dto.User, what: str, details: dict[str, object]) -> None:
    """Audit that staff read aggregated data (a report, a chart): who looked at what, when."""
    await uow.audit.add(user.id, what, None, details=details)


@dataclass(frozen=True, slots=True)
class LogPage:
    """One page of the audit log, newest first, with the names of the people in it."""

    entries: list[dto.AuditEntry]
    names: dict[int, str]
    more: bool


async def log_page(uow: UnitOfWork, page: int, size: int) -> LogPage:
    """Entries ``page * size`` to ``page * size + size`` counted from the newest."""
    rows = await uow.audit.recent(limit=size + 1, offset=max(page, 0) * size)
    entries = rows[:size]
    people = await uow.users.by_ids(sorted({e.actor_id for e in entries if e.actor_id is not None}))
    names = {i: (u.name or u.key) for i, u in people.items()}
    for e in entries:
        if e.actor_id is not None and e.actor_id not in names:
            names[e.actor_id] = f"#{e.actor_id}"
    return LogPage(entries, names, len(rows) > size)
