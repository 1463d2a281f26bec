"""Messengers whose refusals may pass (Zalo): refused sends counted per person before they count
as blocked; files served by the bot itself under signed, expiring links.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("send_failures", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "files",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
    )
    op.create_index(op.f("ix_files_expires_at"), "files", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_files_expires_at"), table_name="files")
    op.drop_table("files")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("failing_since")
        batch_op.drop_column("send_failures")
