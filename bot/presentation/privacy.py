"""What people are told about their personal data (Law 91/2025/QH15 and Decree 356/2025/ND-CP):
at registration before they consent, and when they ask to see or delete it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.events import Attachment
from bot.i18n import _
from bot.presentation.labels import deal_status_label, grade_label, role_label, status_label
from bot.reports.sheets import Sheet, xlsx_bytes
from bot.services.privacy import Erasure


def consent_text() -> str:
    """What is collected, why, who sees the phone and when, how long, and the person's rights."""
    return "\n".join(
        [
            _("Trước khi đăng ký, xin bạn đọc:"),
            _(
                "• Bot lưu: tên, số điện thoại, tỉnh và xã/phường, vai trò; với người bán có thể thêm tài "
                "khoản ngân hàng; các lô hàng, đơn mua, giao dịch của bạn."
            ),
            _(
                "• Để làm gì: kết nối người bán với người mua, hẹn giờ lấy hàng, thanh toán, thống kê giá cho cán bộ."
            ),
            _(
                "• Ai thấy số điện thoại: chỉ người mua/bán với bạn, và chỉ sau khi cả hai bên đồng ý một đơn; "
                "cán bộ tỉnh khi giải quyết tranh chấp hoặc báo ép giá."
            ),
            _(
                "• Bạn có quyền xem (/dulieu), sửa (/hoso) và xóa tài khoản (/xoataikhoan) bất cứ lúc nào; "
                "tin nhắn tạm lưu để xử lý được xóa sau 30 ngày."
            ),
            _("Bạn đồng ý để bot xử lý các thông tin này?"),
        ]
    )


def _kinds() -> dict[str, str]:
    return {
        "profile": _("Hồ sơ"),
        "accounts": _("Tài khoản nhắn tin"),
        "lots": _("Lô hàng"),
        "households": _("Hộ trong lô gộp"),
        "orders": _("Đơn mua"),
        "deals": _("Giao dịch"),
        "payouts": _("Phiếu chia tiền"),
        "subscriptions": _("Tin đã đăng ký"),
        "gouging_reports": _("Báo ép giá"),
        "audit": _("Nhật ký thao tác"),
    }


def my_data_summary(data: dict[str, list[dict[str, Any]]], messenger: Callable[[str], str] = str) -> str:
    """How many records of each kind the bot holds about the person (``messenger`` names a
    messenger account's channel)."""
    labels = _kinds()
    lines = [_("Bot đang lưu về bạn:")]
    for kind, rows in data.items():
        line = f"• {labels.get(kind, kind)}: {len(rows)}"
        if kind == "accounts" and rows:
            line += " (" + ", ".join(messenger(str(r["channel"])) for r in rows) + ")"
        lines.append(line)
    lines.append(_("Tệp đính kèm có đầy đủ nội dung. Sửa bằng /hoso, xóa tài khoản bằng /xoataikhoan."))
    return "\n".join(lines)


def my_data_file(data: dict[str, list[dict[str, Any]]]) -> Attachment:
    """The person's data as a workbook, one sheet per kind (typed text stays inert text)."""
    sheets = []
    names = _kinds()
    for kind, rows in data.items():
        headers = sorted({key for row in rows for key in row}) or ["—"]
        values = [[_cell(_word(kind, h, row.get(h))) for h in headers] for row in rows]
        sheets.append(Sheet(names.get(kind, kind)[:31], headers, values, [None] * len(headers)))
    return Attachment("du-lieu-cua-toi.xlsx", xlsx_bytes(sheets))


def _word(kind: str, key: str, value: Any) -> Any:
    """Codes as people read them: statuses, roles and grades in words (as in every export)."""
    if not isinstance(value, str):
        return value
    if key == "status":
        return deal_status_label(value) if kind in ("deals", "payouts") else status_label(value)
    if key == "role":
        return role_label(value)
    if key == "grade":
        return grade_label(value)
    return value


def _cell(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def erased_text(outcome: Erasure, in_progress: int) -> str:
    if outcome is Erasure.DEALS_IN_PROGRESS:
        return _(
            "Bạn còn {n} giao dịch đã chốt nhưng chưa thanh toán xong. Người mua/bán đang chờ: hãy hoàn tất "
            "(hoặc hủy) trước, rồi gõ /xoataikhoan lại."
        ).format(n=in_progress)
    return _(
        "Đã xóa tài khoản và thông tin cá nhân của bạn. Cảm ơn bạn đã dùng Nông Sản Bot. "
        "Nếu muốn dùng lại, gõ /start để đăng ký mới."
    )
