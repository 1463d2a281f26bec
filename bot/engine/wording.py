"""Texts whose words depend on what the messenger can do: "bấm" where there are buttons,
"trả lời bằng số" where options come as numbered lines. Flows may use these too."""

from __future__ import annotations

from bot.events import Capabilities
from bot.i18n import _


def only_reads(caps: Capabilities) -> str:
    """What the bot can read, said when someone sends a sticker, a voice message, a photo..."""
    if caps.buttons:
        return _("Xin lỗi, tôi chỉ đọc được tin nhắn chữ, nút bấm, số điện thoại và vị trí.")
    return _("Xin lỗi, tôi chỉ đọc được tin nhắn chữ. Hãy gõ câu trả lời, hoặc số của mục bạn chọn.")


def option_gone(caps: Capabilities) -> str:
    """An option (a button, or a numbered line answered by its number) that no longer works."""
    if caps.buttons:
        return _("Nút này không còn dùng được.")
    return _("Mục này không còn dùng được.")


def confirm_edit_or_cancel(caps: Capabilities) -> str:
    """The summary step did not understand: it waits for Xác nhận, Sửa or Hủy."""
    if caps.buttons:
        return _("Vui lòng bấm Xác nhận, Sửa hoặc Hủy.")
    return _("Vui lòng trả lời bằng số, hoặc gõ Xác nhận, Sửa hoặc Hủy.")
