"""Amendments: a change of an accepted match's price or kilograms asked by one side, answered
by the other, expiring unanswered.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-12 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "amendments",
        sa.Column("id", _BigId, nullable=False),
        sa.Column("match_id", _BigId, nullable=False),
        sa.Column("proposer_id", _BigId, nullable=True),
        sa.Column("answerer_id", _BigId, nullable=True),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("old_value", sa.Integer(), nullable=False),
        sa.Column("new_value", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", _BigId, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('price', 'kg')", name=op.f("ck_amendments_kind")),
        sa.CheckConstraint("side IN ('rep', 'trader')", name=op.f("ck_amendments_side")),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'declined', 'expired', 'superseded', 'void')",
            name=op.f("ck_amendments_status"),
        ),
        sa.CheckConstraint("new_value > 0", name=op.f("ck_amendments_new_value")),
        sa.ForeignKeyConstraint(["match_id"], ["matches.id"], name=op.f("fk_amendments_match_id_matches")),
        sa.ForeignKeyConstraint(["proposer_id"], ["users.id"], name=op.f("fk_amendments_proposer_id_users")),
        sa.ForeignKeyConstraint(["answerer_id"], ["users.id"], name=op.f("fk_amendments_answerer_id_users")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_amendments_decided_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_amendments")),
    )
    op.create_index(op.f("ix_amendments_match_id"), "amendments", ["match_id"])
    op.create_index(op.f("ix_amendments_answerer_id"), "amendments", ["answerer_id"])
    op.create_index("ix_amendments_pending", "amendments", ["status", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_amendments_pending", table_name="amendments")
    op.drop_index(op.f("ix_amendments_answerer_id"), table_name="amendments")
    op.drop_index(op.f("ix_amendments_match_id"), table_name="amendments")
    op.drop_table("amendments")
