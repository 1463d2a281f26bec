"""The audit log becomes a hash chain: each entry's seq, prev_hash and hash; existing entries are chained.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
BATCH = 1000

audit_log = sa.table(
    "audit_log",
    sa.column("id", sa.BigInteger()),
    sa.column("seq", sa.BigInteger()),
    sa.column("actor_id", sa.BigInteger()),
    sa.column("action", sa.String()),
    sa.column("target", sa.String()),
    sa.column("allowed", sa.Boolean()),
    sa.column("details", sa.JSON()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _hash(prev_hash: str, seq: int, row: Any) -> str:
    # A frozen copy of storage.repositories.audit.entry_hash as it was when this revision was written.
    moment = row.created_at
    moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    canonical = _json(
        {
            "prev_hash": prev_hash,
            "seq": seq,
            "actor_id": row.actor_id,
            "action": row.action,
            "target": row.target,
            "allowed": bool(row.allowed),
            "details": json.loads(_json(row.details or {})),
            "created_at": moment.isoformat(timespec="microseconds"),
        }
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _chain_existing_entries() -> None:
    bind = op.get_bind()
    seq, prev_hash, after = 0, GENESIS, -1
    while True:
        rows = bind.execute(
            sa.select(
                audit_log.c.id,
                audit_log.c.actor_id,
                audit_log.c.action,
                audit_log.c.target,
                audit_log.c.allowed,
                audit_log.c.details,
                audit_log.c.created_at,
            )
            .where(audit_log.c.id > after)
            .order_by(audit_log.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            seq += 1
            digest = _hash(prev_hash, seq, row)
            bind.execute(
                audit_log.update()
                .where(audit_log.c.id == row.id)
                .values(
                    seq=seq,
                    prev_hash=prev_hash,
                    hash=digest,
                    details=json.loads(_json(row.details or {})),
                )
            )
            prev_hash = digest
        after = rows[-1].id


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _chain_existing_entries()
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_log_seq"), ["seq"])
        batch_op.create_unique_constraint(batch_op.f("uq_audit_log_prev_hash"), ["prev_hash"])


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_log_prev_hash"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_audit_log_seq"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
