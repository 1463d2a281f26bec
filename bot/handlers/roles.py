"""Role names people type, and the refusal every privileged command or button gives (audited)."""

from __future__ import annotations

from bot.engine.context import Ctx
from bot.i18n import _
from bot.presentation.labels import ADMIN, COOP_REP, FARMER, OFFICIAL, TRADER, role_label
from bot.services import audit
from bot.textnorm import fold

__all__ = [
    "ADMIN",
    "COOP_REP",
    "FARMER",
    "OFFICIAL",
    "STAFF",
    "SUPPLIERS",
    "TRADER",
    "parse_role",
    "refuse",
    "require_role",
    "role_label",
]

STAFF = frozenset({OFFICIAL, ADMIN})
SUPPLIERS = frozenset({FARMER, COOP_REP})

_TYPED = {
    "farmer": FARMER, "nong dan": FARMER, "nong_dan": FARMER, "ho san xuat": FARMER,
    "coop_rep": COOP_REP, "htx": COOP_REP, "dai dien htx": COOP_REP, "hop tac xa": COOP_REP,
    "trader": TRADER, "thuong lai": TRADER, "thuong_lai": TRADER, "doanh nghiep": TRADER,
    "official": OFFICIAL, "can bo": OFFICIAL, "can_bo": OFFICIAL,
    "admin": ADMIN, "quan tri": ADMIN, "quan_tri": ADMIN,
}  # fmt: skip


def parse_role(text: str) -> str | None:
    """A role from what an admin typed: "official", "cán bộ", "can_bo"..."""
    return _TYPED.get(fold(text))


async def refuse(ctx: Ctx, roles: frozenset[str] | None, action: str) -> None:
    """A polite refusal naming who may; refusals of staff-only actions are audited, registered
    person or not."""
    if roles:
        needed = ", ".join(role_label(r) for r in sorted(roles))
        ctx.say(_("Xin lỗi, chức năng này chỉ dành cho: {roles}.").format(roles=needed))
        await audit.refused(ctx.uow, ctx.user, action, roles)
    else:
        ctx.say(_("Bạn cần đăng ký trước khi dùng chức năng này."))


async def require_role(ctx: Ctx, roles: frozenset[str], action: str) -> bool:
    """True when the person holds one of ``roles`` now; otherwise :func:`refuse` and False."""
    if ctx.user.role in roles:
        return True
    await refuse(ctx, roles, action)
    return False
