"""Who an announcement reaches, and the topics people can leave.

Subscriptions rows hold two kinds of topic: a product code is *joined* (the person follows
that product), while a notice kind is *left* — everybody receives announcements, price
bulletins and anti-gouging notices until they switch the kind off, which stores
``"-notice:..."``. Notices marked required ignore that choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.i18n import _

ANNOUNCEMENTS, PRICES, GOUGING = "notice:announcements", "notice:prices", "notice:gouging"
NOTICE_KINDS = (ANNOUNCEMENTS, PRICES, GOUGING)


def left_topic(kind: str) -> str:
    """The subscriptions row that says a person switched ``kind`` off."""
    return f"-{kind}"


def notice_label(kind: str) -> str:
    """The name of a notice kind as people read it."""
    labels = {
        ANNOUNCEMENTS: _("Thông báo chung"),
        PRICES: _("Giá tham chiếu"),
        GOUGING: _("Cảnh báo ép giá"),
    }
    return labels.get(kind, kind)


@dataclass(frozen=True)
class Audience:
    """Criteria combined with AND across kinds, OR within one kind (role A or B, in province P)."""

    roles: tuple[str, ...] = ()
    province_code: int | None = None
    ward_code: int | None = None
    products: tuple[str, ...] = ()
    required: bool = False  # reaches people who left the announcements topic too

    @property
    def everyone(self) -> bool:
        return not (self.roles or self.province_code or self.ward_code or self.products)

    def to_json(self) -> dict[str, Any]:
        return {
            "roles": list(self.roles),
            "province_code": self.province_code,
            "ward_code": self.ward_code,
            "products": list(self.products),
            "required": self.required,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Audience:
        data = data or {}
        return cls(
            roles=tuple(data.get("roles") or ()),
            province_code=data.get("province_code"),
            ward_code=data.get("ward_code"),
            products=tuple(data.get("products") or ()),
            required=bool(data.get("required")),
        )

    def criteria(self) -> dict[str, Any]:
        """Keyword arguments for ``uow.users.audience_count`` / ``audience_page``."""
        return {
            "roles": self.roles,
            "province_code": self.province_code,
            "ward_code": self.ward_code,
            "products": self.products,
            "muted_topic": None if self.required else left_topic(ANNOUNCEMENTS),
        }
