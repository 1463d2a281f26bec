"""Registration (/start): role, name, phone, province, ward."""

from __future__ import annotations

import enum

from bot.engine.context import Ctx
from bot.engine.flow import Flow
from bot.engine.router import Router
from bot.engine.widgets import Choice, Phone, Select, TextInput
from bot.handlers.bank_steps import account_input, bank_select, has_bank
from bot.handlers.common import show_menu
from bot.handlers.place_steps import ProvinceStep, WardStep
from bot.handlers.roles import COOP_REP, FARMER, STAFF, TRADER, parse_role, role_label
from bot.i18n import _, lazy_gettext
from bot.parsing import answers
from bot.presentation.privacy import consent_text
from bot.services import privacy, profile
from bot.services import users as service

ORDER = 0

# Provinces where the campaigns this bot grew from run; the rest are a page or a typed name away.
POPULAR_PROVINCES = (20, 24, 14, 15, 4, 19)
SELF_CHOSEN = (FARMER, COOP_REP, TRADER)


class Step(enum.StrEnum):
    CONSENT = "consent"
    ROLE = "role"
    NAME = "name"
    PHONE = "phone"
    PROVINCE = "province"
    WARD = "ward"
    BANK = "bank"
    ACCOUNT = "account"


flow = Flow("register", Step, action_name="register")
flow.needs_registration = False  # the guard of registration: anyone may register


def _roles(ctx: Ctx) -> list[Choice]:
    return [Choice(role_label(r), r) for r in SELF_CHOSEN]


def _read_role(ctx: Ctx, text: str) -> str | None:
    role = parse_role(text)
    return role if role in SELF_CHOSEN else None


def _name_question(ctx: Ctx) -> str:
    return _("Bạn tên là gì? (Họ và tên, hoặc tên HTX)")


def _suggested(ctx: Ctx) -> list[Choice]:
    name = service.clean_name(ctx.event.display_name or "") if ctx.event.display_name else None
    return [Choice(name, name)] if name else []


def _read_name(ctx: Ctx, text: str) -> str | None:
    return service.clean_name(text)


def _check_name(ctx: Ctx, value: object) -> str:
    name = service.clean_name(str(value))
    if name is None:
        raise ValueError(_("Tên cần từ 2 đến 60 chữ cái, không có số. Vui lòng gõ lại."))
    return name


async def _consent_text(ctx: Ctx) -> str:
    # Someone registered on another messenger joins that account instead of registering twice.
    hint = _("Đã đăng ký trên ứng dụng nhắn tin khác? Gõ /lienket để dùng chung tài khoản đó.")
    return hint + "\n\n" + consent_text()


def _consent_options(_ctx: Ctx) -> list[Choice]:
    return [
        Choice(_("✅ Tôi đồng ý"), "yes", ("dong y", "ok", "co", "toi dong y")),
        Choice(_("Không đồng ý"), "no", ("khong", "khong dong y")),
    ]


def _read_consent(_ctx: Ctx, text: str) -> str | None:
    yes = answers.read_yes_no(text)
    return None if yes is None else ("yes" if yes else "no")


def _check_consent(ctx: Ctx, value: object) -> str:
    if value != "yes":
        raise ValueError(
            _(
                "Bot cần các thông tin này để kết nối bạn với người mua, người bán. Khi bạn đồng ý, "
                "chọn «Tôi đồng ý». Gõ /huy nếu bạn không muốn đăng ký."
            )
        )
    return "yes"


# Law 91/2025/QH15: people are told what is collected and why, and consent, before anything is kept.
flow.step(
    Step.CONSENT,
    Select(_consent_text, _consent_options, read=_read_consent, check=_check_consent, columns=2),
    key="consent",
)
# A role granted by an admin (or waiting for this phone) is kept: staff are not asked their role.
flow.step(
    Step.ROLE,
    Select(
        lazy_gettext("Chào mừng bạn đến với Nông Sản Bot! Bạn là ai?"),
        _roles,
        read=_read_role,
        invalid=lazy_gettext("Vui lòng chọn một trong các vai trò bên dưới."),
        columns=1,
    ),
    when=lambda ctx: ctx.user.role not in STAFF,
)
flow.step(
    Step.NAME,
    TextInput(
        _name_question,
        _read_name,
        lazy_gettext("Tên cần từ 2 đến 60 chữ cái, không có số. Vui lòng gõ lại."),
        check=_check_name,
        extra=_suggested,  # the name the messenger knows, one tap away
    ),
)
flow.step(
    Step.PHONE,
    Phone(
        lazy_gettext("Số điện thoại của bạn? Bấm nút «Gửi số điện thoại» hoặc gõ số (ví dụ 0912345678)."),
        lazy_gettext("Số điện thoại của bạn? Gõ số, ví dụ 0912345678."),
        lazy_gettext("📱 Gửi số điện thoại"),
        lazy_gettext(
            "Số điện thoại không hợp lệ. Số di động Việt Nam có 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09."
        ),
    ),
    after=lambda ctx: [_("Đã lưu số điện thoại {phone}.").format(phone=ctx.answers["phone"])],
)
flow.step(
    Step.PROVINCE,
    ProvinceStep(
        lazy_gettext("Bạn ở tỉnh/thành phố nào? Chọn hoặc gõ tên (ví dụ: Lạng Sơn)."),
        popular=POPULAR_PROVINCES,
    ),
    key="province_code",
)
flow.step(
    Step.WARD,
    WardStep(
        lazy_gettext("Bạn ở xã/phường nào của {province}? Gõ tên (ví dụ: Chi Lăng) hoặc xem danh sách."),
        province=lambda ctx: int(ctx.answers["province_code"]),
    ),
    key="ward_code",
)
# Sellers may give the account they are paid to (VietQR in the trader's payment message).
flow.step(
    Step.BANK,
    bank_select(skippable=True),
    key="bank_bin",
    when=lambda ctx: (ctx.answers.get("role") or ctx.user.role) in (FARMER, COOP_REP),
)
flow.step(Step.ACCOUNT, account_input(), key="bank_account", when=has_bank)


@flow.committer
async def save(ctx: Ctx) -> None:
    a = ctx.answers
    role = a.get("role") or ctx.user.role or FARMER
    outcome = await service.register(
        ctx.uow,
        ctx.user,
        name=a["name"],
        phone=a["phone"],
        role=role,
        province_code=int(a["province_code"]),
        ward_code=int(a["ward_code"]),
        now=ctx.now,
    )
    await privacy.record_consent(ctx.uow, outcome.user, ctx.now)
    ctx.user = outcome.user
    if has_bank(ctx):
        ctx.user = await profile.update(
            ctx.uow, ctx.user, bank_bin=a["bank_bin"], bank_account=a["bank_account"]
        )
    ward = ctx.services.places.ward(int(a["ward_code"]))
    ctx.leave()
    text = _("Đăng ký xong! {name} – {role}, {place}.").format(
        name=a["name"], role=role_label(outcome.user.role), place=ward.label if ward else ""
    )
    if outcome.granted_role:
        text += "\n" + _("Bạn đã được cấp quyền {role} từ trước.").format(
            role=role_label(outcome.granted_role)
        )
    show_menu(ctx, text)


def register(router: Router) -> None:
    router.flow(flow)
