"""The audit log for admins: action names as people read them, the chain check, and the export.

The log is read, checked and exported here; nothing here (or anywhere in the bot) changes
or deletes an entry. Reading it out of the bot (an export) and checking it are audited too.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import _
from bot.presentation.reports import action_label
from bot.reports import sheets
from storage import dto
from storage.uow import UnitOfWork

FORMATS = ("xlsx", "csv")


async def verify(uow: UnitOfWork, actor_id: int | None, *, via: str = "bot") -> dto.AuditCheck:
    """Check the whole chain, then record that it was checked (and what was found)."""
    check = await uow.audit.verify()
    await uow.audit.add(
        actor_id,
        "audit_verify",
        None,
        details={
            "via": via,
            "checked": check.checked,
            "intact": check.intact,
            "broken_seq": check.broken.seq if check.broken else None,
            "problem": check.problem,
        },
    )
    return check


def headers() -> list[str]:
    return [
        _("Số thứ tự"),
        _("Mã"),
        _("Thời gian"),
        _("Người thực hiện"),
        _("Mã người dùng"),
        _("Thao tác"),
        _("Mã thao tác"),
        _("Đối tượng"),
        _("Được phép"),
        _("Chi tiết"),
        _("Mã băm trước"),
        _("Mã băm"),
    ]


FORMAT_OF_COLUMN = [
    "#,##0",
    None,
    "dd/mm/yyyy hh:mm:ss",
    None,
    None,
    None,
    None,
    None,
    None,
    None,
    None,
    None,
]


def _render(rows: list[list[Any]], fmt: str) -> bytes:
    if fmt == "xlsx":
        return sheets.xlsx_bytes([sheets.Sheet(_("Nhật ký"), headers(), rows, FORMAT_OF_COLUMN)])
    return sheets.csv_bytes(headers(), rows)


@dataclass(frozen=True, slots=True)
class AuditExport:
    filename: str
    content: bytes
    rows: int


async def export(
    uow: UnitOfWork, tz: ZoneInfo, fmt: str, actor_id: int | None, *, via: str = "bot"
) -> AuditExport:
    """The whole log, oldest first, as XLSX or CSV (through the inert writer); the export is audited."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    entries = [e async for batch in uow.audit.chain() for e in batch]
    people = await uow.users.by_ids(sorted({e.actor_id for e in entries if e.actor_id is not None}))
    rows: list[list[Any]] = []
    for e in entries:
        person = people.get(e.actor_id) if e.actor_id is not None else None
        who = (
            (person.name or person.key)
            if person
            else (_("hệ thống") if e.actor_id is None else f"#{e.actor_id}")
        )
        rows.append(
            [
                e.seq,
                e.id,
                e.created_at.astimezone(tz).replace(tzinfo=None, microsecond=0),
                who,
                e.actor_id,
                action_label(e.action),
                e.action,
                e.target,
                _("có") if e.allowed else _("bị từ chối"),
                json.dumps(e.details, ensure_ascii=False, sort_keys=True),
                e.prev_hash,
                e.hash,
            ]
        )
    # Writing a big workbook takes CPU time: off the event loop (the reader's locale goes along).
    content = await asyncio.to_thread(_render, rows, fmt)
    await uow.audit.add(
        actor_id, "audit_export", None, details={"via": via, "format": fmt, "rows": len(rows)}
    )
    return AuditExport(f"nhatky.{fmt}", content, len(rows))
