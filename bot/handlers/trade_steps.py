"""The steps the lot flow (/thuhoach) and the order flow (/dathang) share: product, quantity,
price, window, certificates, household shares, and the summary that checks every rule again
before "Xác nhận" saves. Each is a widget declared once; the flows add them to their own steps.

Typed answers are read by :mod:`bot.parsing.answers` (the sentence parser's own readers), so
"1 tan ruoi", "1t5", "tuần sau", "loai1", "ko co" mean here what they mean in a sentence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot import formatting as fmt
from bot.catalog import Product
from bot.engine.context import Ctx
from bot.engine.flow import Accept, Flow, Jump, NotUnderstood, Retry, StepResult, StepSpec
from bot.engine.screens import Screen
from bot.engine.widgets import (
    BACK,
    DONE,
    NONE,
    SKIP,
    Choice,
    Period,
    Select,
    Summary,
    Text,
    TextInput,
    Widget,
    text_of,
)
from bot.i18n import _, lazy_gettext
from bot.parsing import answers, parse
from bot.presentation.labels import AREA, CERT_ORDER, cert_label, certs_text, grade_label
from bot.services import lots as lot_service
from bot.services import trade
from bot.services.quantities import (
    RuleError,
    check_price,
    check_quantity,
    parse_area_code,
    parse_certs,
    parse_share_line,
)
from bot.textnorm import fold
from storage import dto

GRADES = lot_service.GRADES
AREA_TOGGLE = "~area"
Shares = list[list[Any]]  # [[household, phone, kg], ...] as stored in the answers


def product_of(ctx: Ctx) -> Product:
    """The product the flow is about (``answers["product"]``)."""
    product = ctx.services.catalog.get(ctx.answers["product"])
    if product is None:  # only a catalog code is ever stored; losing one is a deployment error
        raise LookupError(ctx.answers["product"])
    return product


def window_of(ctx: Ctx) -> tuple[dt.date, dt.date]:
    """The window answered (``answers["window"]``, two ISO dates)."""
    start, end = ctx.answers["window"]
    return dt.date.fromisoformat(start), dt.date.fromisoformat(end)


def toggle_label(label: str, on: bool) -> str:
    return f"✅ {label}" if on else label


# --- product, quantity, price, window, grade ------------------------------------------------------


def product_step(question: Text, home_province: Callable[[Ctx], int | None]) -> Select:
    """The products most reported in the person's province as buttons; any product typed."""

    async def options(ctx: Ctx) -> list[Choice]:
        codes = await lot_service.popular_products(ctx.uow, home_province(ctx))
        catalog = ctx.services.catalog
        return [Choice(p.name_vi, p.code) for c in codes if (p := catalog.get(c))]

    def invalid(ctx: Ctx) -> str:
        return _(
            "Không tìm thấy sản phẩm «{text}». Vui lòng chọn hoặc gõ lại tên (ví dụ: na, hồng vành khuyên)."
        ).format(text=ctx.text[:40])

    def check(ctx: Ctx, value: Any) -> str:
        if ctx.services.catalog.get(str(value)) is None:
            raise ValueError(invalid(ctx))
        return str(value)

    return Select(
        question, options, read=lambda _ctx, text: answers.read_product(text), invalid=invalid, check=check
    )


def new_request(ctx: Ctx, text: str) -> bool:
    """Whether ``text`` is a sentence about another product ("bán 2 tấn quýt"): not an answer here,
    but a new request (the sentence handler then starts it)."""
    result = parse(text, ctx.today)
    return (
        result.intent in ("offer", "order")
        and result.product is not None
        and result.product != ctx.answers.get("product")
    )


def read_kg(ctx: Ctx, text: str) -> float | None:
    """The amount typed, sign and size unchecked (the rule check says what is wrong with it)."""
    return None if new_request(ctx, text) else answers.read_amount_kg(text)


def _check_quantity(_ctx: Ctx, value: Any) -> int:
    return check_quantity(value)


