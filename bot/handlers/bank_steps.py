"""The "which bank, which account?" questions (registration and /hoso): sellers are paid by VietQR."""

from __future__ import annotations

from bot.engine.context import Ctx
from bot.engine.widgets import SKIP, Choice, Select, TextInput
from bot.i18n import _, lazy_gettext
from bot.services import vietqr

NO_BANK = "none"


def _banks(_ctx: Ctx) -> list[Choice]:
    popular = [b for code in vietqr.POPULAR_BINS if (b := vietqr.bank_by_bin(code))]
    return [Choice(b.short_name, b.bin) for b in popular]


def _read_bank(_ctx: Ctx, text: str) -> str | None:
    bank = vietqr.find_bank(text)
    return bank.bin if bank else None


def bank_select(*, skippable: bool) -> Select:
    """Popular banks as options, any bank typed by name; "Bỏ qua" when it is optional."""
    extra = [Choice(_("Bỏ qua"), NO_BANK, ("bo qua", "khong co", "khong"))] if skippable else []
    return Select(
        lazy_gettext(
            "Tài khoản ngân hàng để nhận tiền hàng (thương lái quét mã VietQR để trả đúng số tiền). Ngân hàng nào? Chọn hoặc gõ tên."
        ),
        _banks,
        read=_read_bank,
        invalid=lazy_gettext("Không tìm thấy ngân hàng đó. Gõ tên ngắn, ví dụ: Agribank, Vietcombank, BIDV."),
        extra=extra,
    )


def account_input() -> TextInput:
    return TextInput(
        lazy_gettext("Số tài khoản?"),
        lambda _ctx, text: vietqr.read_account(text),
        lazy_gettext("Số tài khoản cần 6–19 chữ số."),
    )


def has_bank(ctx: Ctx) -> bool:
    return bool(ctx.answers.get("bank_bin")) and ctx.answers.get("bank_bin") != NO_BANK


__all__ = ["NO_BANK", "SKIP", "account_input", "bank_select", "has_bank"]
