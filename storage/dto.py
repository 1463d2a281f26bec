"""Plain dataclasses the repositories return: no ORM object ever leaves ``storage``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from typing import Any


def from_row[T](cls: type[T], row: Any) -> T:
    """Copy the dataclass's fields from an ORM row (lists and dicts are copied, not shared)."""
    values = {}
    for f in fields(cls):  # type: ignore[arg-type]
        value = getattr(row, f.name)
        if isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, dict):
            value = dict(value)
        values[f.name] = value
    return cls(**values)


ROLES = ("farmer", "coop_rep", "trader", "official", "admin")
SELF_CHOSEN_ROLES = ("farmer", "coop_rep", "trader")


@dataclass(frozen=True, slots=True)
class User:
    id: int
    channel: str
    external_id: str
    chat_id: str
    name: str | None
    phone: str | None
    role: str | None
    province_code: int | None
    ward_code: int | None
    locale: str
    registered_at: dt.datetime | None
    bot_blocked: bool
    banned: bool
    blocked_until: dt.datetime | None = None
    bank_bin: str | None = None
    bank_account: str | None = None
    coop_fee_pct: float = 0.0
    no_shows: int = 0
    consent_at: dt.datetime | None = None
    erased_at: dt.datetime | None = None
    send_failures: int = 0
    failing_since: dt.datetime | None = None
    notify_channel: str | None = None  # None: notifications go where the person wrote last
    merged_into: int | None = None  # a tombstone: this account now belongs to that person

    @property
    def key(self) -> str:
        """``channel:external_id``, the form used in ADMIN_IDS and /capquyen."""
        return f"{self.channel}:{self.external_id}"

    @property
    def registered(self) -> bool:
        return self.registered_at is not None


@dataclass(frozen=True, slots=True)
class Account:
    """One messenger account of a person."""

    id: int
    user_id: int
    channel: str
    external_id: str
    chat_id: str
    last_seen_at: dt.datetime
    linked_at: dt.datetime

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.external_id}"


@dataclass(frozen=True, slots=True)
class LinkCode:
    """A one-time link code as stored (its hash only); ``user_id`` None: a request that reached nobody."""

    id: int
    user_id: int | None
    requested_by_channel: str
    requested_by_external_id: str
    code_hash: str
    expires_at: dt.datetime
    attempts: int
    used_at: dt.datetime | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Conversation:
    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    channel: str
    chat_id: str
    user_id: int | None
    is_group: bool
    payload: dict[str, Any]
    status: str
    attempts: int
    not_before: dt.datetime
    announcement_id: int | None
    dedupe_key: str | None = None
    message_id: str | None = None  # the platform's id once sent
    priority: int = 1
    in_reply_to: int | None = None  # the inbox row it answers


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file served under signed links until ``expires_at``."""

    id: str
    name: str
    content: bytes
    content_type: str
    created_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class NewUpdate:
    """An update a channel received, to be saved in the inbox."""

    channel: str
    update_id: str
    chat_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class InboxItem:
    id: int
    channel: str
    update_id: str
    chat_id: str
    payload: dict[str, Any]
    status: str
    attempts: int
    received_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    actor_id: int | None
    action: str
    target: str | None
    allowed: bool
    details: dict[str, Any]
    created_at: dt.datetime
    seq: int = 0
    prev_hash: str = ""
    hash: str = ""


@dataclass(frozen=True, slots=True)
class AuditCheck:
    """The audit chain checked from its first entry: how many entries, the last hash, the first break."""

    checked: int
    head_hash: str | None
    broken: AuditEntry | None = None
    # "sequence": entries before it are missing; "link": the entry before it was changed or
    # replaced; "hash": the entry itself was changed.
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken is None


@dataclass(frozen=True, slots=True)
class CollectionPoint:
    id: int
    name: str
    province_code: int
    ward_code: int | None
    address: str | None
    latitude: float | None
    longitude: float | None
    opening_hours: str | None
    slot_capacity_kg: int
    slot_capacity_trucks: int
    status: str
    proposed_by: int | None


@dataclass(frozen=True, slots=True)
class LotShare:
    household: str
    phone: str | None
    kg: int


@dataclass(frozen=True, slots=True)
class Lot:
    id: int
    owner_id: int
    product_code: str
    quantity_kg: int
    remaining_kg: int
    grade: str
    certifications: tuple[str, ...]
    growing_area_code: str | None
    collection_point_id: int | None
    ready_from: dt.date
    ready_to: dt.date
    asking_price: int | None
    status: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    trader_id: int
    product_code: str
    quantity_kg: int
    remaining_kg: int
    price: int
    min_lot_kg: int
    pickup_from: dt.date
    pickup_to: dt.date
    provinces: tuple[int, ...]
    collection_points: tuple[int, ...]
    grades: tuple[str, ...]
    required_certs: tuple[str, ...]
    status: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Match:
    id: int
    lot_id: int
    order_id: int
    kg: int
    price: int
    status: str
    rep_accepted_at: dt.datetime | None
    trader_accepted_at: dt.datetime | None
    slot_id: int | None
    expires_at: dt.datetime | None
    created_at: dt.datetime
    weighed_kg: int | None = None
    picked_up_at: dt.datetime | None = None
    paid_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Amendment:
    id: int
    match_id: int
    proposer_id: int | None
    answerer_id: int | None
    side: str
    kind: str
    old_value: int
    new_value: int
    status: str
    expires_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: int | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ReferencePrice:
    id: int
    product_code: str
    province_code: int
    price: int
    valid_from: dt.date
    set_by: int | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class EntityEvent:
    id: int
    entity: str
    entity_id: int
    actor_id: int | None
    action: str
    details: dict[str, Any]
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class DomainEventRow:
    id: int
    subscriber: str
    kind: str
    payload: dict[str, Any]
    created_at: dt.datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class Pickup:
    match_id: int
    weighed_kg: int
    grade_checked: str
    recorded_by: int | None
    recorded_at: dt.datetime
    confirmed_at: dt.datetime | None
    disputed_at: dt.datetime | None
    claimed_kg: int | None
    surplus_kg: int
    surplus_decided_at: dt.datetime | None
    resolved_by: int | None
    resolved_at: dt.datetime | None

    def ready_to_pay(self) -> bool:
        """The weight stands (confirmed or settled) and any surplus has been decided."""
        return self.confirmed_at is not None and (self.surplus_kg == 0 or self.surplus_decided_at is not None)


@dataclass(frozen=True, slots=True)
class Payment:
    match_id: int
    amount_vnd: int
    due_since: dt.datetime
    method: str | None
    recorded_at: dt.datetime | None
    received_at: dt.datetime | None
    reminders: int
    last_reminder_at: dt.datetime | None
    escalated_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Payout:
    id: int
    match_id: int
    household: str
    phone: str | None
    kg: int
    gross_vnd: int
    fee_vnd: int
    net_vnd: int
    user_id: int | None


@dataclass(frozen=True, slots=True)
class GougingReport:
    id: int
    reporter_id: int
    trader_id: int | None
    trader_name: str | None
    match_id: int | None
    product_code: str | None
    price: int | None
    province_code: int | None
    note: str
    created_at: dt.datetime