def quantity_step(question: Text) -> TextInput:
    """Kilograms from "2,5 tấn", "1 tan ruoi", "1t5", "hai tấn rưỡi", "1500" (kg)."""
    return TextInput(
        question,
        read_kg,
        lazy_gettext("Tôi chưa hiểu khối lượng. Ví dụ: 2,5 tấn · 3 tạ · 1500 kg."),
        check=_check_quantity,
    )


def price_step(question: Text, home_province: Callable[[Ctx], int | None], *, optional: bool) -> TextInput:
    """VND/kg from "25k", "25.000", "ba mươi lăm nghìn"; the reference price is shown with the question."""

    async def ask(ctx: Ctx) -> str:
        lines = [str(question)]
        province = home_province(ctx)
        if province:
            ref = await trade.reference_price(ctx.uow, ctx.answers["product"], province, ctx.today)
            if ref is not None:
                lines.append(_("Giá tham chiếu hiện nay: {price}.").format(price=fmt.price_per_kg(ref)))
        return "\n".join(lines)

    def extra(_ctx: Ctx) -> list[Choice]:
        return [Choice(_("Bỏ qua"), SKIP, ("bo qua", "khong", "ko", "skip"))] if optional else []

    return TextInput(
        ask,
        lambda ctx, text: (
            None
            if new_request(ctx, text)
            else answers.read_amount_vnd_per_kg(text, ctx.answers.get("product"))
        ),
        lazy_gettext("Tôi chưa hiểu giá. Ví dụ: 25k · 25.000 · 25000đ."),
        check=lambda ctx, value: check_price(product_of(ctx), value),
        extra=extra,
        skip_value=None,
    )


def window_step(question: Text, check: Callable[[Ctx, dt.date, dt.date], None]) -> Period:
    """Today, tomorrow, or typed: "15/9", "15-20/9", "tuần sau", "từ mùng 10"."""

    def checked(ctx: Ctx, value: Any) -> list[str]:
        start, end = (dt.date.fromisoformat(v) for v in value)
        check(ctx, start, end)
        return list(value)

    return Period(
        question,
        presets=[(lazy_gettext("Hôm nay"), 0, 0), (lazy_gettext("Ngày mai"), 1, 1)],
        check=checked,
    )


def grade_choices(_ctx: Ctx) -> list[Choice]:
    synonyms = {"1": ("loai1", "l1", "loai i"), "2": ("loai2", "l2", "loai ii"), "xo": ("hang xo", "loai xo")}
    return [Choice(grade_label(g), g, synonyms[g]) for g in GRADES]


def grade_step() -> Select:
    """Loại 1 / Loại 2 / Xô, or typed ("loai1", "loại 2", "xô")."""
    return Select(
        lazy_gettext("Hàng loại mấy?"),
        grade_choices,
        read=lambda _ctx, text: answers.read_grade(text),
        invalid=lazy_gettext("Vui lòng chọn Loại 1, Loại 2 hoặc Xô."),
        columns=3,
    )


# --- certificates ------------------------------------------------------------------------------------


