"""/hoso: a person sees their details and changes one: name, phone, place, bank account, and for
a cooperative its fee on the households' proceeds."""

from __future__ import annotations

import enum

from bot.engine.context import Ctx
from bot.engine.flow import Flow
from bot.engine.router import Command, Router
from bot.engine.widgets import Choice, Phone, Select, TextInput
from bot.handlers.bank_steps import NO_BANK, account_input, bank_select, has_bank
from bot.handlers.place_steps import ProvinceStep, WardStep
from bot.handlers.roles import COOP_REP
from bot.i18n import _, lazy_gettext
from bot.presentation.profile import profile_text
from bot.services import profile as service
from bot.services import users

ORDER = 850


class Step(enum.StrEnum):
    FIELD = "field"
    NAME = "name"
    PHONE = "phone"
    PROVINCE = "province"
    WARD = "ward"
    BANK = "bank"
    ACCOUNT = "account"
    FEE = "fee"


NAME, PHONE, PLACE, BANK, FEE = "name", "phone", "place", "bank", "fee"

flow = Flow("profile", Step, action_name="hoso")


def _fields(ctx: Ctx) -> list[Choice]:
    fields = [
        Choice(_("Tên"), NAME, ("ten", "ho ten")),
        Choice(_("Số điện thoại"), PHONE, ("so dien thoai", "sdt", "dien thoai")),
        Choice(_("Xã/phường"), PLACE, ("xa", "phuong", "dia chi", "noi o")),
        Choice(_("Tài khoản ngân hàng"), BANK, ("ngan hang", "tai khoan", "stk")),
    ]
    if ctx.user.role == COOP_REP:
        fields.append(Choice(_("Phí HTX"), FEE, ("phi", "phi htx")))
    return fields


def _is(field: str):  # type: ignore[no-untyped-def]
    return lambda ctx: ctx.answers.get("field") == field


def _read_fee(_ctx: Ctx, text: str) -> float | None:
    cleaned = text.replace("%", "").replace(",", ".").strip()
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if 0 <= value <= service.MAX_COOP_FEE_PCT else None


flow.step(Step.FIELD, Select(profile_text, _fields, columns=2), key="field")
flow.step(
    Step.NAME,
    TextInput(
        lazy_gettext("Tên mới của bạn?"),
        lambda _ctx, text: users.clean_name(text),
        lazy_gettext("Tên cần từ 2 đến 60 chữ cái, không có số. Vui lòng gõ lại."),
    ),
    key="name",
    when=_is(NAME),
)
flow.step(
    Step.PHONE,
    Phone(
        lazy_gettext("Số điện thoại mới? Bấm nút «Gửi số điện thoại» hoặc gõ số."),
        lazy_gettext("Số điện thoại mới? Gõ số, ví dụ 0912345678."),
        lazy_gettext("📱 Gửi số điện thoại"),
        lazy_gettext(
            "Số điện thoại không hợp lệ. Số di động Việt Nam có 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09."
        ),
    ),
    key="phone",
    when=_is(PHONE),
)
flow.step(
    Step.PROVINCE,
    ProvinceStep(lazy_gettext("Bạn ở tỉnh/thành phố nào? Chọn hoặc gõ tên.")),
    key="province_code",
    when=_is(PLACE),
)
flow.step(
    Step.WARD,
    WardStep(
        lazy_gettext("Bạn ở xã/phường nào của {province}? Gõ tên hoặc xem danh sách."),
        province=lambda ctx: int(ctx.answers["province_code"]),
    ),
    key="ward_code",
    when=_is(PLACE),
)
flow.step(Step.BANK, bank_select(skippable=False), key="bank_bin", when=_is(BANK))
flow.step(
    Step.ACCOUNT, account_input(), key="bank_account", when=lambda ctx: _is(BANK)(ctx) and has_bank(ctx)
)
flow.step(
    Step.FEE,
    TextInput(
        lazy_gettext("Phí HTX trên tiền bán của các hộ, theo phần trăm (0–30)? Ví dụ: 2 hoặc 1,5."),
        _read_fee,
        lazy_gettext("Phí cần là một số từ 0 đến 30, ví dụ 2 hoặc 1,5."),
    ),
    key="coop_fee_pct",
    when=_is(FEE),
)


@flow.committer
async def save(ctx: Ctx) -> None:
    a = ctx.answers
    fields = ("name", "phone", "province_code", "ward_code", "bank_bin", "bank_account", "coop_fee_pct")
    changes: dict[str, object] = {k: a[k] for k in fields if k in a}
    if changes.get("bank_bin") == NO_BANK:
        changes.update(bank_bin=None, bank_account=None)
    ctx.user = await service.update(ctx.uow, ctx.user, **changes)
    ctx.leave()
    ctx.say(_("Đã lưu.") + "\n" + await profile_text(ctx))


async def cmd_profile(ctx: Ctx, _args: str) -> None:
    await flow.start(ctx)


def register(router: Router) -> None:
    router.flow(flow)
    router.command(
        Command(
            "hoso",
            cmd_profile,
            lazy_gettext("Hồ sơ"),
            description=lazy_gettext("xem và sửa thông tin của bạn"),
        )
    )
