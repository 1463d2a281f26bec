"""VietQR: the NAPAS EMVCo payment code a banking app scans to pay an exact amount to an account.

The payload (bank BIN, account, amount, purpose, CRC) comes from ``vietnam-qr-pay``, which also
knows the banks and their BINs; ``segno`` draws it as a PNG. No network is involved.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import segno
from vietnam_qr_pay import BanksObject, QRPay

from bot.textnorm import fold

_ACCOUNT = re.compile(r"^[0-9A-Za-z]{6,19}$")


@dataclass(frozen=True, slots=True)
class Bank:
    bin: str
    short_name: str
    name: str


def banks() -> list[Bank]:
    """Banks that take VietQR transfers, by short name."""
    found = [
        Bank(b.bin, b.short_name, b.name)
        for b in BanksObject.values()
        if b.bin and not getattr(b, "deprecated", None)
    ]
    return sorted(found, key=lambda b: b.short_name)


# The banks most farmers and traders use, offered first.
POPULAR_BINS = (
    "970405",
    "970436",
    "970415",
    "970418",
    "970422",
    "970407",
)  # Agribank, VCB, CTG, BIDV, MB, TCB


def find_bank(text: str) -> Bank | None:
    """A bank from what a person typed: its short name, full name, a keyword or its BIN."""
    key = fold(text).replace(" ", "")
    if not key:
        return None
    for b in BanksObject.values():
        names = {fold(b.short_name).replace(" ", ""), fold(b.key.value), fold(b.code.value)}
        names |= {fold(k).replace(" ", "") for k in (b.keywords or "").split(",") if k.strip()}
        if key == b.bin or key in names:
            return Bank(b.bin, b.short_name, b.name)
    return None


def bank_by_bin(bin_code: str) -> Bank | None:
    return next((b for b in banks() if b.bin == bin_code), None)


def read_account(text: str) -> str | None:
    """An account number as typed ("1903 2345 6789 01"): 6–19 letters or digits."""
    account = re.sub(r"[\s.\-]", "", text)
    return account if _ACCOUNT.match(account) else None


def payload(bin_code: str, account: str, amount_vnd: int, purpose: str) -> str:
    """The EMVCo string of a VietQR transfer of exactly ``amount_vnd`` with ``purpose`` (≤ 25 chars)."""
    purpose = re.sub(r"[^0-9A-Za-z ]", "", fold(purpose).upper())[:25]
    code = QRPay.init_viet_qr(bank_bin=bin_code, bank_number=account, amount=str(amount_vnd), purpose=purpose)
    return str(code.build())


def png(data: str, scale: int = 6) -> bytes:
    """``data`` drawn as a QR code PNG (medium error correction, a quiet border)."""
    out = io.BytesIO()
    segno.make(data, error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
