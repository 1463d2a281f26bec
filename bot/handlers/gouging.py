"""/baoepgia: a farmer or a coop rep reports a trader who pushed the price down; the report goes
to the province's officials, is audited, and is counted in the reports."""

from __future__ import annotations

import enum

from bot import formatting as fmt
from bot.engine.context import Ctx
from bot.engine.flow import Flow
from bot.engine.router import Command, Router
from bot.engine.widgets import SKIP, Choice, Select, Summary, TextInput
from bot.handlers.roles import SUPPLIERS
from bot.i18n import _, lazy_gettext
from bot.parsing import answers
from bot.presentation.labels import product_name
from bot.services import deals
from bot.services.users import clean_name

ORDER = 60
OTHER = "other"


class Step(enum.StrEnum):
    TRADER = "trader"
    TRADER_NAME = "trader_name"
    PRODUCT = "product"
    PRICE = "price"
    NOTE = "note"
    CONFIRM = "confirm"


flow = Flow("gouging", Step, roles=SUPPLIERS, action_name="baoepgia")


async def _traders(ctx: Ctx) -> list[Choice]:
    recent = await deals.recent_traders(ctx.uow, ctx.user)
    return [Choice(t.name or "—", str(t.id)) for t in recent]


def _read_note(_ctx: Ctx, text: str) -> str | None:
    text = " ".join(text.split())
    return text if 5 <= len(text) <= 500 else None


async def _rows(ctx: Ctx) -> list[tuple[str, str]]:
    a = ctx.answers
    return [
        (_("Thương lái"), await _trader_name(ctx)),
        (_("Sản phẩm"), product_name(ctx.services, a["product"]) if a.get("product") else _("không nói")),
        (_("Giá bị ép"), fmt.price_per_kg(a["price"]) if a.get("price") else _("không nói")),
        (_("Nội dung"), a["note"]),
    ]


async def _trader_name(ctx: Ctx) -> str:
    a = ctx.answers
    if a.get("trader") not in (None, OTHER):
        for trader in await deals.recent_traders(ctx.uow, ctx.user):
            if str(trader.id) == a["trader"]:
                return trader.name or "—"
    return str(a.get("trader_name") or "—")


flow.step(
    Step.TRADER,
    Select(
        lazy_gettext("Báo thương lái ép giá. Thương lái nào? Chọn, hoặc chọn «Thương lái khác»."),
        _traders,
        extra=[Choice(_("Thương lái khác"), OTHER, ("khac", "nguoi khac"))],
        columns=1,
    ),
    key="trader",
)
flow.step(
    Step.TRADER_NAME,
    TextInput(
        lazy_gettext("Tên (và số điện thoại, nếu biết) của thương lái?"),
        lambda _ctx, text: clean_name(text) or (text.strip()[:100] if len(text.strip()) >= 2 else None),
        lazy_gettext("Vui lòng gõ tên thương lái."),
    ),
    key="trader_name",
    when=lambda ctx: ctx.answers.get("trader") == OTHER,
)
flow.step(
    Step.PRODUCT,
    TextInput(
        lazy_gettext("Sản phẩm gì? (gõ tên, hoặc bỏ qua)"),
        lambda _ctx, text: answers.read_product(text),
        lazy_gettext("Không tìm thấy sản phẩm này. Gõ lại tên, hoặc bỏ qua."),
        extra=[Choice(_("Bỏ qua"), SKIP, ("bo qua", "khong"))],
    ),
    key="product",
)
flow.step(
    Step.PRICE,
    TextInput(
        lazy_gettext("Thương lái trả giá bao nhiêu một ký? (ví dụ 18k, hoặc bỏ qua)"),
        lambda ctx, text: answers.read_price(text, ctx.answers.get("product")),
        lazy_gettext("Tôi chưa hiểu giá. Ví dụ: 18k, 18.000, hoặc bỏ qua."),
        extra=[Choice(_("Bỏ qua"), SKIP, ("bo qua", "khong"))],
    ),
    key="price",
)
flow.step(
    Step.NOTE,
    TextInput(
        lazy_gettext("Chuyện gì đã xảy ra? Gõ vài dòng (nơi, ngày, cách ép giá)."),
        _read_note,
        lazy_gettext("Vui lòng gõ từ 5 đến 500 ký tự."),
    ),
    key="note",
)
flow.step(
    Step.CONFIRM,
    Summary(
        lazy_gettext("Báo ép giá:"),
        _rows,
        question=lazy_gettext("Gửi cho cán bộ tỉnh?"),
        confirm_label=lazy_gettext("Gửi"),
    ),
    key="confirmed",
)


@flow.committer
async def send(ctx: Ctx) -> None:
    a = ctx.answers
    trader_id = int(a["trader"]) if str(a.get("trader", "")).isdigit() else None
    report_id = await deals.report_gouging(
        ctx.uow,
        ctx.user,
        trader_id=trader_id,
        trader_name=await _trader_name(ctx),
        match_id=None,
        product_code=a.get("product"),
        price=a.get("price"),
        note=a["note"],
        now=ctx.now,
    )
    ctx.leave()
    ctx.say(_("Đã gửi báo cáo ép giá #{id} tới cán bộ tỉnh. Cảm ơn bạn đã báo.").format(id=report_id))

    async def wake() -> None:
        ctx.services.wake_events()

    ctx.on_commit(wake)


async def cmd_report(ctx: Ctx, _args: str) -> None:
    await flow.start(ctx)


def register(router: Router) -> None:
    router.flow(flow)
    router.command(
        Command(
            "baoepgia",
            cmd_report,
            lazy_gettext("Báo ép giá"),
            roles=SUPPLIERS,
            description=lazy_gettext("báo thương lái ép giá cho cán bộ"),
        )
    )
