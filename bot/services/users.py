"""Rules about people: phone numbers, names, registration, role grants."""

from __future__ import annotations

import re

from bot.textnorm import nfc

# Vietnamese mobile prefixes after the 2018 renumbering: 03x, 05x, 07x, 08x, 09x.
_MOBILE = re.compile(r"^0[35789]\d{8}$")
_NAME = re.compile(r"^[^\d/@#<>{}\[\]\\|]{2,60}$")


def normalize_phone(raw: str) -> str | None:
    """A Vietnamese mobile number as 0XXXXXXXXX, from "+84 912 345 678", "0912.345.678"...; None if invalid."""
    digits = re.sub(r"[\s.\-()]", "", raw.strip())
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits if _MOBILE.match(digits) else None


def clean_name(raw: str) -> str | None:
    """A person's or household's name, tidied; None when it does not look like a name."""
    name = " ".join(nfc(raw).split())
    return name if _NAME.match(name) else None


def mask_phone(phone: str | None) -> str:
    """0912***678: enough to recognise, not enough to misuse (for non-admin eyes and logs)."""
    if not phone or len(phone) < 7:
        return "—"
    return f"{phone[:4]}***{phone[-3:]}"