@dataclass
class Certificates(Widget):
    """Certificates toggled on and off, then "Xong"; or typed ("VietGAP, OCOP 4 sao", "ko co").

    With ``typed_area`` (a lot) the growing-area code itself is typed; otherwise (an order) it
    is one more requirement. The answer is ``{"certs": [...], "area": code or None}``.
    """

    question: Text
    none_label: Text
    typed_area: bool

    def _draft(self, ctx: Ctx) -> tuple[list[str], str | None]:
        if "draft" in ctx.screen:
            return list(ctx.screen["draft"]), ctx.screen.get("area")
        previous = ctx.screen.get("previous") or {}
        return list(previous.get("certs", [])), previous.get("area")

    def _keep(self, ctx: Ctx, draft: list[str], area: str | None, awaiting: bool = False) -> None:
        ctx.keep(draft=draft, area=area, awaiting=awaiting)

    @staticmethod
    def _add(draft: list[str], code: str) -> list[str]:
        if code in draft:
            return draft
        if code.startswith("ocop"):  # one star rating at a time
            draft = [c for c in draft if not c.startswith("ocop")]
        return [*draft, code]

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        if ctx.screen.get("awaiting"):
            back = flow.option(spec, _("« Quay lại"), BACK, "quay lai")
            return Screen(_("Gõ mã số vùng trồng (ví dụ: VN-LSCL-0012):"), (back,))
        draft, area = self._draft(ctx)
        options = [flow.option(spec, toggle_label(cert_label(c), c in draft), c) for c in CERT_ORDER[:5]]
        if self.typed_area:
            label = _("Mã số vùng trồng: {code}").format(code=area) if area else _("Mã số vùng trồng")
            options.append(flow.option(spec, toggle_label(label, bool(area)), AREA_TOGGLE))
        else:
            options.append(flow.option(spec, toggle_label(cert_label(AREA), AREA in draft), AREA))
        options.append(flow.option(spec, _("Xong"), DONE, "xong", "ok", "roi", "het"))
        none = await text_of(ctx, self.none_label)
        options.append(flow.option(spec, none, NONE, "khong", "khong co", "ko co", "khong yeu cau"))
        text = await text_of(ctx, self.question)
        text += "\n" + _("Đã chọn: {certs}").format(certs=certs_text(draft, area))
        return Screen(text, tuple(options), columns=2)

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        draft, area = self._draft(ctx)
        if value == BACK:
            self._keep(ctx, draft, area)
        elif value == NONE:
            return Accept({"certs": [], "area": None})
        elif value == DONE:
            return Accept({"certs": [c for c in CERT_ORDER if c in draft], "area": area})
        elif value == AREA_TOGGLE:
            self._keep(ctx, draft, None, awaiting=not area)
        elif value in CERT_ORDER:
            self._keep(
                ctx, [c for c in draft if c != value] if value in draft else self._add(draft, value), area
            )
        return Retry()

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        draft, area = self._draft(ctx)
        if ctx.screen.get("awaiting"):
            code = parse_area_code(text)
            if code is None:
                return Retry(_("Mã số vùng trồng không hợp lệ: cần 3–40 chữ, số hoặc dấu gạch."))
            self._keep(ctx, draft, code)
            return Retry()
        if answers.read_yes_no(text) is False:  # "ko co", "không", "khong yeu cau"
            return Accept({"certs": [], "area": None})
        key = fold(text)
        found = parse_certs(text)
        if "vung" in key:
            if self.typed_area and (code := parse_area_code(text)):  # "mã số vùng trồng VN-LS-01" in one go
                area = code
            elif not self.typed_area:
                found.add(AREA)
        if not found and area == self._draft(ctx)[1]:
            return NotUnderstood(
                _("Tôi chưa hiểu. Chọn chứng nhận rồi chọn «Xong», hoặc gõ ví dụ: VietGAP, OCOP 4 sao.")
            )
        for code in (c for c in CERT_ORDER if c in found):
            draft = self._add(draft, code)
        self._keep(ctx, draft, area)
        return Retry()


# --- household shares of a pooled lot -----------------------------------------------------------------


def shares_of(raw: Shares) -> tuple[dto.LotShare, ...]:
    return tuple(dto.LotShare(h, p, int(kg)) for h, p, kg in raw)


