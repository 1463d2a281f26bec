"""A person's details as they see them in /hoso."""

from __future__ import annotations

from bot import formatting as fmt
from bot.engine.context import Ctx
from bot.i18n import _
from bot.presentation.labels import COOP_REP, role_label
from bot.services import vietqr


async def profile_text(ctx: Ctx) -> str:
    """What the bot holds about the person, and the question which to change."""
    user = ctx.user
    ward = ctx.services.places.ward(user.ward_code) if user.ward_code else None
    bank = vietqr.bank_by_bin(user.bank_bin) if user.bank_bin else None
    lines = [
        _("Hồ sơ của bạn:"),
        _("• Tên: {name}").format(name=user.name or "—"),
        _("• Vai trò: {role}").format(role=role_label(user.role)),
        _("• Số điện thoại: {phone}").format(phone=user.phone or "—"),
        _("• Nơi ở: {place}").format(place=ward.label if ward else "—"),
        _("• Tài khoản ngân hàng: {bank}").format(
            bank=f"{bank.short_name} {user.bank_account}" if bank and user.bank_account else _("chưa có")
        ),
    ]
    if user.role == COOP_REP:
        lines.append(_("• Phí HTX: {fee}%").format(fee=fmt.number(user.coop_fee_pct)))
    if ctx.flow:
        lines.append(_("Bạn muốn sửa mục nào?"))
    return "\n".join(lines)
