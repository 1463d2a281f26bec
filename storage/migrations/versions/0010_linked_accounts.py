"""One person, several messengers: accounts (one row per messenger account, backfilled from the
users), one-time link codes, the messenger a person wants notifications on, merged tombstones.

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notify_channel", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("merged_into", _BigId, nullable=True))
        batch_op.create_foreign_key(op.f("fk_users_merged_into_users"), "users", ["merged_into"], ["id"])
    op.create_table(
        "accounts",
        sa.Column("id", _BigId, nullable=False),
        sa.Column("user_id", _BigId, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_accounts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("channel", "external_id", name=op.f("uq_accounts_channel")),
    )
    op.create_index(op.f("ix_accounts_user_id"), "accounts", ["user_id"])
    op.create_table(
        "link_codes",
        sa.Column("id", _BigId, nullable=False),
        sa.Column("user_id", _BigId, nullable=True),
        sa.Column("requested_by_channel", sa.String(length=16), nullable=False),
        sa.Column("requested_by_external_id", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_link_codes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_codes")),
    )
    op.create_index(op.f("ix_link_codes_user_id"), "link_codes", ["user_id"])
    op.create_index(
        "ix_link_codes_requester", "link_codes", ["requested_by_channel", "requested_by_external_id"]
    )
    # Every person so far has exactly one account: the one they registered with. An erased
    # account has none (its messenger id is gone: writing again makes a new person).
    op.execute(
        "INSERT INTO accounts (user_id, channel, external_id, chat_id, last_seen_at, linked_at) "
        "SELECT id, channel, external_id, chat_id, updated_at, created_at FROM users "
        "WHERE erased_at IS NULL ORDER BY id"
    )


def downgrade() -> None:
    op.drop_index("ix_link_codes_requester", table_name="link_codes")
    op.drop_index(op.f("ix_link_codes_user_id"), table_name="link_codes")
    op.drop_table("link_codes")
    op.drop_index(op.f("ix_accounts_user_id"), table_name="accounts")
    op.drop_table("accounts")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_users_merged_into_users"), type_="foreignkey")
        batch_op.drop_column("merged_into")
        batch_op.drop_column("notify_channel")
