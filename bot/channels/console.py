"""A local console chat: what a newcomer sees when no messenger token is configured.

Buttons are shown numbered, exactly as Zalo will show them: type the number or the label.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from itertools import count
from typing import TextIO

from bot.channels.numbered import options_lines
from bot.events import Incoming, Kind, Reply, SendResult, SendStatus, UpdateHandler
from bot.i18n import _

CHAT_ID = "local"


def render(reply: Reply) -> str:
    """A reply as plain text with numbered options."""
    lines = [reply.text, *options_lines(reply, indent="  ")]
    if reply.attachment:
        lines.append(f"[{reply.attachment.filename}, {len(reply.attachment.data)} bytes]")
    return "\n".join(lines)


class ConsoleChannel:
    """Reads lines from a text stream, answers on another; one local person."""

    def __init__(
        self,
        handler: UpdateHandler,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        readline: Callable[[], str] | None = None,
    ) -> None:
        self.handler = handler
        self.out = stdout or sys.stdout
        self._readline = readline or (stdin or sys.stdin).readline
        self._ids = count(1)

    def write(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def run(self) -> None:
        """Chat until end of input (Ctrl-D) or cancellation."""
        self.write(
            _("Nông Sản Bot (chế độ thử trên máy). Gõ /start để bắt đầu, /huy để hủy, Ctrl-D để thoát.")
        )
        while True:
            self.out.write("> ")
            self.out.flush()
            line = await asyncio.to_thread(self._readline)
            if not line:
                return
            text = line.rstrip("\n")
            if not text.strip():
                continue
            event = Incoming(
                channel="console",
                chat_id=CHAT_ID,
                user_id=CHAT_ID,
                kind=Kind.TEXT,
                text=text,
                update_id=None,
                display_name=None,
            )
            for reply in await self.handler(event):
                self.write(render(reply))


class ConsoleSender:
    """Outbox deliveries to the console person (notifications, proposals)."""

    channel = "console"

    def __init__(self, stdout: TextIO | None = None) -> None:
        self.out = stdout or sys.stdout

    async def send(self, chat_id: str, reply: Reply) -> SendResult:
        self.out.write("\n🔔 " + render(reply) + "\n")
        self.out.flush()
        return SendResult(SendStatus.SENT)
