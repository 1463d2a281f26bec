"""A local console chat: what a newcomer sees when no messenger token is configured.

Buttons are shown numbered, exactly as Zalo shows them: type the number or the label. What
the person types goes to the inbox like any messenger's update; what the bot says comes back
through the outbox and :class:`ConsoleSender`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import Callable
from typing import TextIO

from bot.channels.numbered import options_lines
from bot.events import Incoming, Kind, Reply, SendResult, SendStatus, UpdateSink
from bot.i18n import _

CHAT_ID = "local"
PROMPT = "> "


def render(reply: Reply) -> str:
    """A reply as plain text with numbered options."""
    lines = [reply.text, *options_lines(reply, indent="  ")]
    if reply.attachment:
        lines.append(f"[{reply.attachment.filename}, {len(reply.attachment.data)} bytes]")
    return "\n".join(lines)


class ConsoleSender:
    """Prints what the outbox delivers to the console person (answers and notifications)."""

    channel = "console"

    def __init__(self, stdout: TextIO | None = None) -> None:
        self.out = stdout or sys.stdout
        self.printed = asyncio.Event()

    async def send(self, chat_id: str, reply: Reply) -> SendResult:
        self.out.write(render(reply) + "\n")
        self.out.flush()
        self.printed.set()
        return SendResult(SendStatus.SENT)


class ConsoleChannel:
    """Reads lines from a text stream into the inbox; one local person."""

    def __init__(
        self,
        sink: UpdateSink,
        sender: ConsoleSender,
        *,
        stdin: TextIO | None = None,
        readline: Callable[[], str] | None = None,
        answer_wait: float = 3.0,
    ) -> None:
        self.sink = sink
        self.sender = sender
        self.out = sender.out
        self._readline = readline or (stdin or sys.stdin).readline
        self._answer_wait = answer_wait

    def write(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def run(self) -> None:
        """Chat until end of input (Ctrl-D) or cancellation."""
        self.write(
            _("Nông Sản Bot (chế độ thử trên máy). Gõ /start để bắt đầu, /huy để hủy, Ctrl-D để thoát.")
        )
        while True:
            self.out.write(PROMPT)
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
                update_id=f"console:{uuid.uuid4().hex}",
            )
            self.sender.printed.clear()
            await self.sink([event])
            # Show the prompt again once the answer has been printed, not in the middle of it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.sender.printed.wait(), self._answer_wait)
                while True:
                    self.sender.printed.clear()
                    await asyncio.wait_for(self.sender.printed.wait(), 0.15)
