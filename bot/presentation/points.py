"""Collection points as people read them: the province's list, a point's card, the answers to an
official's decisions, the approval request officials receive when a rep proposes a point, and
the outcome the rep receives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import formatting as fmt
from bot.domain_events import PointProposed, PointReviewed
from bot.engine.actions import Action, action
from bot.engine.screens import Option, Screen
from bot.i18n import _, use_locale
from bot.presentation.notifications import renders
from bot.presentation.notify import notify
from bot.services import points as service
from bot.services.points import Closed, PointProblem
from storage import dto

if TYPE_CHECKING:
    from bot.container import Services
    from storage.uow import UnitOfWork

PAGE_SIZE = 8
APPROVE_SYNONYMS = ("duyet", "duyet diem", "dong y", "ok", "chap nhan", "co")
REJECT_SYNONYMS = ("tu choi", "khong duyet", "khong")


# --- the buttons (handled in bot.handlers.points; the engine checks the roles every time) -------------


@action("dtkl")
@dataclass(frozen=True, slots=True)
class ShowPoints(Action):
    page: int = 0


@action("dtkv")
@dataclass(frozen=True, slots=True)
class ViewPoint(Action):
    point_id: int


@action("dtka")
@dataclass(frozen=True, slots=True)
class AddPoint(Action):
    pass


@action("dtke")
@dataclass(frozen=True, slots=True)
class EditPoint(Action):
    point_id: int


@action("dtkc")
@dataclass(frozen=True, slots=True)
class ClosePoint(Action):
    point_id: int
    confirmed: bool = False


@action("dtkr")
@dataclass(frozen=True, slots=True)
class ReviewPoint(Action):
    point_id: int
    approve: bool


# --- texts -------------------------------------------------------------------------------------------


def problem_text(problem: PointProblem) -> str:
    """Why a typed value was refused, with what to type instead."""
    return {
        PointProblem.NAME: _("Tên điểm tập kết cần từ 2 đến 120 ký tự."),
        PointProblem.ADDRESS: _("Địa chỉ cần từ 3 đến 200 ký tự."),
        PointProblem.HOURS: _("Giờ mở cửa chưa đúng. Gõ theo dạng giờ mở - giờ đóng, ví dụ: 6:00-18:00."),
        PointProblem.CAPACITY_KG: _("Sức chứa mỗi khung giờ phải từ 1 đến 1.000.000 kg."),
        PointProblem.CAPACITY_TRUCKS: _("Số xe mỗi khung giờ phải từ 1 đến 200."),
    }[problem]


def place_text(services: Services, point: dto.CollectionPoint) -> str:
    """ "Xã Chi Lăng, Tỉnh Lạng Sơn" (or the province alone)."""
    places = services.places
    place = places.ward(point.ward_code) if point.ward_code else places.province(point.province_code)
    return place.label if place else ""


def details(services: Services, point: dto.CollectionPoint) -> str:
    """A point's card: where, when, how much per hourly slot."""
    status = {"active": _("đang hoạt động"), "proposed": _("chờ duyệt"), "closed": _("đã đóng")}
    lines = [
        f"📍 {point.name} ({status.get(point.status, point.status)})",
        _("Nơi: {place}").format(place=place_text(services, point)),
        _("Địa chỉ: {address}").format(address=point.address or "—"),
        _("Giờ mở cửa: {hours}").format(hours=point.opening_hours or "6:00-18:00"),
        _("Mỗi khung giờ: {kg}, {trucks} xe").format(
            kg=fmt.kg(point.slot_capacity_kg), trucks=point.slot_capacity_trucks
        ),
    ]
    if point.latitude is not None and point.longitude is not None:
        lines.append(_("Vị trí: {lat:.5f}, {lon:.5f}").format(lat=point.latitude, lon=point.longitude))
    return "\n".join(lines)


def review_options(point_id: int) -> tuple[Option, ...]:
    return (
        Option(_("✅ Duyệt"), ReviewPoint(point_id, True), APPROVE_SYNONYMS),
        Option(_("❌ Từ chối"), ReviewPoint(point_id, False), REJECT_SYNONYMS),
    )


def back_option() -> Option:
    return Option(_("« Danh sách"), ShowPoints(), ("danh sach",))


def point_options(point: dto.CollectionPoint) -> tuple[Option, ...]:
    if point.status == "proposed":
        return review_options(point.id)
    if point.status == "closed":
        return (back_option(),)
    return (
        Option(_("✏️ Sửa"), EditPoint(point.id), ("sua",)),
        Option(_("🚫 Đóng điểm"), ClosePoint(point.id), ("dong diem", "dong")),
        back_option(),
    )


def card(services: Services, point: dto.CollectionPoint, intro: str = "") -> Screen:
    """The card of one point with what may be done with it."""
    text = details(services, point)
    return Screen(f"{intro}\n{text}" if intro else text, point_options(point), columns=2)


def no_province() -> str:
    return _("Tài khoản của bạn chưa có tỉnh. Gõ /start để cập nhật.")


def not_found() -> str:
    return _("Không tìm thấy điểm tập kết này trong tỉnh của bạn.")


