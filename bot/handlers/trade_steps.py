"""Steps the lot and order flows share: product, quantity, window, certificates, household shares,
the summary with "Xác nhận / Sửa / Hủy", and the labels those screens use.

A flow keeps its answers in ``ctx.data`` (JSON only: dates as ISO strings) and, after every
answer, moves to the first step still unanswered, which is the summary once all are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from bot import formatting as fmt
from bot.catalog import Product
from bot.dialog import STAY, Ctx
from bot.events import Choice
from bot.i18n import _
from bot.services.lots import shares_left
from bot.services.quantities import (
    RuleError,
    check_quantity,
    parse_area_code,
    parse_certs,
    parse_quantity_kg,
    parse_share_line,
    parse_window,
)
from bot.services.quantities import grade_label as grade_label
from bot.textnorm import fold
from storage import dto

CONFIRM, EDIT, CANCEL = "sum:ok", "sum:edit", "sum:cancel"
# "growing_area_code" as a certification means "the lot has a growing-area code" (the
# matcher's vocabulary); the code itself is stored on the lot.
AREA = "growing_area_code"
CERT_ORDER = ("vietgap", "globalgap", "ocop3", "ocop4", "ocop5", AREA)


# --- labels -----------------------------------------------------------------------------------


def cert_label(code: str) -> str:
    """VietGAP, OCOP 4 sao, Mã số vùng trồng..."""
    labels = {
        "vietgap": "VietGAP", "globalgap": "GlobalGAP", "ocop3": _("OCOP 3 sao"), "ocop4": _("OCOP 4 sao"),
        "ocop5": _("OCOP 5 sao"), AREA: _("Mã số vùng trồng"),
    }  # fmt: skip
    return labels.get(code, code)


def certs_text(codes: Sequence[str], area_code: str | None = None) -> str:
    """The certificates as one line, "không có" when there are none."""
    parts = [cert_label(c) for c in CERT_ORDER if c in codes and c != AREA]
    if area_code:
        parts.append(_("mã số vùng trồng {code}").format(code=area_code))
    elif AREA in codes:
        parts.append(cert_label(AREA))
    return ", ".join(parts) if parts else _("không có")


def status_label(status: str) -> str:
    """Where a lot or order stands, in words."""
    labels = {
        "open": _("Đang mở"), "partly_matched": _("Đã ghép một phần"), "matched": _("Đã ghép đủ"),
        "expired": _("Hết hạn"), "cancelled": _("Đã hủy"),
    }  # fmt: skip
    return labels.get(status, status)


def product_name(ctx: Ctx, code: str) -> str:
    product = ctx.services.catalog.get(code)
    return product.name_vi if product else code


def product_of(ctx: Ctx) -> Product:
    """The product the flow is about (``ctx.data["product"]``)."""
    product = ctx.services.catalog.get(ctx.data["product"])
    if product is None:  # only a catalog code is ever stored; losing one is a deployment error
        raise LookupError(ctx.data["product"])
    return product


def point_label(ctx: Ctx, point: dto.CollectionPoint) -> str:
    """ "Name (Xã X)" or "Name (Tỉnh Y)"."""
    place = ctx.services.places.ward(point.ward_code) if point.ward_code else None
    where = place.ward_name if place else ctx.services.places.provinces[point.province_code].name
    return f"{point.name} ({where})"


def window_of(
    data: dict[str, Any], start: str = "date_from", end: str = "date_to"
) -> tuple[dt.date, dt.date]:
    return dt.date.fromisoformat(data[start]), dt.date.fromisoformat(data[end])


def toggle_label(label: str, on: bool) -> str:
    return f"✅ {label}" if on else label


# --- steps -------------------------------------------------------------------------------------


def next_step(ctx: Ctx, steps: Sequence[tuple[str, str]]) -> str:
    """The first step whose data key is still missing, else the summary."""
    for step, key in steps:
        if key not in ctx.data:
            return step
    return "summary"


def product_choices(ctx: Ctx, codes: Sequence[str]) -> list[Choice]:
    catalog = ctx.services.catalog
    return [Choice(p.name_vi, f"prod:{p.code}") for c in codes if (p := catalog.get(c))]


def read_product(ctx: Ctx) -> Product | None:
    """The product pressed ("prod:na") or typed ("mang cau"), or None after explaining."""
    payload = ctx.payload or ""
    product = None
    if payload.startswith("prod:"):
        product = ctx.services.catalog.get(payload.removeprefix("prod:"))
    elif ctx.text:
        product = ctx.services.catalog.find(ctx.text)
    if product is None:
        ctx.say(
            _(
                "Không tìm thấy sản phẩm «{text}». Vui lòng chọn hoặc gõ lại tên (ví dụ: na, hồng vành khuyên)."
            ).format(text=ctx.text[:40])
        )
    return product


def read_quantity(ctx: Ctx, field: str = "quantity") -> int | None:
    """Whole kg from the typed answer, or None after explaining what is wrong."""
    try:
        return check_quantity(parse_quantity_kg(ctx.text) if ctx.text else None, field)
    except RuleError as e:
        ctx.say(e.message)
        return None


def window_choices() -> list[Choice]:
    return [Choice(_("Hôm nay"), "win:0"), Choice(_("Ngày mai"), "win:1")]


def read_window(ctx: Ctx) -> tuple[dt.date, dt.date] | None:
    """The window pressed (Hôm nay / Ngày mai) or typed, or None after explaining."""
    payload = ctx.payload or ""
    if payload.startswith("win:"):
        day = ctx.today + dt.timedelta(days=int(payload.removeprefix("win:")))
        return day, day
    window = parse_window(ctx.text, ctx.today) if ctx.text else None
    if window is None:
        ctx.say(_("Tôi chưa hiểu ngày. Ví dụ: 15/9 · 15-20/9 · từ 15 đến 20/9."))
    return window


# --- the certificates multi-select -------------------------------------------------------------


def ask_certs(ctx: Ctx, question: str, none_label: str, *, typed_area: bool) -> None:
    """Toggle buttons for each certificate, "Xong" and "none"; the area code is typed or toggled."""
    d = ctx.data
    if d.get("awaiting_area"):
        ctx.say(_("Gõ mã số vùng trồng (ví dụ: VN-LSCL-0012):"), [Choice(_("« Quay lại"), "cert:back")])
        return
    chosen = d.setdefault("certs_draft", [])
    area = d.get("area_draft")
    choices = [Choice(toggle_label(cert_label(c), c in chosen), f"cert:{c}") for c in CERT_ORDER[:5]]
    if typed_area:
        label = _("Mã số vùng trồng: {code}").format(code=area) if area else _("Mã số vùng trồng")
        choices.append(Choice(toggle_label(label, bool(area)), "cert:area"))
    else:
        choices.append(Choice(toggle_label(cert_label(AREA), AREA in chosen), f"cert:{AREA}"))
    choices += [Choice(_("Xong"), "cert:done"), Choice(none_label, "cert:none")]
    text = question + "\n" + _("Đã chọn: {certs}").format(certs=certs_text(chosen, area))
    ctx.say(text, choices, columns=2)


def answer_certs(ctx: Ctx, *, typed_area: bool) -> tuple[list[str], str | None] | None:
    """(certificates, area code) once finished; None to ask again (after a toggle or an explanation)."""
    d = ctx.data
    chosen: list[str] = list(d.get("certs_draft", []))
    payload = ctx.payload or ""
    if d.get("awaiting_area"):
        if payload == "cert:back":
            ctx.remember(awaiting_area=False)
            return None
        code = parse_area_code(ctx.text) if ctx.text else None
        if code is None:
            ctx.say(_("Mã số vùng trồng không hợp lệ: cần 3–40 chữ, số hoặc dấu gạch."))
            return None
        ctx.remember(area_draft=code, awaiting_area=False)
        return None
    if payload == "cert:none":
        return [], None
    if payload == "cert:done":
        return [c for c in CERT_ORDER if c in chosen], d.get("area_draft")
    if payload == "cert:area":
        if d.get("area_draft"):
            ctx.remember(area_draft=None)
        else:
            ctx.remember(awaiting_area=True)
        return None
    if payload.startswith("cert:"):
        code = payload.removeprefix("cert:")
        if code in chosen:
            chosen.remove(code)
        else:
            if code.startswith("ocop"):  # one star rating at a time
                chosen = [c for c in chosen if not c.startswith("ocop")]
            chosen.append(code)
        ctx.remember(certs_draft=chosen)
        return None
    key = fold(ctx.text)
    if key in ("khong", "khong co", "khong yeu cau", "ko"):
        return [], None
    found = parse_certs(ctx.text)
    area_code = parse_area_code(ctx.text) if typed_area and "vung" in key else None
    if area_code:  # "mã số vùng trồng VN-LS-01" typed in one go
        ctx.remember(area_draft=area_code)
    elif not typed_area and "vung" in key:
        found.add(AREA)
    if not found and not area_code:
        ctx.say(_("Tôi chưa hiểu. Bấm chọn chứng nhận rồi bấm «Xong», hoặc gõ ví dụ: VietGAP, OCOP 4 sao."))
        return None
    if any(c.startswith("ocop") for c in found):
        chosen = [c for c in chosen if not c.startswith("ocop")]
    ctx.remember(certs_draft=[*chosen, *(c for c in CERT_ORDER if c in found and c not in chosen)])
    return None


# --- household shares of a pooled lot ---------------------------------------------------------


def _shares(raw: list[list[Any]]) -> list[dto.LotShare]:
    return [dto.LotShare(h, p, int(kg)) for h, p, kg in raw]


def ask_shares(ctx: Ctx, quantity_kg: int, *, skippable: bool = True) -> None:
    """The shares so far, how much is left, and how to add more."""
    draft = _shares(ctx.data.setdefault("shares_draft", []))
    lines = [
        _(
            "Lô gộp từ nhiều hộ? Gõ tên hoặc số điện thoại của hộ và số kg, mỗi dòng một hộ, ví dụ:\n"
            "Nguyễn Văn A 500\n0912345678 300"
        )
    ]
    if draft:
        lines.append(_("Đã ghi:"))
        lines += [f"• {s.household} – {fmt.kg(s.kg)}" for s in draft]
    left = shares_left(draft, quantity_kg)
    lines.append(
        _("Còn lại chưa chia: {left} (lô {total}).").format(left=fmt.kg(left), total=fmt.kg(quantity_kg))
    )
    choices = [Choice(_("Xong"), "sh:done"), Choice(_("Xóa làm lại"), "sh:clear")] if draft else []
    if skippable and not draft:
        choices.append(Choice(_("Không chia theo hộ"), "sh:none"))
    ctx.say("\n".join(lines), choices, columns=2)


def answer_shares(ctx: Ctx, quantity_kg: int) -> list[dto.LotShare] | None:
    """The finished list of shares ([] for "none"); None to ask again."""
    payload = ctx.payload or ""
    draft = _shares(ctx.data.get("shares_draft", []))
    if payload == "sh:none":
        ctx.remember(shares_draft=[])
        return []
    if payload == "sh:clear":
        ctx.remember(shares_draft=[])
        return None
    if payload == "sh:done":
        left = shares_left(draft, quantity_kg)
        if left == 0 and draft:
            return draft
        if not draft:
            ctx.say(_("Chưa có hộ nào. Gõ tên hộ và số kg, ví dụ: Nguyễn Văn A 500."))
        else:
            ctx.say(
                _("Phần các hộ phải cộng lại đúng bằng lô {total}: còn thiếu {left}.").format(
                    total=fmt.kg(quantity_kg), left=fmt.kg(left)
                )
            )
        return None
    for line in filter(None, (raw.strip() for raw in ctx.text.splitlines())):
        parsed = parse_share_line(line)
        if parsed is None:
            ctx.say(_("Không đọc được dòng «{line}». Ví dụ: Nguyễn Văn A 500.").format(line=line[:60]))
            continue
        household, phone, kg = parsed
        try:
            kg_int = check_quantity(kg, "shares")
        except RuleError as e:
            ctx.say(f"«{line[:60]}»: {e.message}")
            continue
        left = shares_left(draft, quantity_kg)
        if kg_int > left:
            ctx.say(
                _("«{line}»: vượt quá lô, chỉ còn {left} chưa chia.").format(
                    line=line[:60], left=fmt.kg(left)
                )
            )
            continue
        draft.append(dto.LotShare(household[:100], phone, kg_int))
    ctx.remember(shares_draft=[[s.household, s.phone, s.kg] for s in draft])
    return None


# --- summary ---------------------------------------------------------------------------------


def summary_choices() -> list[Choice]:
    return [Choice(_("Xác nhận"), CONFIRM), Choice(_("Sửa"), EDIT), Choice(_("Hủy"), CANCEL)]


def ask_summary(ctx: Ctx, title: str, rows: Sequence[tuple[str, str]]) -> None:
    lines = [title, *(f"• {label}: {value}" for label, value in rows), _("Lưu lại?")]
    ctx.say("\n".join(lines), summary_choices(), columns=3)


def ask_edit(ctx: Ctx, fields: Sequence[tuple[str, str]]) -> None:
    choices = [Choice(label, f"edit:{step}") for step, label in fields]
    ctx.say(_("Bạn muốn sửa mục nào?"), [*choices, Choice(_("« Quay lại"), "edit:back")], columns=2)


def answer_edit(ctx: Ctx, steps: Sequence[str]) -> str:
    """The step to go back to (its current answer stays until replaced), or the summary."""
    step = (ctx.payload or "").removeprefix("edit:")
    if step == "back":
        return "summary"
    if step not in steps:
        ctx.say(_("Vui lòng chọn một mục bên dưới."))
        return STAY
    return step


def announce(ctx: Ctx, kind: str, entity_id: int) -> None:
    """Tell the market (the matcher) after the transaction commits, never before."""

    async def hook() -> None:
        ctx.services.market_changed(kind, entity_id)

    ctx.on_commit(hook)
