"""SQLAlchemy 2.0 models for every entity of the domain (see DESIGN.md, "Domain")."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import BigId, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Timestamped:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- people -------------------------------------------------------------------------------


class User(Timestamped, Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        CheckConstraint(
            "role IS NULL OR role IN ('farmer', 'coop_rep', 'trader', 'official', 'admin')", name="role"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str | None] = mapped_column(String(16), index=True)
    province_code: Mapped[int | None] = mapped_column(Integer, index=True)
    ward_code: Mapped[int | None] = mapped_column(Integer)
    locale: Mapped[str] = mapped_column(String(5), default="vi")
    registered_at: Mapped[dt.datetime | None]
    # The person blocked the bot (the messenger says so): never send again until they write.
    bot_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Sends refused in a row by a messenger whose refusals may pass (Zalo's 403), and since when:
    # only many refusals over a long time count as blocked; a delivery or a message resets them.
    send_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failing_since: Mapped[dt.datetime | None]
    # An admin blocked this person for spam: their messages are ignored.
    banned: Mapped[bool] = mapped_column(Boolean, default=False)
    # A flood of messages blocks the person for a while (audited; /bochan lifts it).
    blocked_until: Mapped[dt.datetime | None]
    # Where sellers are paid (VietQR): the bank's NAPAS BIN and the account number.
    bank_bin: Mapped[str | None] = mapped_column(String(8))
    bank_account: Mapped[str | None] = mapped_column(String(30))
    # A cooperative's fee on its households' proceeds, in percent (coop reps).
    coop_fee_pct: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    no_shows: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Personal data (Law 91/2025/QH15): when they consented, when they had their account erased.
    consent_at: Mapped[dt.datetime | None]
    erased_at: Mapped[dt.datetime | None]
    # The messenger notifications go to; None: the one the person used last (see Account).
    notify_channel: Mapped[str | None] = mapped_column(String(16))
    # This row was another account of a person, merged into that person (a tombstone kept so the
    # hash-chained audit log's actor ids still name someone).
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Account(Base):
    """One messenger account of a person; a person may link several (one history, one profile).

    The person's ``users.channel``/``external_id``/``chat_id`` is the address notifications go
    to: the account used last, or the one on the messenger they chose (``notify_channel``).
    """

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))  # the private chat with this account
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    linked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LinkCode(Base):
    """A one-time code sent through a registered account so that another account can join it.

    Only a keyed hash of the code is kept. ``user_id`` is None for a request that reached nobody
    (no one registered with that phone, or too many codes lately): it is answered and counted like
    any other, so the answers never tell whether a phone is registered.
    """

    __tablename__ = "link_codes"
    __table_args__ = (Index("ix_link_codes_requester", "requested_by_channel", "requested_by_external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    requested_by_channel: Mapped[str] = mapped_column(String(16))
    requested_by_external_id: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Subscription(Base):
    __tablename__ = "subscriptions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(40), primary_key=True)  # product code or notice kind
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- reference data -------------------------------------------------------------------------


class Product(Base):
    __tablename__ = "products"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_vi: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    perishable_days: Mapped[int] = mapped_column(Integer)
    price_min: Mapped[int] = mapped_column(Integer)
    price_max: Mapped[int] = mapped_column(Integer)
    synonyms: Mapped[list[Any]] = mapped_column(default=list)


class Province(Base):
    __tablename__ = "provinces"

    code: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(80))


class Ward(Base):
    __tablename__ = "wards"

    code: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    province_code: Mapped[int] = mapped_column(ForeignKey("provinces.code"), index=True)
    name: Mapped[str] = mapped_column(String(80))


class CollectionPoint(Timestamped, Base):
    __tablename__ = "collection_points"
    __table_args__ = (CheckConstraint("status IN ('proposed', 'active', 'closed')", name="status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    province_code: Mapped[int] = mapped_column(ForeignKey("provinces.code"), index=True)
    ward_code: Mapped[int | None] = mapped_column(ForeignKey("wards.code"))
    address: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    opening_hours: Mapped[str | None] = mapped_column(String(40))
    slot_capacity_kg: Mapped[int] = mapped_column(Integer, default=20_000)
    slot_capacity_trucks: Mapped[int] = mapped_column(Integer, default=4)
    status: Mapped[str] = mapped_column(String(10), default="active")
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PickupSlot(Base):
    __tablename__ = "pickup_slots"
    __table_args__ = (
        UniqueConstraint("point_id", "starts_at"),
        CheckConstraint("booked_kg <= capacity_kg AND booked_trucks <= capacity_trucks", name="capacity"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("collection_points.id"), index=True)
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    capacity_kg: Mapped[int] = mapped_column(Integer)
    capacity_trucks: Mapped[int] = mapped_column(Integer)
    booked_kg: Mapped[int] = mapped_column(Integer, default=0)
    booked_trucks: Mapped[int] = mapped_column(Integer, default=0)


# --- supply, demand, matches ----------------------------------------------------------------


class HarvestLot(Timestamped, Base):
    __tablename__ = "harvest_lots"
    __table_args__ = (
        CheckConstraint("remaining_kg >= 0 AND remaining_kg <= quantity_kg", name="remaining"),
        CheckConstraint(
            "status IN ('open', 'partly_matched', 'matched', 'expired', 'cancelled')", name="status"
        ),
        Index("ix_harvest_lots_open", "product_code", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"))
    quantity_kg: Mapped[int] = mapped_column(Integer)
    remaining_kg: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(4), default="1")
    certifications: Mapped[list[Any]] = mapped_column(default=list)
    growing_area_code: Mapped[str | None] = mapped_column(String(40))
    collection_point_id: Mapped[int | None] = mapped_column(ForeignKey("collection_points.id"))
    ready_from: Mapped[dt.date] = mapped_column(Date)
    ready_to: Mapped[dt.date] = mapped_column(Date)
    asking_price: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open")
    cancel_reason: Mapped[str | None] = mapped_column(String(200))


class LotShare(Base):
    """One household's part of a pooled coop lot, so proceeds can be split."""

    __tablename__ = "lot_shares"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("harvest_lots.id", ondelete="CASCADE"), index=True)
    household: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    kg: Mapped[int] = mapped_column(Integer)


