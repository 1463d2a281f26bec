"""The trade closes: pickups and weighing, payments, household payouts, gouging reports; on
people: bank account (VietQR), coop fee, no-shows, consent, erasure, temporary blocks.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OLD = "'proposed', 'accepted', 'scheduled', 'picked_up', 'declined', 'expired', 'cancelled'"
_NEW = (
    "'proposed', 'accepted', 'scheduled', 'picked_up', 'disputed', 'paid', "
    "'no_show', 'declined', 'expired', 'cancelled'"
)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("bank_bin", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("bank_account", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("coop_fee_pct", sa.Float(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("no_shows", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("weighed_kg", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("picked_up_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(op.f("ck_matches_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_matches_status"), f"status IN ({_NEW})")
    op.create_table(
        "pickups",
        sa.Column("match_id", _BigId, nullable=False),
        sa.Column("weighed_kg", sa.Integer(), nullable=False),
        sa.Column("grade_checked", sa.String(length=4), nullable=False),
        sa.Column("recorded_by", _BigId, nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disputed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_kg", sa.Integer(), nullable=True),
        sa.Column("surplus_kg", sa.Integer(), nullable=False),
        sa.Column("surplus_decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", _BigId, nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["match_id"], ["matches.id"], name=op.f("fk_pickups_match_id_matches")),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name=op.f("fk_pickups_recorded_by_users")),
        sa.ForeignKeyConstraint(["resolved_by"], ["users.id"], name=op.f("fk_pickups_resolved_by_users")),
        sa.PrimaryKeyConstraint("match_id", name=op.f("pk_pickups")),
    )
    op.create_table(
        "payments",
        sa.Column("match_id", _BigId, nullable=False),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("due_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("last_reminder_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["match_id"], ["matches.id"], name=op.f("fk_payments_match_id_matches")),
        sa.PrimaryKeyConstraint("match_id", name=op.f("pk_payments")),
    )
    op.create_table(
        "payouts",
        sa.Column("id", _BigId, nullable=False),
        sa.Column("match_id", _BigId, nullable=False),
        sa.Column("household", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("kg", sa.Integer(), nullable=False),
        sa.Column("gross_vnd", sa.BigInteger(), nullable=False),
        sa.Column("fee_vnd", sa.BigInteger(), nullable=False),
        sa.Column("net_vnd", sa.BigInteger(), nullable=False),
        sa.Column("user_id", _BigId, nullable=True),
        sa.ForeignKeyConstraint(["match_id"], ["matches.id"], name=op.f("fk_payouts_match_id_matches")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_payouts_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
    )
    op.create_index(op.f("ix_payouts_match_id"), "payouts", ["match_id"])
    op.create_table(
        "gouging_reports",
        sa.Column("id", _BigId, nullable=False),
        sa.Column("reporter_id", _BigId, nullable=False),
        sa.Column("trader_id", _BigId, nullable=True),
        sa.Column("trader_name", sa.String(length=100), nullable=True),
        sa.Column("match_id", _BigId, nullable=True),
        sa.Column("product_code", sa.String(length=40), nullable=True),
        sa.Column("price", sa.Integer(), nullable=True),
        sa.Column("province_code", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["users.id"], name=op.f("fk_gouging_reports_reporter_id_users")
        ),
        sa.ForeignKeyConstraint(["trader_id"], ["users.id"], name=op.f("fk_gouging_reports_trader_id_users")),
        sa.ForeignKeyConstraint(
            ["match_id"], ["matches.id"], name=op.f("fk_gouging_reports_match_id_matches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gouging_reports")),
    )
    op.create_index(op.f("ix_gouging_reports_reporter_id"), "gouging_reports", ["reporter_id"])
    op.create_index(op.f("ix_gouging_reports_province_code"), "gouging_reports", ["province_code"])
    op.create_index(op.f("ix_gouging_reports_created_at"), "gouging_reports", ["created_at"])


def downgrade() -> None:
    op.drop_table("gouging_reports")
    op.drop_index(op.f("ix_payouts_match_id"), table_name="payouts")
    op.drop_table("payouts")
    op.drop_table("payments")
    op.drop_table("pickups")
    op.execute("UPDATE matches SET status = 'picked_up' WHERE status IN ('disputed', 'paid')")
    op.execute("UPDATE matches SET status = 'cancelled' WHERE status = 'no_show'")
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_matches_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_matches_status"), f"status IN ({_OLD})")
        batch_op.drop_column("paid_at")
        batch_op.drop_column("picked_up_at")
        batch_op.drop_column("weighed_kg")
    with op.batch_alter_table("users", schema=None) as batch_op:
        for column in (
            "erased_at",
            "consent_at",
            "no_shows",
            "coop_fee_pct",
            "bank_account",
            "bank_bin",
            "blocked_until",
        ):
            batch_op.drop_column(column)
