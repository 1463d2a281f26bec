"""Buttons as numbered lines, for messengers without buttons (Zalo) and the local console."""

from __future__ import annotations

from bot.events import Reply, Request
from bot.i18n import _


def options_lines(reply: Reply, *, indent: str = "") -> list[str]:
    """The lines that stand in for a reply's buttons or share request (empty when it has none)."""
    if reply.request is Request.PHONE:
        # The first choice only labels Telegram's share button; typing the number is the way here.
        return [_("(Gõ số điện thoại của bạn)")]
    if reply.request is Request.LOCATION:
        return [_("(Gõ địa chỉ, hoặc bỏ qua)")]
    if not reply.choices:
        return []
    lines = [f"{indent}{i}. {c.label}" for i, c in enumerate(reply.choices, 1)]
    if len(reply.choices) == 1:
        lines.append(_("Trả lời 1 hoặc gõ tên mục."))
    else:
        lines.append(_("Trả lời bằng số (1–{n}) hoặc gõ tên mục.").format(n=len(reply.choices)))
    return lines