class PurchaseOrder(Timestamped, Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("remaining_kg >= 0 AND remaining_kg <= quantity_kg", name="remaining"),
        CheckConstraint(
            "status IN ('open', 'partly_matched', 'matched', 'expired', 'cancelled')", name="status"
        ),
        Index("ix_orders_open", "product_code", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    trader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"))
    quantity_kg: Mapped[int] = mapped_column(Integer)
    remaining_kg: Mapped[int] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(Integer)
    min_lot_kg: Mapped[int] = mapped_column(Integer, default=0)
    pickup_from: Mapped[dt.date] = mapped_column(Date)
    pickup_to: Mapped[dt.date] = mapped_column(Date)
    provinces: Mapped[list[Any]] = mapped_column(default=list)
    collection_points: Mapped[list[Any]] = mapped_column(default=list)
    grades: Mapped[list[Any]] = mapped_column(default=list)
    required_certs: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="open")
    cancel_reason: Mapped[str | None] = mapped_column(String(200))


class Match(Timestamped, Base):
    __tablename__ = "matches"
    __table_args__ = (
        CheckConstraint("kg > 0", name="kg"),
        CheckConstraint(
            "status IN ('proposed', 'accepted', 'scheduled', 'picked_up', 'disputed', 'paid', "
            "'no_show', 'declined', 'expired', 'cancelled')",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("harvest_lots.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    kg: Mapped[int] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="proposed", index=True)
    rep_accepted_at: Mapped[dt.datetime | None]
    trader_accepted_at: Mapped[dt.datetime | None]
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("pickup_slots.id"))
    expires_at: Mapped[dt.datetime | None]
    closed_reason: Mapped[str | None] = mapped_column(String(200))
    # After the pickup: what the scales said (what is paid for), and when the money arrived.
    weighed_kg: Mapped[int | None] = mapped_column(Integer)
    picked_up_at: Mapped[dt.datetime | None]
    paid_at: Mapped[dt.datetime | None]


class Amendment(Timestamped, Base):
    """A change of an accepted match's price or kilograms that one side asks for and the other
    side answers: the match changes only when they agree."""

    __tablename__ = "amendments"
    __table_args__ = (
        CheckConstraint("kind IN ('price', 'kg')", name="kind"),
        CheckConstraint("side IN ('rep', 'trader')", name="side"),
        CheckConstraint(
            "status IN ('pending', 'accepted', 'declined', 'expired', 'superseded', 'void')", name="status"
        ),
        CheckConstraint("new_value > 0", name="new_value"),
        Index("ix_amendments_pending", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id"), index=True)
    proposer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answerer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    side: Mapped[str] = mapped_column(String(8))  # the side that answers: "rep" or "trader"
    kind: Mapped[str] = mapped_column(String(8))
    old_value: Mapped[int] = mapped_column(Integer)
    new_value: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    expires_at: Mapped[dt.datetime]
    decided_at: Mapped[dt.datetime | None]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Pickup(Base):
    """The pickup of a match at the collection point: the weight, the grade as checked, the
    seller's confirmation or their dispute and how an official settled it."""

    __tablename__ = "pickups"

    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id"), primary_key=True, autoincrement=False)
    weighed_kg: Mapped[int] = mapped_column(Integer)
    grade_checked: Mapped[str] = mapped_column(String(4))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[dt.datetime | None]
    disputed_at: Mapped[dt.datetime | None]
    claimed_kg: Mapped[int | None] = mapped_column(Integer)  # the seller's weight in a dispute
    # Weighed beyond the agreed kg: offered to the trader first; decided when they answer.
    surplus_kg: Mapped[int] = mapped_column(Integer, default=0)
    surplus_decided_at: Mapped[dt.datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[dt.datetime | None]


class Payment(Base):
    """What the trader owes for a picked-up match, how it was paid, and the seller's receipt."""

    __tablename__ = "payments"

    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id"), primary_key=True, autoincrement=False)
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    due_since: Mapped[dt.datetime] = mapped_column(default=utcnow)
    method: Mapped[str | None] = mapped_column(String(10))  # "cash" | "transfer" once recorded
    recorded_at: Mapped[dt.datetime | None]
    received_at: Mapped[dt.datetime | None]
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    last_reminder_at: Mapped[dt.datetime | None]
    escalated_at: Mapped[dt.datetime | None]


class Payout(Base):
    """One household's part of the payment for a pooled coop lot (they add up to the payment)."""

    __tablename__ = "payouts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id"), index=True)
    household: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    kg: Mapped[int] = mapped_column(Integer)
    gross_vnd: Mapped[int] = mapped_column(BigInteger)
    fee_vnd: Mapped[int] = mapped_column(BigInteger)
    net_vnd: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class GougingReport(Base):
    """A farmer's or coop rep's report of a trader who pushed the price down (/baoepgia)."""

    __tablename__ = "gouging_reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    trader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    trader_name: Mapped[str | None] = mapped_column(String(100))
    match_id: Mapped[int | None] = mapped_column(ForeignKey("matches.id"))
    product_code: Mapped[str | None] = mapped_column(String(40))
    price: Mapped[int | None] = mapped_column(Integer)
    province_code: Mapped[int | None] = mapped_column(Integer, index=True)
    note: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class ReferencePrice(Base):
    __tablename__ = "reference_prices"
    __table_args__ = (Index("ix_reference_prices_lookup", "product_code", "province_code", "valid_from"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"))
    province_code: Mapped[int] = mapped_column(ForeignKey("provinces.code"))
    price: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    set_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- communication ---------------------------------------------------------------------------


class Announcement(Timestamped, Base):
    __tablename__ = "announcements"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'scheduled', 'sending', 'done', 'cancelled')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    scheduled_at: Mapped[dt.datetime | None]
    total: Mapped[int] = mapped_column(Integer, default=0)
    # Sent to Telegram as a paid broadcast (allow_paid_broadcast): faster, for Stars.
    paid: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class OutboxMessage(Base):
    """A message the bot owes someone: a row first, then sent by the outbox worker."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'blocked', 'cancelled', 'unknown')",
            name="status",
        ),
        Index("ix_outbox_due", "status", "priority", "not_before", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    is_group: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10), default="pending")
    # 0: the answer to the person who just wrote; 1: personal notifications; 2: broadcasts.
    priority: Mapped[int] = mapped_column(SmallInteger, default=1)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Makes enqueueing idempotent: a broadcast re-planned after a crash adds nobody twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    announcement_id: Mapped[int | None] = mapped_column(ForeignKey("announcements.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(String(200))
    # The platform's id of the delivered message, so a later message can replace it (an edit).
    message_id: Mapped[str | None] = mapped_column(String(64))
    # The inbox row this message answers (a reply); no foreign key: inbox rows are pruned.
    in_reply_to: Mapped[int | None] = mapped_column(BigInteger, index=True)


class ConversationState(Base):
    __tablename__ = "conversation_state"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    flow: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InboxUpdate(Base):
    """An incoming update, saved before the messenger is told it arrived, then handled once.

    Unique per messenger and update id, so a redelivery is ignored; done rows are kept for a
    while to recognise late redeliveries, then pruned.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "update_id"),
        CheckConstraint("status IN ('pending', 'done', 'failed')", name="status"),
        # The workers' "oldest pending update of each chat" reads only pending rows.
        Index(
            "ix_inbox_pending",
            "channel",
            "chat_id",
            "id",
            postgresql_where=sql_text("status = 'pending'"),
            sqlite_where=sql_text("status = 'pending'"),
        ),
        Index("ix_inbox_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    update_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(String(200))


class AuditEntry(Base):
    """Who did which privileged action (or tried to), when.

    The entries form a hash chain (``seq`` 1, 2, 3...; each ``prev_hash`` is the ``hash`` of the
    entry before): changing or removing one breaks the chain from there on. The unique
    constraints keep it a single line even if two writers raced.
    """

    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("seq"), UniqueConstraint("prev_hash"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str | None] = mapped_column(String(120))
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class EntityEvent(Base):
    """History of a lot, order or match: every change, who made it and what changed."""

    __tablename__ = "entity_events"
    __table_args__ = (Index("ix_entity_events_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entity: Mapped[str] = mapped_column(String(10))
    entity_id: Mapped[int] = mapped_column(BigId)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(30))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SchedulerLease(Base):
    """A named lease held by one process (e.g. the scheduler leader) until it expires."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[dt.datetime]


# --- scheduled notices and job state ----------------------------------------------------------


class Notice(Timestamped, Base):
    """A recurring notice of one province (e.g. the weekly anti-price-gouging reminder)."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("province_code", "kind"),
        CheckConstraint(
            "weekday BETWEEN 0 AND 6 AND hour BETWEEN 0 AND 23 AND minute BETWEEN 0 AND 59", name="when"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    province_code: Mapped[int] = mapped_column(ForeignKey("provinces.code"))
    kind: Mapped[str] = mapped_column(String(20))
    # None: the default text from the gettext catalogs, in each reader's language.
    text: Mapped[str | None] = mapped_column(Text)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday, as in Python
    hour: Mapped[int] = mapped_column(Integer)
    minute: Mapped[int] = mapped_column(Integer)
    # The harvest season; only month and day count, it repeats every year. None: all year.
    season_from: Mapped[dt.date | None] = mapped_column(Date)
    season_to: Mapped[dt.date | None] = mapped_column(Date)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class JobRun(Base):
    """When each scheduled job last finished a run, so a restarted scheduler can catch up once."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_run_at: Mapped[dt.datetime]


# --- the conversation engine -------------------------------------------------------------------


class DomainEvent(Base):
    """Something that happened (a lot saved, a match accepted...), queued for one subscriber.

    Written in the transaction that made the change, so no subscriber (the matcher, the
    notifications) can miss it; the subscriber deletes the row once it has handled it.
    """

    __tablename__ = "domain_events"
    __table_args__ = (Index("ix_domain_events_due", "subscriber", "available_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscriber: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    available_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class ChatMenu(Base):
    """The options of the last message with options a chat actually received.

    A typed "2" or a typed label answers these, not a message still waiting in the outbox.
    """

    __tablename__ = "chat_menus"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    outbox_id: Mapped[int] = mapped_column(BigInteger)
    entries: Mapped[list[Any]] = mapped_column(default=list)  # [label, payload, synonyms]
    delivered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class GroupSubscription(Base):
    """A group chat (a cooperative's Zalo or Telegram group) that receives the officials'
    announcements for its province; a registered member switches it on or off with /dangky."""

    __tablename__ = "group_subscriptions"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    province_code: Mapped[int] = mapped_column(Integer, index=True)
    subscribed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AppSecret(Base):
    """Secrets the bot makes for itself once and shares between its processes (button signatures)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StoredFile(Base):
    """A file the bot serves from its own web server under signed, expiring links (charts and
    workbooks for messengers that fetch files by URL). In the database, so every process serves it."""

    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class PendingGrant(Base):
    """A role granted to a phone number nobody has registered with yet; applied at registration."""

    __tablename__ = "pending_grants"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
