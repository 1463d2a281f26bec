"""The inbox (every update saved before it is acknowledged) and outbox priorities.

The inbox replaces ``processed_updates``: its unique (channel, update_id) is the duplicate
guard. The outbox gains a priority (0 reply, 1 notification, 2 broadcast) and the final
state ``unknown`` for a send whose outcome nobody can know (a crash or a lost answer).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OLD_STATUSES = "'pending', 'sending', 'sent', 'failed', 'blocked', 'cancelled'"
_NEW_STATUSES = _OLD_STATUSES + ", 'unknown'"


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", _BigId, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("update_id", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'done', 'failed')", name=op.f("ck_inbox_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("channel", "update_id", name=op.f("uq_inbox_channel")),
    )
    op.create_index(
        "ix_inbox_pending",
        "inbox",
        ["channel", "chat_id", "id"],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_inbox_received_at", "inbox", ["received_at"])
    op.drop_index("ix_processed_updates_processed_at", table_name="processed_updates")
    op.drop_table("processed_updates")

    op.drop_index("ix_outbox_due", table_name="outbox")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.SmallInteger(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("in_reply_to", sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_in_reply_to"), ["in_reply_to"], unique=False)
        batch_op.drop_constraint(op.f("ck_outbox_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_status"), f"status IN ({_NEW_STATUSES})")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("priority", server_default=None)
    op.create_index("ix_outbox_due", "outbox", ["status", "priority", "not_before", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.execute("UPDATE outbox SET status = 'failed' WHERE status = 'unknown'")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_status"), f"status IN ({_OLD_STATUSES})")
        batch_op.drop_index(batch_op.f("ix_outbox_in_reply_to"))
        batch_op.drop_column("in_reply_to")
        batch_op.drop_column("priority")
    op.create_index("ix_outbox_due", "outbox", ["status", "not_before", "id"])

    op.create_table(
        "processed_updates",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("update_id", sa.String(length=64), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "update_id", name=op.f("pk_processed_updates")),
    )
    op.create_index("ix_processed_updates_processed_at", "processed_updates", ["processed_at"])
    op.drop_index("ix_inbox_received_at", table_name="inbox")
    op.drop_index("ix_inbox_pending", table_name="inbox")
    op.drop_table("inbox")
