"""A person's messenger accounts, the one-time codes that link a new one, and merging two people.

Merging moves every reference to the merged person (found through the foreign keys to
``users.id`` in the schema, so a table added later is not forgotten) to the person kept; the
hash-chained audit log is left as it is (its entries seal the actor's id), and the merged row
stays as a tombstone that says whom it became.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Table, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models
from storage.sql import insert_ignore_many

Account = models.Account
Code = models.LinkCode
# Foreign keys to users.id that merging leaves alone: the audit chain hashes its actor ids;
# users.merged_into is the tombstone's own pointer (handled on its own).
KEPT_AS_WRITTEN = frozenset({("audit_log", "actor_id"), ("users", "merged_into")})
# Foreign keys to users.id that are part of a key: merged as a union, not a plain update.
UNION = frozenset({("subscriptions", "user_id")})
DROPPED = frozenset({("link_codes", "user_id")})  # codes sent to the merged person die with it


def references_to_users() -> list[tuple[Table, Column[int]]]:
    """Every (table, column) holding a users.id, from the models' metadata."""
    found = []
    for table in models.Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "users" and fk.column.name == "id":
                found.append((table, fk.parent))
    return found


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- accounts ------------------------------------------------------------------------------
    async def of_user(self, user_id: int) -> list[dto.Account]:
        """The person's accounts, the one used last first."""
        rows = await self.session.scalars(
            select(Account)
            .where(Account.user_id == user_id)
            .order_by(Account.last_seen_at.desc(), Account.id.desc())
        )
        return [dto.from_row(dto.Account, r) for r in rows]

    async def get(self, account_id: int) -> dto.Account | None:
        row = await self.session.get(Account, account_id)
        return dto.from_row(dto.Account, row) if row else None

    async def find(self, channel: str, external_id: str) -> dto.Account | None:
        row = await self.session.scalar(
            select(Account).where(Account.channel == channel, Account.external_id == external_id)
        )
        return dto.from_row(dto.Account, row) if row else None

    async def relinked(self, account_id: int, now: dt.datetime) -> None:
        """The account has just joined its person (its link time is now)."""
        await self.session.execute(update(Account).where(Account.id == account_id).values(linked_at=now))

    async def remove(self, account_id: int, user_id: int) -> None:
        """The account no longer belongs to person ``user_id``: its next message makes a new person.

        Its chat starts afresh (no half-done flow, no menu to answer by number) and what was still
        waiting to be sent there for the person is not sent.
        """
        row = await self.session.get(Account, account_id)
        if row is None:
            return
        channel, chat = row.channel, row.chat_id
        await self.session.execute(delete(Account).where(Account.id == account_id))
        M = models
        await self.session.execute(
            delete(M.ConversationState).where(
                M.ConversationState.channel == channel, M.ConversationState.chat_id == chat
            )
        )
        await self.session.execute(
            delete(M.ChatMenu).where(M.ChatMenu.channel == channel, M.ChatMenu.chat_id == chat)
        )
        await self.session.execute(
            update(M.OutboxMessage)
            .where(
                M.OutboxMessage.channel == channel,
                M.OutboxMessage.chat_id == chat,
                M.OutboxMessage.user_id == user_id,
                M.OutboxMessage.status == "pending",
            )
            .values(status="cancelled")
        )

    async def remove_all(self, user_id: int) -> list[dto.Account]:
        """Remove every account of the person (erasure); returns what was removed."""
        accounts = await self.of_user(user_id)
        await self.session.execute(delete(Account).where(Account.user_id == user_id))
        return accounts

    # --- link codes ----------------------------------------------------------------------------
    async def add_code(
        self,
        *,
        user_id: int | None,
        channel: str,
        external_id: str,
        code_hash: str,
        expires_at: dt.datetime,
        now: dt.datetime,
    ) -> dto.LinkCode:
        row = Code(
            user_id=user_id,
            requested_by_channel=channel,
            requested_by_external_id=external_id,
            code_hash=code_hash,
            expires_at=expires_at,
            attempts=0,
            created_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return dto.from_row(dto.LinkCode, row)

    async def code(self, code_id: int) -> dto.LinkCode | None:
        row = await self.session.get(Code, code_id)
        return dto.from_row(dto.LinkCode, row) if row else None

    async def codes_sent_since(self, user_id: int, since: dt.datetime) -> int:
        """How many codes were sent to the person since ``since`` (a limit per hour)."""
        stmt = select(func.count()).select_from(Code).where(Code.user_id == user_id, Code.created_at >= since)
        return int(await self.session.scalar(stmt) or 0)

    async def asked_since(self, channel: str, external_id: str, since: dt.datetime) -> int:
        """How many codes (sent or not) this account asked for since ``since``."""
        stmt = (
            select(func.count())
            .select_from(Code)
            .where(
                Code.requested_by_channel == channel,
                Code.requested_by_external_id == external_id,
                Code.created_at >= since,
            )
        )
        return int(await self.session.scalar(stmt) or 0)

    async def unused_codes(self, channel: str, external_id: str) -> list[dto.LinkCode]:
        """Codes requested by this account and not used yet (expired or not), newest first."""
        rows = await self.session.scalars(
            select(Code)
            .where(
                Code.requested_by_channel == channel,
                Code.requested_by_external_id == external_id,
                Code.used_at.is_(None),
            )
            .order_by(Code.id.desc())
        )
        return [dto.from_row(dto.LinkCode, r) for r in rows]

    async def use_code(self, code_id: int, now: dt.datetime) -> bool:
        """Mark the code used; False if it already was (one use only, even in a race)."""
        result = await self.session.execute(
            update(Code).where(Code.id == code_id, Code.used_at.is_(None)).values(used_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def wrong_attempt(self, code_ids: list[int]) -> None:
        if code_ids:
            await self.session.execute(
                update(Code).where(Code.id.in_(code_ids)).values(attempts=Code.attempts + 1)
            )

    async def prune_codes(self, before: dt.datetime) -> None:
        """Forget codes made before ``before`` (long expired: they only counted towards the limits)."""
        await self.session.execute(delete(Code).where(Code.created_at < before))

    async def forget_codes(self, user_id: int, accounts: list[dto.Account]) -> None:
        """Codes sent to the person or asked for by their accounts (erasure)."""
        await self.session.execute(delete(Code).where(Code.user_id == user_id))
        for a in accounts:
            await self.session.execute(
                delete(Code).where(
                    Code.requested_by_channel == a.channel, Code.requested_by_external_id == a.external_id
                )
            )

    # --- merging two people ----------------------------------------------------------------------
    async def merge_people(self, *, keep: int, drop: int) -> None:
        """Everything of person ``drop`` becomes person ``keep``'s; ``drop`` stays as a tombstone.

        Lots, orders, deals, messages, accounts... move; subscriptions are united; no-shows add up;
        a bank account ``keep`` lacks is taken over. The audit log is left as written.
        """
        s = self.session
        for table, column in references_to_users():
            where = (table.name, column.name)
            if where in KEPT_AS_WRITTEN:
                continue
            if where in DROPPED:
                await s.execute(delete(table).where(column == drop))
            elif where in UNION:
                rows = [
                    dict(r._mapping) for r in (await s.execute(select(table).where(column == drop))).all()
                ]
                await insert_ignore_many(s, table, [{**r, column.name: keep} for r in rows])
                await s.execute(delete(table).where(column == drop))
            else:
                await s.execute(update(table).where(column == drop).values({column.name: keep}))
        User = models.User
        # Someone merged into ``drop`` earlier is now part of ``keep``.
        await s.execute(update(User).where(User.merged_into == drop).values(merged_into=keep))
        # The person's own history (consent, profile changes) is kept under their id too.
        await s.execute(
            update(models.EntityEvent)
            .where(models.EntityEvent.entity == "user", models.EntityEvent.entity_id == drop)
            .values(entity_id=keep)
        )
        kept, gone = await s.get(User, keep), await s.get(User, drop)
        assert kept is not None and gone is not None
        takes: dict[str, object] = {"no_shows": (kept.no_shows or 0) + (gone.no_shows or 0)}
        if not kept.bank_account and gone.bank_account:
            takes.update(bank_bin=gone.bank_bin, bank_account=gone.bank_account)
        await s.execute(update(User).where(User.id == keep).values(**takes))
        tombstone = f"merged:{drop}"
        await s.execute(
            update(User)
            .where(User.id == drop)
            .values(
                merged_into=keep,
                external_id=tombstone,  # frees the messenger id for the person kept
                chat_id=tombstone,
                name=None,
                phone=None,
                role=None,
                province_code=None,
                ward_code=None,
                registered_at=None,
                bank_bin=None,
                bank_account=None,
                no_shows=0,
                notify_channel=None,
                bot_blocked=True,  # nothing is ever sent to a tombstone
            )
        )
