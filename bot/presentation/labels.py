"""Names of things as people read them: roles, statuses, grades, certificates, places, products."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.i18n import _

if TYPE_CHECKING:
    from bot.container import Services
    from storage import dto

FARMER, COOP_REP, TRADER, OFFICIAL, ADMIN = "farmer", "coop_rep", "trader", "official", "admin"
# "growing_area_code" as a certification means "the lot has a growing-area code" (the
# matcher's vocabulary); the code itself is stored on the lot.
AREA = "growing_area_code"
CERT_ORDER = ("vietgap", "globalgap", "ocop3", "ocop4", "ocop5", AREA)


def role_label(role: str | None) -> str:
    """The Vietnamese (or English) name of a role."""
    labels = {
        FARMER: _("Nông dân"),
        COOP_REP: _("Đại diện HTX"),
        TRADER: _("Thương lái"),
        OFFICIAL: _("Cán bộ"),
        ADMIN: _("Quản trị"),
    }
    return labels.get(role or "", _("Chưa đăng ký"))


def grade_label(code: str) -> str:
    """Loại 1 / Loại 2 / Xô."""
    return {"1": _("Loại 1"), "2": _("Loại 2"), "xo": _("Xô")}.get(code, code)


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
    """Where a lot, an order or a match stands, in words."""
    labels = {
        "open": _("Đang mở"), "partly_matched": _("Đã ghép một phần"), "matched": _("Đã ghép đủ"),
        "expired": _("Hết hạn"), "cancelled": _("Đã hủy"),
    }  # fmt: skip
    return labels.get(status, status)


def deal_status_label(status: str) -> str:
    """Where a match (a deal) stands, in words: "chờ trả lời", "đã chốt", "đã thanh toán"..."""
    labels = {
        "proposed": _("chờ trả lời"), "accepted": _("đã chốt"), "scheduled": _("đã hẹn giờ lấy"),
        "picked_up": _("đã lấy hàng"), "disputed": _("đang tranh chấp cân"), "paid": _("đã thanh toán"),
        "no_show": _("không đến"), "declined": _("bị từ chối"), "expired": _("hết hạn"),
        "cancelled": _("đã hủy"),
    }  # fmt: skip
    return labels.get(status, status)


def product_name(services: Services, code: str) -> str:
    product = services.catalog.get(code)
    return product.name_vi if product else code


def point_label(services: Services, point: dto.CollectionPoint) -> str:
    """ "Name (Xã X)" or "Name (Tỉnh Y)"."""
    place = services.places.ward(point.ward_code) if point.ward_code else None
    where = place.ward_name if place else services.places.provinces[point.province_code].name
    return f"{point.name} ({where})"