def points_list(
    services: Services, province_code: int, points: Sequence[dto.CollectionPoint], page: int
) -> Screen:
    """The province's points a page at a time (proposals first), with "add"."""
    pages = max(1, -(-len(points) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = points[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    name = services.places.provinces[province_code].name
    if not points:
        text = _("{province} chưa có điểm tập kết nào.").format(province=name)
    else:
        text = _("Điểm tập kết của {province} ({count} điểm). Chọn một điểm để xem, sửa hoặc duyệt:").format(
            province=name, count=len(points)
        )
    options = [
        Option(("🕓 " if p.status == "proposed" else "📍 ") + p.name[:40], ViewPoint(p.id)) for p in shown
    ]
    if page > 0:
        options.append(Option(_("« Trước"), ShowPoints(page - 1), ("truoc",)))
    if page < pages - 1:
        options.append(Option(_("Sau »"), ShowPoints(page + 1), ("sau", "tiep")))
    options.append(Option(_("➕ Thêm điểm"), AddPoint(), ("them", "them diem")))
    return Screen(text, tuple(options))


def review_answer(outcome: service.ReviewOutcome, approve: bool) -> str:
    """What the official who decided reads."""
    point = outcome.point
    if outcome.result is service.Review.NOT_FOUND or point is None:
        return not_found()
    if outcome.result is service.Review.ALREADY:
        return _("Điểm «{name}» đã được xử lý trước đó.").format(name=point.name)
    done = _("Đã duyệt điểm «{name}».") if approve else _("Đã từ chối điểm «{name}».")
    told = " " + _("Người đề xuất đã được báo.") if point.proposed_by else ""
    return done.format(name=point.name) + told


def close_question(point: dto.CollectionPoint) -> Screen:
    return Screen(
        _("Đóng điểm «{name}»? Bà con sẽ không chọn được điểm này nữa.").format(name=point.name),
        (Option(_("🚫 Đóng điểm"), ClosePoint(point.id, True), ("dong diem", "dong", "co")), back_option()),
    )


def closed_answer(point: dto.CollectionPoint, closed: Closed | None) -> str:
    if closed is None:
        return _("Điểm «{name}» đã đóng trước đó.").format(name=point.name)
    if closed.booked:
        return _("Đã đóng điểm «{name}». Lưu ý: còn {count} lượt lấy hàng đã đặt lịch ở điểm này.").format(
            name=point.name, count=closed.booked
        )
    return _("Đã đóng điểm «{name}».").format(name=point.name)


def edit_question(point: dto.CollectionPoint, options: Sequence[Option]) -> Screen:
    return Screen(_("Sửa gì ở «{name}»?").format(name=point.name), tuple(options), columns=2)


def gone_while_editing() -> str:
    return _("Điểm tập kết này đã đóng, không sửa được nữa.")


def saved(services: Services, point: dto.CollectionPoint) -> Screen:
    return card(services, point, _("Đã lưu."))


def added(point: dto.CollectionPoint) -> Screen:
    return Screen(_("Đã thêm điểm tập kết «{name}».").format(name=point.name), (back_option(),))


# --- notifications -------------------------------------------------------------------------------------


def approval_request(
    services: Services, point: dto.CollectionPoint, rep: dto.User | None, waiting: int
) -> Screen:
    """What an official is asked when a rep proposes a point (in the official's locale)."""
    lines = [
        _("Có điểm tập kết mới được đề xuất: «{name}», {address}, {place}. Duyệt điểm này?").format(
            name=point.name, address=point.address or "—", place=place_text(services, point)
        )
    ]
    if rep is not None:
        lines.append(
            _("Người đề xuất: {name} ({phone}).").format(name=rep.name or rep.key, phone=rep.phone or "—")
        )
    if waiting:
        lines.append(
            _("{kg} hàng đang chờ điểm này được duyệt mới được giới thiệu cho thương lái.").format(
                kg=fmt.kg(waiting)
            )
        )
    return Screen("\n".join(lines), review_options(point.id), columns=2)


@renders(PointProposed)
async def ask_officials(uow: UnitOfWork, services: Services, ev: PointProposed) -> None:
    """The province's officials (or the admins) are asked to approve a proposed point."""
    point = await uow.points.get(ev.point_id)
    if point is None or point.status != "proposed":
        return  # decided before the request went out
    rep = await service.proposer(uow, point)
    waiting = await service.waiting_kg(uow, point.id)
    for official in await service.approvers(uow, point):
        with use_locale(official.locale):
            screen = approval_request(services, point, rep, waiting)
        await notify(uow, services, official, screen, dedupe_key=f"point:proposed:{point.id}:{official.id}")


@renders(PointReviewed)
async def tell_proposer(uow: UnitOfWork, services: Services, ev: PointReviewed) -> None:
    """The rep hears whether their point was approved, and what to do with their lots if not."""
    point = await uow.points.get(ev.point_id)
    rep = await service.proposer(uow, point) if point is not None else None
    if point is None or rep is None:
        return
    with use_locale(rep.locale):
        if ev.approved:
            text = _(
                "Điểm tập kết «{name}» bạn đề xuất đã được cán bộ duyệt. Từ nay bà con có thể chọn điểm này."
            )
        else:
            text = _(
                "Điểm tập kết «{name}» bạn đề xuất chưa được duyệt. Vui lòng chọn điểm khác hoặc liên hệ cán bộ."
            )
        text = text.format(name=point.name)
        if not ev.approved and await service.has_waiting_lots(uow, point.id):
            text += "\n" + _(
                "Lô hàng ở điểm này sẽ không được giới thiệu cho thương lái: hãy hủy lô trong /cuatoi rồi báo "
                "lại với điểm khác."
            )
        screen = Screen(text)
    await notify(uow, services, rep, screen, dedupe_key=f"point:review:{point.id}")
