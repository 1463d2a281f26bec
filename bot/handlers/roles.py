"""Role names as people read them, and the check every privileged command makes."""

from __future__ import annotations

from bot.dialog import Ctx
from bot.i18n import _
from bot.services import audit
from bot.textnorm import fold

FARMER, COOP_REP, TRADER, OFFICIAL, ADMIN = "farmer", "coop_rep", "trader", "official", "admin"
STAFF = frozenset({OFFICIAL, ADMIN})
SUPPLIERS = frozenset({FARMER, COOP_REP})


def role_label(role: str | None) -> str:
    """The Vietnamese (or English) name of a role."""
    labels = {
        FARMER: _("Nông dân"),
        COOP_REP: _("Đại diện HTX"),
        TRADER: _("Thương lái"),
        OFFICIAL: _("Cán bộ"),
        ADMIN: _("Quản trị"),
    }
    return labels.get(role or "", _("Chưa đăng ký"))


_TYPED = {
    "farmer": FARMER,
    "nong dan": FARMER,
    "nong_dan": FARMER,
    "ho san xuat": FARMER,
    "coop_rep": COOP_REP,
    "htx": COOP_REP,
    "dai dien htx": COOP_REP,
    "hop tac xa": COOP_REP,
    "trader": TRADER,
    "thuong lai": TRADER,
    "thuong_lai": TRADER,
    "doanh nghiep": TRADER,
    "official": OFFICIAL,
    "can bo": OFFICIAL,
    "can_bo": OFFICIAL,
    "admin": ADMIN,
    "quan tri": ADMIN,
    "quan_tri": ADMIN,
}


def parse_role(text: str) -> str | None:
    """A role from what an admin typed: "official", "cán bộ", "can_bo"..."""
    return _TYPED.get(fold(text))


async def require_role(ctx: Ctx, roles: frozenset[str], action: str) -> bool:
    """True when the person holds one of ``roles`` now; otherwise a polite refusal.

    Refusals of staff-only actions are written to the audit log, registered person or not.
    """
    if ctx.user.role in roles:
        return True
    needed = ", ".join(role_label(r) for r in sorted(roles))
    ctx.say(_("Xin lỗi, chức năng này chỉ dành cho: {roles}.").format(roles=needed))
    await audit.refused(ctx.uow, ctx.user, action, roles)
    return False
