"""Group subscriptions: a group chat that receives the announcements of its province.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "group_subscriptions",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("province_code", sa.Integer(), nullable=False),
        sa.Column("subscribed_by", _BigId, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscribed_by"],
            ["users.id"],
            name=op.f("fk_group_subscriptions_subscribed_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("channel", "chat_id", name=op.f("pk_group_subscriptions")),
    )
    op.create_index(op.f("ix_group_subscriptions_province_code"), "group_subscriptions", ["province_code"])


def downgrade() -> None:
    op.drop_index(op.f("ix_group_subscriptions_province_code"), table_name="group_subscriptions")
    op.drop_table("group_subscriptions")
