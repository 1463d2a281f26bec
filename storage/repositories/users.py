"""People and their roles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, delete, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dto, models
from storage.sql import insert_ignore
from storage.types import UTCDateTime, bounded_int, utcnow

# How precisely an account's "last seen" is kept: a person writing ten messages a minute costs
# one write, not ten (it orders a person's accounts and is shown to the minute).
SEEN_PRECISION = dt.timedelta(minutes=1)
_USERS = cast(Table, models.User.__table__)


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> dto.User | None:
        row = await self.session.get(models.User, user_id)
        return dto.from_row(dto.User, row) if row else None

    async def by_external(self, channel: str, external_id: str) -> dto.User | None:
        """The person a messenger account belongs to."""
        Account = models.Account
        row = await self.session.scalar(
            select(models.User)
            .join(Account, Account.user_id == models.User.id)
            .where(Account.channel == channel, Account.external_id == external_id)
        )
        if row is None:  # a person written straight into the table (a bulk import): no account row yet
            row = await self.session.scalar(
                select(models.User).where(
                    models.User.channel == channel, models.User.external_id == external_id
                )
            )
        return dto.from_row(dto.User, row) if row else None

    async def ensure(self, channel: str, external_id: str, chat_id: str | None, locale: str) -> dto.User:
        """The person behind a message, created unregistered the first time their account writes.

        ``chat_id`` is the account's private chat; None for a message written in a group, which
        changes nothing (a new person's private chat is their own id, as on Telegram and Zalo).
        A private message makes this account the person's delivery address (where notifications
        go) unless they chose another messenger.
        """
        Account = models.Account
        now = utcnow()
        # One query on the usual path: the account and its person together.
        found = (
            await self.session.execute(
                select(Account, models.User)
                .join(models.User, models.User.id == Account.user_id)
                .where(Account.channel == channel, Account.external_id == external_id)
            )
        ).first()
        if found is not None:
            account, person = found
            if chat_id is not None:
                if account.chat_id != chat_id or account.last_seen_at < now - SEEN_PRECISION:
                    await self.session.execute(
                        update(Account)
                        .where(Account.id == account.id)
                        .values(chat_id=chat_id, last_seen_at=now)
                    )
                here = (person.channel, person.external_id, person.chat_id) == (channel, external_id, chat_id)
                if not here or person.bot_blocked or person.send_failures:
                    # Perhaps the address moves here, or writing proves the person reachable again.
                    await self.deliver(person.id, account.id, wrote=True)
                    await self.session.refresh(person)
            return dto.from_row(dto.User, person)
        # The account's first message: its person (perhaps bulk-imported without one) and the account.
        row = await self.session.scalar(
            select(models.User).where(models.User.channel == channel, models.User.external_id == external_id)
        )
        if row is None:
            row = models.User(
                channel=channel, external_id=external_id, chat_id=chat_id or external_id, locale=locale
            )
            self.session.add(row)
            await self.session.flush()
        account = Account(
            user_id=row.id,
            channel=channel,
            external_id=external_id,
            chat_id=chat_id or row.chat_id,
            last_seen_at=now,
            linked_at=now,
        )
        self.session.add(account)
        await self.session.flush()
        user_id, account_id = account.user_id, account.id
        if chat_id is not None:
            await self.deliver(user_id, account_id, wrote=True)
        user = await self.get(user_id)
        assert user is not None
        return user

    async def deliver(self, user_id: int, prefer: int | None = None, *, wrote: bool = False) -> None:
        """Point the person's delivery address at the right account: the one on the messenger they
        chose, else ``prefer`` (the account that just wrote), else the one used last.

        ``wrote``: ``prefer`` just wrote to us privately, which proves it has not blocked the bot.
        """
        Account = models.Account
        user = await self.session.get(models.User, user_id)
        accounts = list(
            await self.session.scalars(
                select(Account)
                .where(Account.user_id == user_id)
                .order_by(Account.last_seen_at.desc(), Account.id.desc())
            )
        )
        if user is None or not accounts:
            return
        preferred = next((a for a in accounts if a.id == prefer), None)
        chosen = None
        if user.notify_channel is not None:
            on_channel = [a for a in accounts if a.channel == user.notify_channel]
            chosen = preferred if preferred in on_channel else next(iter(on_channel), None)
        chosen = chosen or preferred or accounts[0]
        values: dict[str, Any] = {}
        if (user.channel, user.external_id, user.chat_id) != (
            chosen.channel,
            chosen.external_id,
            chosen.chat_id,
        ):
            # A "blocked" mark was about the old address; the new one is tried afresh.
            values.update(
                channel=chosen.channel,
                external_id=chosen.external_id,
                chat_id=chosen.chat_id,
                bot_blocked=False,
                send_failures=0,
                failing_since=None,
            )
        elif wrote and chosen is preferred and (user.bot_blocked or user.send_failures):
            # Writing to us privately proves they unblocked the bot and can be reached.
            values.update(bot_blocked=False, send_failures=0, failing_since=None)
        if values:
            await self.update(user_id, **values)

    async def registered_with_phone(self, phone: str) -> list[dto.User]:
        """Registered people (not erased, not merged into another) with this phone number."""
        User = models.User
        rows = await self.session.scalars(
            select(User)
            .where(
                User.phone == phone,
                User.registered_at.is_not(None),
                User.merged_into.is_(None),
                User.erased_at.is_(None),
            )
            .order_by(User.id)
        )
        return [dto.from_row(dto.User, r) for r in rows]

    async def update(self, user_id: int, **values: Any) -> None:
        await self.session.execute(update(models.User).where(models.User.id == user_id).values(**values))

    async def send_refused(
        self, user_id: int, now: dt.datetime, *, failures: int, span: dt.timedelta
    ) -> bool:
        """Count one refused send; True when the person now counts as having blocked the bot
        (at least ``failures`` refusals in a row, the first at least ``span`` ago)."""
        User = models.User
        row = (
            await self.session.execute(
                update(User)
                .where(User.id == user_id)
                .values(
                    send_failures=User.send_failures + 1,
                    failing_since=func.coalesce(User.failing_since, literal(now, UTCDateTime())),
                )
                .returning(User.send_failures, User.failing_since)
            )
        ).first()
        if row is None:
            return False
        count, since = row
        if count < failures or since is None or now - since < span:
            return False
        await self.update(user_id, bot_blocked=True)
        return True

    async def reached(self, user_ids: Sequence[int]) -> None:
        """Messages reached these people: refusals counted so far no longer matter."""
        if not user_ids:
            return
        users = _USERS.c  # a plain table statement: it runs for every wave of sends
        await self.session.execute(
            update(_USERS)
            .where(users.id.in_(set(user_ids)), users.send_failures > 0)
            .values(send_failures=0, failing_since=None)
        )

    async def register(
        self,
        user_id: int,
        *,
        name: str,
        phone: str,
        role: str,
        province_code: int,
        ward_code: int,
        now: dt.datetime,
    ) -> None:
        await self.update(
            user_id,
            name=name,
            phone=phone,
            role=role,
            province_code=province_code,
            ward_code=ward_code,
            registered_at=now,
        )

    async def find(self, ref: str) -> dto.User | None:
        """A user by ``channel:id``, numeric internal id, or phone number."""
        ref = ref.strip()
        channel, sep, external = ref.partition(":")
        if sep:
            return await self.by_external(channel, external)
        conditions = [models.User.phone == ref[:20]]
        if (user_id := bounded_int(ref)) is not None:
            conditions.append(models.User.id == user_id)
        row = await self.session.scalar(select(models.User).where(or_(*conditions)).limit(1))
        return dto.from_row(dto.User, row) if row else None

    async def with_phone(self, phone: str) -> list[dto.User]:
        """Everyone registered with ``phone`` (one number may be used on two messengers), by id."""
        stmt = select(models.User).where(models.User.phone == phone[:20]).order_by(models.User.id)
        return [dto.from_row(dto.User, r) for r in await self.session.scalars(stmt)]

    async def with_role(self, roles: Sequence[str], province_code: int | None = None) -> list[dto.User]:
        stmt = select(models.User).where(models.User.role.in_(roles)).order_by(models.User.id)
        if province_code is not None:
            stmt = stmt.where(models.User.province_code == province_code)
        return [dto.from_row(dto.User, r) for r in await self.session.scalars(stmt)]

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(models.User)) or 0)

    # --- audiences and subscriptions (announcements, bulletins) ------------------------------

    def _audience_filter(
        self,
        *,
        roles: Sequence[str] = (),
        province_code: int | None = None,
        ward_code: int | None = None,
        products: Sequence[str] = (),
        muted_topic: str | None = None,
        channel: str | None = None,
    ) -> list[Any]:
        """WHERE clauses: registered, reachable people matching every given criterion.

        Within one criterion any value matches (role A or B); across criteria all must
        (role and province). ``muted_topic`` drops people who left that topic.
        """
        User, Sub = models.User, models.Subscription
        where: list[Any] = [
            User.registered_at.is_not(None),
            User.banned.is_(False),
            User.bot_blocked.is_(False),
        ]
        if roles:
            where.append(User.role.in_(list(roles)))
        if channel is not None:
            where.append(User.channel == channel)
        if province_code is not None:
            where.append(User.province_code == province_code)
        if ward_code is not None:
            where.append(User.ward_code == ward_code)
        if products:
            where.append(
                exists().where(Sub.user_id == User.id, Sub.topic.in_(list(products))).correlate(User)
            )
        if muted_topic:
            where.append(~exists().where(Sub.user_id == User.id, Sub.topic == muted_topic).correlate(User))
        return where

    async def audience_count(self, **criteria: Any) -> int:
        """How many people :meth:`audience_page` would return in total."""
        stmt = select(func.count()).select_from(models.User).where(*self._audience_filter(**criteria))
        return int(await self.session.scalar(stmt) or 0)

    async def audience_page(
        self, *, after_id: int = 0, limit: int = 1000, **criteria: Any
    ) -> list[tuple[int, str, str, str]]:
        """(id, channel, chat_id, locale) of the next ``limit`` matching people after ``after_id``.

        Keyset paging keeps memory flat for audiences of any size.
        """
        User = models.User
        stmt = (
            select(User.id, User.channel, User.chat_id, User.locale)
            .where(User.id > after_id, *self._audience_filter(**criteria))
            .order_by(User.id)
            .limit(limit)
        )
        return [(int(i), c, chat, loc) for i, c, chat, loc in (await self.session.execute(stmt)).all()]

    async def topics(self, user_id: int) -> set[str]:
        """The subscription rows of one person (product codes, and left notice kinds)."""
        Sub = models.Subscription
        return set(await self.session.scalars(select(Sub.topic).where(Sub.user_id == user_id)))

    async def set_topic(self, user_id: int, topic: str, on: bool) -> None:
        """Add (``on``) or remove one subscription row; idempotent."""
        Sub = models.Subscription
        if on:
            await insert_ignore(
                self.session,
                Sub.__table__,  # type: ignore[arg-type]
                {"user_id": user_id, "topic": topic, "created_at": utcnow()},
            )
        else:
            await self.session.execute(delete(Sub).where(Sub.user_id == user_id, Sub.topic == topic))

    async def subscribers(
        self, topics: Sequence[str], *, muted_topic: str | None = None
    ) -> list[tuple[str, dto.User]]:
        """(topic, registered reachable user) for everyone following one of ``topics``,
        except those who also hold ``muted_topic``."""
        Sub = models.Subscription
        stmt = (
            select(Sub.topic, models.User)
            .join(models.User, models.User.id == Sub.user_id)
            .where(Sub.topic.in_(list(topics)), *self._audience_filter(muted_topic=muted_topic))
            .order_by(Sub.topic, models.User.id)
        )
        rows = await self.session.execute(stmt)
        return [(topic, dto.from_row(dto.User, user)) for topic, user in rows.all()]

    async def followed_topics(self) -> list[str]:
        """Every topic somebody follows."""
        stmt = select(models.Subscription.topic).distinct().order_by(models.Subscription.topic)
        return list(await self.session.scalars(stmt))

    async def by_ids(self, ids: Sequence[int]) -> dict[int, dto.User]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(models.User).where(models.User.id.in_(set(ids))))
        return {r.id: dto.from_row(dto.User, r) for r in rows}

    async def on_channel(self, channel: str, limit: int = 50) -> list[dto.User]:
        """The people of one messenger (the local console's few), oldest first."""
        rows = await self.session.scalars(
            select(models.User).where(models.User.channel == channel).order_by(models.User.id).limit(limit)
        )
        return [dto.from_row(dto.User, r) for r in rows]
