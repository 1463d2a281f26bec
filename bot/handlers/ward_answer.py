"""Reading a ward from an answer: a pressed ward button, or a typed name searched in one province.

Used by every step that asks "which xã/phường?" (registration, collection points).
"""

from __future__ import annotations

import enum

from bot.dialog import Ctx
from bot.places import Place


class WardAnswer(enum.Enum):
    SEVERAL = "several"  # several wards match: their codes are remembered as ``ward_candidates``
    UNKNOWN = "unknown"  # nothing in this province matches


def read_ward(ctx: Ctx, province_code: int) -> Place | WardAnswer:
    """The ward the person picked or typed, inside ``province_code``."""
    places = ctx.services.places
    payload = ctx.payload or ""
    code: int | None = None
    if payload.startswith("ward:"):
        code = int(payload.removeprefix("ward:"))
    elif ctx.text:
        found = places.find_wards(ctx.text, province_code)
        if len(found) > 1:
            ctx.remember(ward_candidates=[p.ward_code for p in found])
            return WardAnswer.SEVERAL
        code = found[0].ward_code if found else None
    ctx.remember(ward_candidates=None)
    ward = places.ward(code) if code is not None else None
    if ward is None or ward.ward_code is None or ward.province_code != province_code:
        return WardAnswer.UNKNOWN
    return ward