@dataclass
class HouseholdShares(Widget):
    """Each household's part of a pooled lot, typed a line per household; they must add up."""

    quantity: Callable[[Ctx], int]
    skippable: bool = True

    def _draft(self, ctx: Ctx) -> Shares:
        return list(ctx.screen.get("draft", ctx.screen.get("previous") or []))

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        draft = shares_of(self._draft(ctx))
        total = self.quantity(ctx)
        lines = [
            _(
                "Lô gộp từ nhiều hộ? Gõ tên hoặc số điện thoại của hộ và số kg, mỗi dòng một hộ, ví dụ:\n"
                "Nguyễn Văn A 500\n0912345678 300"
            )
        ]
        if draft:
            lines.append(_("Đã ghi:"))
            lines += [f"• {s.household} – {fmt.kg(s.kg)}" for s in draft]
        left = lot_service.shares_left(draft, total)
        lines.append(
            _("Còn lại chưa chia: {left} (lô {total}).").format(left=fmt.kg(left), total=fmt.kg(total))
        )
        options = []
        if draft:
            options = [
                flow.option(spec, _("Xong"), DONE, "xong", "ok", "roi"),
                flow.option(spec, _("Xóa làm lại"), "~clear", "xoa", "lam lai"),
            ]
        elif self.skippable:
            options.append(flow.option(spec, _("Không chia theo hộ"), NONE, "khong", "khong chia"))
        return Screen("\n".join(lines), tuple(options), columns=2)

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        raw = self._draft(ctx)
        total = self.quantity(ctx)
        if value == NONE and self.skippable:
            return Accept([])
        if value == "~clear":
            ctx.keep(draft=[])
            return Retry()
        if value == DONE:
            left = lot_service.shares_left(shares_of(raw), total)
            if raw and left == 0:
                return Accept(raw)
            if not raw:
                return Retry(_("Chưa có hộ nào. Gõ tên hộ và số kg, ví dụ: Nguyễn Văn A 500."))
            return Retry(
                _("Phần các hộ phải cộng lại đúng bằng lô {total}: còn thiếu {left}.").format(
                    total=fmt.kg(total), left=fmt.kg(left)
                )
            )
        return Retry()

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        raw = self._draft(ctx)
        total = self.quantity(ctx)
        problems: list[str] = []
        added = 0
        for line in filter(None, (part.strip() for part in text.splitlines())):
            parsed = parse_share_line(line)
            if parsed is None:
                problems.append(
                    _("Không đọc được dòng «{line}». Ví dụ: Nguyễn Văn A 500.").format(line=line[:60])
                )
                continue
            household, phone, kg = parsed
            try:
                kg_int = check_quantity(kg, "shares")
            except RuleError as e:
                problems.append(f"«{line[:60]}»: {e.message}")
                continue
            left = lot_service.shares_left(shares_of(raw), total)
            if kg_int > left:
                problems.append(
                    _("«{line}»: vượt quá lô, chỉ còn {left} chưa chia.").format(
                        line=line[:60], left=fmt.kg(left)
                    )
                )
                continue
            raw.append([household[:100], phone, kg_int])
            added += 1
        ctx.keep(draft=raw)
        message = "\n".join(problems) or None
        if not added and message:
            return NotUnderstood(message)  # maybe a new request rather than a household
        return Retry(message)


# --- the summary --------------------------------------------------------------------------------------


@dataclass
class TradeSummary(Summary):
    """The summary; "Xác nhận" first checks every rule again (a point may have closed meanwhile) and
    goes back to the step whose answer broke one."""

    check: Callable[[Ctx], Awaitable[None]] | None = None
    steps: Mapping[str, str] = field(default_factory=dict)  # RuleError.field -> the step to ask again

    async def _checked(self, ctx: Ctx, flow: Flow, result: StepResult) -> StepResult:
        if not isinstance(result, Accept) or self.check is None:
            return result
        try:
            await self.check(ctx)
        except RuleError as e:
            ctx.say(e.message)
            target = self.steps.get(e.field)
            return Jump(target) if target and flow.spec(target) is not None else Retry()
        return result

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        return await self._checked(ctx, flow, await super().on_choice(ctx, flow, spec, value))

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        return await self._checked(ctx, flow, await super().on_text(ctx, flow, spec, text))


# --- what a changed answer makes wrong ---------------------------------------------------------------


def recheck_price(ctx: Ctx) -> list[str]:
    """Drop a price outside the (new) product's range; say why."""
    price = ctx.answers.get("price")
    if price is None or "product" not in ctx.answers:
        return []
    try:
        ctx.remember(price=check_price(product_of(ctx), float(price)))
    except (RuleError, ValueError, TypeError) as e:
        ctx.forget("price")
        return [e.message if isinstance(e, RuleError) else _("Giá không hợp lệ.")]
    return []


def recheck_window(ctx: Ctx, check: Callable[[Ctx, dt.date, dt.date], None]) -> list[str]:
    """Drop a window the (new) product or today makes wrong; say why."""
    if "window" not in ctx.answers:
        return []
    try:
        check(ctx, *window_of(ctx))
    except (RuleError, ValueError) as e:
        ctx.forget("window")
        return [e.message if isinstance(e, RuleError) else _("Ngày không hợp lệ.")]
    return []
