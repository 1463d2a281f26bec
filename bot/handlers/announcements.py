"""Announcements (/thongbao): write or forward a text, pick the audience, preview, then send now,
schedule, or (where a messenger sells it) send fast for Stars once the cost is confirmed.

Officials and admins only; the guard is checked at every step and again before anything is
sent. Running or scheduled broadcasts are stopped with the button under the confirmation or
/huythongbao.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot import formatting as fmt
from bot.engine.actions import Action, action
from bot.engine.context import Ctx
from bot.engine.flow import Accept, Cancelled, Flow, Jump, NotUnderstood, Retry, StepResult, StepSpec
from bot.engine.router import Command, Router
from bot.engine.screens import Option, Screen
from bot.engine.widgets import BACK, Choice, MultiSelect, TextInput, Widget
from bot.handlers.registration import POPULAR_PROVINCES
from bot.handlers.roles import ADMIN, COOP_REP, FARMER, OFFICIAL, STAFF, TRADER, parse_role, role_label
from bot.handlers.staff_steps import ProvinceOrAll, WardOrAll
from bot.i18n import _, lazy_gettext
from bot.parsing import answers
from bot.presentation import broadcasts as present
from bot.services import announcements as service
from bot.services.announcements import Created, NewAnnouncement, NotCreated, ScheduleProblem, TextProblem
from bot.services.audience import Audience
from storage.types import bounded_int

ORDER = 700
ROLES = (FARMER, COOP_REP, TRADER, OFFICIAL, ADMIN)
PRODUCT_BUTTONS = ("na", "hong_vanh_khuyen", "hong_khong_hat", "quyt", "thach_den", "che")
# The longest message any messenger we serve accepts; longer texts get the engine's generic
# answer, shorter ones ours.
FLOW_TEXT_LIMIT = 4096
CANCEL = "cancel"


class Step(enum.StrEnum):
    TEXT = "text"
    ROLES = "roles"
    PROVINCE = "province"
    WARD = "ward"
    PRODUCTS = "products"
    AUDIENCE = "audience"
    PREVIEW = "preview"
    WHEN = "when"
    PAID = "paid"


class Send(enum.StrEnum):
    NOW = "now"
    LATER = "later"
    PAID = "paid"


flow = Flow("announce", Step, roles=STAFF, action_name="thongbao", max_text_length=FLOW_TEXT_LIMIT)


@action("bs")
@dataclass(frozen=True, slots=True)
class StopBroadcast(Action):
    """Stop a scheduled or running broadcast."""

    announcement_id: int


def audience_of(ctx: Ctx) -> Audience:
    """The audience the answers describe so far."""
    a = ctx.answers
    province = a.get("province_code")
    return Audience(
        roles=tuple(r for r in ROLES if r in (a.get("roles") or ())),
        province_code=province,
        ward_code=a.get("ward_code") if province is not None else None,
        products=tuple(sorted(a.get("products") or ())),
        required=bool(a.get("required")),
    )


def _never(_ctx: Ctx) -> bool:
    """Steps reached only from the audience menu (it jumps there)."""
    return False


def _cancelled() -> Cancelled:
    return Cancelled(_("Đã hủy. Không có thông báo nào được gửi."))


# --- the text --------------------------------------------------------------------------------


class AnnouncementText(Widget):
    """The announcement as typed, pasted or forwarded, within the length a message allows."""

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        question = _(
            "Gửi nội dung thông báo: gõ, dán hoặc chuyển tiếp một tin nhắn vào đây (tối đa {limit} ký tự)."
        ).format(limit=fmt.number(service.MAX_LENGTH))
        return Screen(question, (flow.option(spec, _("Hủy"), CANCEL, "huy"),))

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        return _cancelled() if value == CANCEL else Retry()

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        problem = service.text_problem(text)
        if problem is TextProblem.EMPTY:
            return Retry(_("Thông báo chưa có nội dung. Vui lòng gõ hoặc chuyển tiếp một tin nhắn có chữ."))
        if problem is TextProblem.TOO_LONG:
            return Retry(
                _("Thông báo dài {n} ký tự, tối đa {limit}. Vui lòng rút gọn rồi gửi lại.").format(
                    n=fmt.number(len(text)), limit=fmt.number(service.MAX_LENGTH)
                )
            )
        return Accept(text)


# --- the audience ------------------------------------------------------------------------------


class AudienceMenu(Widget):
    """Who gets it: everyone, or roles, a place and product followers combined; then the preview."""

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        audience = audience_of(ctx)
        n = await service.count_recipients(ctx.uow, audience)
        text = _(
            "Gửi cho ai? Đang chọn: {who} – {n} người nhận.\nCó thể kết hợp, ví dụ vai trò + tỉnh."
        ).format(who=present.describe(ctx.services, audience), n=fmt.number(n))
        mark = "✅ " if audience.required else "⬜ "
        options = (
            flow.option(spec, _("👥 Mọi người"), "all", "moi nguoi", "tat ca"),
            flow.option(spec, _("Theo vai trò"), "roles", "vai tro"),
            flow.option(spec, _("Theo tỉnh / xã"), "place", "tinh", "xa", "dia phuong"),
            flow.option(spec, _("Theo sản phẩm"), "products", "san pham"),
            flow.option(spec, mark + _("Bắt buộc"), "required", "bat buoc"),
            flow.option(spec, _("Xem trước ▶"), "preview", "xem truoc", "xong", "ok"),
        )
        return Screen(text, options, columns=2)

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        if value == "all":
            ctx.forget("roles", "province_code", "ward_code", "products")
            return Accept(True)
        if value == "required":
            ctx.remember(required=not audience_of(ctx).required)
            return Retry()
        jumps = {"roles": Step.ROLES, "place": Step.PROVINCE, "products": Step.PRODUCTS}
        if value in jumps:
            return Jump(jumps[value])
        return Accept(True) if value == "preview" else Retry()

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        return NotUnderstood(_("Vui lòng chọn một mục bên dưới."))


def _role_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(role_label(r), r) for r in ROLES]


def _read_roles(ctx: Ctx, text: str) -> list[str]:
    parts = re.split(r",|;|\+|\bvà\b|\bva\b", text)
    return [role for part in parts if (role := parse_role(part.strip())) is not None]


def _product_choices(ctx: Ctx) -> list[Choice]:
    catalog = ctx.services.catalog
    chosen = ctx.screen.get("draft", ctx.screen.get("previous") or [])
    codes = list(dict.fromkeys([*chosen, *PRODUCT_BUTTONS]))
    return [Choice(p.name_vi, c) for c in codes if (p := catalog.get(c))]


def _read_products(ctx: Ctx, text: str) -> list[str]:
    parts = re.split(r",|;|\+|\bvà\b|\bva\b", text)
    return [code for part in parts if (code := answers.read_product(part)) is not None]


def _shortlist(ctx: Ctx) -> list[int]:
    own = [ctx.user.province_code] if ctx.user.province_code else []
    return [*own, *POPULAR_PROVINCES][:6]


def _forget_ward(ctx: Ctx) -> list[str]:
    ctx.forget("ward_code")  # a new province: its ward is asked again
    return []


# --- preview and sending ---------------------------------------------------------------------------


class Preview(Widget):
    """What the recipients will see, to whom, and how to send it."""

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        audience = audience_of(ctx)
        n = await service.count_recipients(ctx.uow, audience)
        who = present.describe(ctx.services, audience)
        edit_audience = flow.option(spec, _("Sửa người nhận"), "edit_audience", "sua nguoi nhan")
        cancel = flow.option(spec, _("Hủy"), CANCEL, "huy")
        if n == 0:
            text = _(
                "Không có ai trong nhóm người nhận này ({who}), nên chưa thể gửi. Vui lòng chọn lại."
            ).format(who=who)
            return Screen(text, (edit_audience, cancel))
        if not ctx.screen.get("shown"):
            ctx.say(_("Xem trước – người nhận sẽ thấy:"))
            ctx.show(
                present.announcement_screen(
                    ctx.answers["text"], required=audience.required, locale=ctx.user.locale
                )
            )
            ctx.keep(shown=True)
        options = [
            flow.option(spec, _("📤 Gửi ngay"), Send.NOW, "gui ngay", "gui"),
            flow.option(spec, _("⏰ Hẹn giờ"), Send.LATER, "hen gio"),
        ]
        channels = present.paid_channels(ctx.services)
        if channels and (await service.paid_cost(ctx.uow, audience, channels)).messages:
            options.append(flow.option(spec, _("⚡ Gửi nhanh (trả phí Stars)"), Send.PAID, "gui nhanh"))
        options += [flow.option(spec, _("Sửa nội dung"), "edit_text", "sua noi dung"), edit_audience, cancel]
        text = _("Sẽ gửi tới {n} người ({who}).").format(n=fmt.number(n), who=who)
        return Screen(text, tuple(options), columns=2)

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        if value == "edit_text":
            return Jump(Step.TEXT)
        if value == "edit_audience":
            return Jump(Step.AUDIENCE)
        if value == CANCEL:
            return _cancelled()
        if value == Send.PAID and not present.paid_channels(ctx.services):
            return Retry()
        if value in tuple(Send):
            if await service.count_recipients(ctx.uow, audience_of(ctx)) == 0:
                return Retry(_("Không còn ai trong nhóm người nhận này. Vui lòng chọn lại."))
            return Accept(value)
        return Retry()

    async def on_text(self, ctx: Ctx, flow: Flow, spec: StepSpec, text: str) -> StepResult:
        return NotUnderstood(_("Vui lòng chọn một mục bên dưới."))


def _when_question(ctx: Ctx) -> str:
    return _("Gửi lúc nào (giờ Việt Nam)? Gõ ví dụ: 18:00, «mai 7:00» hoặc «15/9 7:00».")


def _read_when(ctx: Ctx, text: str) -> dt.datetime | None:
    return service.parse_send_time(text, ctx.now.astimezone(ctx.settings.tz))


def _when_invalid(ctx: Ctx) -> str:
    return _("Không đọc được thời điểm «{text}». Ví dụ: 18:00, «mai 7:00», «15/9 7:00».").format(
        text=ctx.text[:40]
    )


def _check_when(ctx: Ctx, when: object) -> str:
    if not isinstance(when, dt.datetime):
        raise ValueError(_when_invalid(ctx))
    problem = service.schedule_problem(when, ctx.now)
    if problem is ScheduleProblem.PAST:
        raise ValueError(
            _("{when} đã qua. Vui lòng chọn một thời điểm sau bây giờ (ví dụ «mai 7:00»).").format(
                when=fmt.datetime(when)
            )
        )
    if problem is ScheduleProblem.TOO_FAR:
        raise ValueError(
            _("Chỉ hẹn giờ được trong vòng {days} ngày tới.").format(days=service.MAX_SCHEDULE_DAYS)
        )
    return when.isoformat()


@dataclass
class SendTime(TextInput):
    """The moment to send, typed; "Quay lại" returns to the preview."""

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        return Jump(Step.PREVIEW) if value == BACK else Retry()


class PaidConfirm(Widget):
    """The cost in Stars of a paid broadcast, confirmed before anything is queued."""

    async def ask(self, ctx: Ctx, flow: Flow, spec: StepSpec) -> Screen:
        channels = present.paid_channels(ctx.services)
        cost = await service.paid_cost(ctx.uow, audience_of(ctx), channels)
        stars = fmt.number(float(cost.stars))
        text = _(
            "Gửi nhanh: {messengers} gửi tới {n} người với tốc độ tới 1.000 tin mỗi giây, phí {stars} Stars "
            "(0,1 Star mỗi tin) trừ vào số dư Stars của bot. Người nhận qua ứng dụng khác vẫn nhận như thường."
        ).format(
            messengers=present.messenger_names(ctx.services, channels),
            n=fmt.number(cost.messages),
            stars=stars,
        )
        options = (
            flow.option(
                spec, _("✅ Xác nhận trả {stars} Stars").format(stars=stars), str(cost.stars), "xac nhan"
            ),
            flow.option(spec, _("Quay lại"), BACK, "quay lai"),
        )
        return Screen(text, options)

    async def on_choice(self, ctx: Ctx, flow: Flow, spec: StepSpec, value: str) -> StepResult:
        if value == BACK:
            return Jump(Step.PREVIEW)
        cost = await service.paid_cost(ctx.uow, audience_of(ctx), present.paid_channels(ctx.services))
        if str(cost.stars) != value:
            return Retry(_("Số người nhận vừa thay đổi, phí cũng đổi theo. Vui lòng xem lại."))
        return Accept(value)


flow.step(Step.TEXT, AnnouncementText())
flow.step(
    Step.ROLES,
    MultiSelect(
        lazy_gettext("Chọn vai trò nhận thông báo (chọn lần nữa để bỏ), rồi chọn «Xong»."),
        _role_choices,
        read_many=_read_roles,
        invalid=lazy_gettext("Vui lòng chọn một mục bên dưới."),
    ),
    when=_never,
)
flow.step(
    Step.PROVINCE,
    ProvinceOrAll(
        lazy_gettext("Gửi cho tỉnh nào? Chọn hoặc gõ tên tỉnh."),
        everywhere=lazy_gettext("Cả nước"),
        shortlist=_shortlist,
    ),
    key="province_code",
    when=_never,
    after=_forget_ward,
)
flow.step(
    Step.WARD,
    WardOrAll(
        lazy_gettext("Cả {province} hay một xã/phường? Gõ tên xã/phường, hoặc chọn «Cả tỉnh»."),
        province=lambda ctx: int(ctx.answers["province_code"]),
        whole=lazy_gettext("Cả tỉnh"),
    ),
    key="ward_code",
    when=lambda ctx: ctx.answers.get("province_code") is not None,
)
flow.step(
    Step.PRODUCTS,
    MultiSelect(
        lazy_gettext(
            "Gửi cho người theo dõi sản phẩm nào? Chọn (chọn lần nữa để bỏ) hoặc gõ tên sản phẩm, rồi chọn «Xong»."
        ),
        _product_choices,
        read_many=_read_products,
        invalid=lambda ctx: _("Không tìm thấy sản phẩm «{text}». Vui lòng chọn hoặc gõ lại.").format(
            text=ctx.text[:40]
        ),
    ),
    when=_never,
)
flow.step(Step.AUDIENCE, AudienceMenu())
flow.step(Step.PREVIEW, Preview(), key="send")
flow.step(
    Step.WHEN,
    SendTime(
        _when_question,
        _read_when,
        _when_invalid,
        check=_check_when,
        extra=lambda ctx: [Choice(_("Quay lại"), BACK, ("quay lai",))],
    ),
    key="send_at",
    when=lambda ctx: ctx.answers.get("send") == Send.LATER,
)
flow.step(Step.PAID, PaidConfirm(), key="paid_stars", when=lambda ctx: ctx.answers.get("send") == Send.PAID)


@flow.committer
async def send(ctx: Ctx) -> None:
    a = ctx.answers
    how = a.get("send")
    new = NewAnnouncement(
        text=a["text"],
        audience=audience_of(ctx),
        send_at=dt.datetime.fromisoformat(a["send_at"]) if how == Send.LATER else None,
        paid_channels=present.paid_channels(ctx.services) if how == Send.PAID else frozenset(),
        agreed_stars=a.get("paid_stars"),
    )
    outcome = await service.create(ctx.uow, ctx.user, new, now=ctx.now)
    ctx.leave()
    if outcome is NotCreated.NOBODY:
        ctx.say(_("Không còn ai trong nhóm người nhận này. Gõ /thongbao để soạn lại."))
        return
    if outcome is NotCreated.COST_CHANGED:
        ctx.say(_("Số người nhận vừa thay đổi, phí cũng đổi theo. Gõ /thongbao để xem lại."))
        return
    assert isinstance(outcome, Created)
    ctx.on_commit(_wake(ctx))
    ann = outcome.announcement
    if outcome.scheduled and ann.scheduled_at is not None:
        text = _("Đã hẹn gửi thông báo #{id} lúc {when} tới {n} người.").format(
            id=ann.id,
            when=fmt.datetime(ann.scheduled_at.astimezone(ctx.settings.tz)),
            n=fmt.number(outcome.recipients),
        )
    else:
        text = _("Đang gửi thông báo #{id} tới {n} người. Bạn sẽ nhận báo cáo tiến độ và kết quả.").format(
            id=ann.id, n=fmt.number(outcome.recipients)
        )
    ctx.say(text, [_stop_option(_("⛔ Dừng gửi thông báo #{id}").format(id=ann.id), ann.id)])


def _wake(ctx: Ctx) -> Callable[[], Awaitable[None]]:
    """Deliver the events (the broadcast's planning) and the replies now, not at the next poll."""
    services = ctx.services

    async def hook() -> None:
        services.wake_events()
        services.wake_outbox()

    return hook


def _stop_option(label: str, announcement_id: int) -> Option:
    return Option(label, StopBroadcast(announcement_id), ("dung", "dung gui", f"dung {announcement_id}"))


# --- stopping ------------------------------------------------------------------------------------


async def cmd_announce(ctx: Ctx, _args: str) -> None:
    await flow.start(ctx)


async def stop(ctx: Ctx, announcement_id: int) -> None:
    outcome = await service.cancel(ctx.uow, announcement_id, ctx.user)
    if outcome.announcement is None:
        ctx.say(_("Không tìm thấy thông báo #{id}.").format(id=announcement_id))
    elif not outcome.cancelled:
        ctx.say(
            _("Thông báo #{id} không còn chờ gửi nên không hủy được (đã gửi xong hoặc đã hủy).").format(
                id=announcement_id
            )
        )
    else:
        ctx.say(
            _(
                "Đã dừng thông báo #{id}: {withdrawn} tin chưa gửi đã được rút lại, {sent} tin đã gửi trước đó."
            ).format(
                id=announcement_id,
                withdrawn=fmt.number(outcome.withdrawn),
                sent=fmt.number(outcome.already_sent),
            )
        )


async def on_stop(ctx: Ctx, act: StopBroadcast) -> None:
    await stop(ctx, act.announcement_id)


async def cmd_stop(ctx: Ctx, args: str) -> None:
    """/huythongbao [số]: stop a broadcast, or list those that can still be stopped."""
    typed = args.strip().lstrip("#").strip()
    if typed:
        number = bounded_int(typed)
        if number is None:
            ctx.say(_("Không tìm thấy thông báo «{ref}».").format(ref=typed[:20]))
        else:
            await stop(ctx, number)
        return
    live = await service.stoppable(ctx.uow, ctx.user)
    if not live:
        ctx.say(_("Không có thông báo nào đang chờ gửi hoặc đang gửi."))
        return
    tz = ctx.settings.tz
    lines = [_("Thông báo có thể dừng:")]
    for ann in live:
        when = fmt.datetime((ann.scheduled_at or ann.created_at).astimezone(tz))
        lines.append(f"#{ann.id} · {when} · {ann.text[:40]}")
    ctx.say("\n".join(lines), [_stop_option(_("⛔ Dừng #{id}").format(id=a.id), a.id) for a in live])


def register(router: Router) -> None:
    router.flow(flow)
    router.command(
        Command(
            "thongbao",
            cmd_announce,
            lazy_gettext("Gửi thông báo"),
            roles=STAFF,
            staff=True,
            description=lazy_gettext("gửi thông báo tới nông dân, HTX, thương lái"),
        )
    )
    router.command(
        Command(
            "huythongbao",
            cmd_stop,
            lazy_gettext("Dừng thông báo"),
            roles=STAFF,
            staff=True,
            in_menu=False,
            description=lazy_gettext("dừng thông báo đang gửi hoặc đã hẹn giờ"),
        )
    )
    router.on(StopBroadcast, on_stop, roles=STAFF, audit_as="announcement_cancel")
