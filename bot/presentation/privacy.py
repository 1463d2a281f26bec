"""What people are told about their personal data (Law 91/2025/QH15 and Decree 356/2025/ND-CP):
at registration before they consent, and when they ask to see or delete it."""

from __future__ import annotations

from bot.i18n import _


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
