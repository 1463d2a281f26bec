"""Buttons as numbered lines, for messengers without buttons (Zalo) and the local console."""

from __future__ import annotations

from bot.events import Reply, Request
from bot.i18n import _


def options_lines(reply: Reply, *, indent: str = "") -> list[str]:
    """The lines that stand in for a reply's buttons or share request (empty when it has none).

    Options are numbered in the order typed numbers are read back (``Reply.menu``): only those
    that answer something. A share request's own button (the first choice, without a payload)
    becomes a line saying what to type, and the other options follow it numbered.
    """
    lines: list[str] = []
    choices = reply.choices
    if reply.request is Request.PHONE:
        # The first choice only labels a share button; typing the number is the way here.
        lines.append(_("(Gõ số điện thoại của bạn)"))
        choices = choices[1:]
    elif reply.request is Request.LOCATION:
        lines.append(_("(Gõ địa chỉ, hoặc bỏ qua)"))
        choices = choices[1:]
    choices = tuple(c for c in choices if c.payload)
    if not choices:
        return lines
    lines += [f"{indent}{i}. {c.label}" for i, c in enumerate(choices, 1)]
    if len(choices) == 1:
        lines.append(_("Trả lời 1 hoặc gõ tên mục."))
    else:
        lines.append(_("Trả lời bằng số (1–{n}) hoặc gõ tên mục.").format(n=len(choices)))
    return lines
