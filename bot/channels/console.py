"""A local console chat: what a newcomer runs first, where they can play the whole village.

Options are numbered, exactly as Zalo shows them: type the number, the label or a sentence.
Several people share the terminal: ``:ai`` lists them, ``:la <số|tên>`` plays another one (the
prompt shows who); the demo people nobody is playing answer by themselves, like people do, so a
trade can be watched from the first harvest report to the payment. What the person types goes
to the inbox like any messenger's update; what the bot says comes back through the outbox and
:class:`ConsoleSender`, which also saves files under ``data/files`` and prints their path.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import sys
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bot.channels.numbered import options_lines
from bot.engine.menus import answer_key
from bot.events import Incoming, Kind, Reply, SendResult, SendStatus, UpdateSink
from bot.i18n import _
from bot.textnorm import fold

CHANNEL = "console"
YOU = "local"  # the newcomer's own chat
PROMPT = "> "
# What a demo person answers, in order of preference, among the options a message offers.
SCRIPTED_ANSWERS = (
    "dong y",
    "gio som nhat",
    "dung",
    "lay them",
    "da chuyen khoan",
    "da nhan tien",
    "xac nhan",
)
SCRIPT_DELAY = 1.5  # seconds a demo person "takes" to answer, so the newcomer can follow


@dataclass
class Someone:
    """A person in the terminal: their chat, name and role (empty until registered)."""

    chat_id: str
    name: str
    role: str = ""
    scripted: bool = False  # a demo person: answers by themselves while nobody plays them


@dataclass
class ConsoleSession:
    """Who is in the terminal, who is being played, and where files go."""

    out: TextIO
    files_dir: Path
    people: dict[str, Someone] = field(default_factory=dict)
    current: str = YOU

    def __post_init__(self) -> None:
        self.people.setdefault(YOU, Someone(YOU, _("Bạn")))

    def write(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    @property
    def prompt(self) -> str:
        who = self.people.get(self.current)
        return f"[{who.name if who else self.current}] {PROMPT}"


def render(reply: Reply) -> str:
    """A reply as plain text with numbered options."""
    return "\n".join([reply.text, *options_lines(reply, indent="  ")])


class ConsoleSender:
    """Prints what the outbox delivers to anyone in the terminal, and saves files."""

    channel = CHANNEL

    def __init__(self, session: ConsoleSession) -> None:
        self.session = session
        self.printed = asyncio.Event()
        self.listeners: list[Callable[[str, Reply], None]] = []

    async def send(self, chat_id: str, reply: Reply) -> SendResult:
        s = self.session
        lines = []
        if chat_id != s.current:
            who = s.people.get(chat_id)
            lines.append(f"🔔 → {who.name if who else chat_id}:")
        lines.append(render(reply))
        if reply.attachment is not None:
            path = self._save(reply.attachment.filename, reply.attachment.data)
            lines.append(_("📎 Đã lưu tệp: {path}").format(path=path))
        s.write("\n".join(lines))
        self.printed.set()
        for listener in self.listeners:
            listener(chat_id, reply)
        return SendResult(SendStatus.SENT)

    def _save(self, filename: str, data: bytes) -> Path:
        self.session.files_dir.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        safe = re.sub(r"[^\w.\-]", "_", filename)[:80] or "tep"
        path = self.session.files_dir / f"{stamp}-{safe}"
        path.write_bytes(data)
        return path


class ScriptedPeople:
    """The demo people nobody is playing answer their messages like people do (after a moment)."""

    def __init__(self, session: ConsoleSession, sink: UpdateSink) -> None:
        self.session, self.sink = session, sink
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, chat_id: str, reply: Reply) -> None:
        who = self.session.people.get(chat_id)
        if who is None or not who.scripted or chat_id == self.session.current:
            return
        choice = self.pick(reply)
        if choice is None:
            return
        task = asyncio.get_running_loop().create_task(self._answer(who, choice))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    def pick(reply: Reply) -> str | None:
        """The payload of the option a demo person chooses, if the message asks something they answer."""
        labelled = [(answer_key(c.label), c.payload) for c in reply.choices if c.payload]
        for wanted in SCRIPTED_ANSWERS:
            for label, payload in labelled:
                if label == wanted:  # the whole label: "Đúng" is not "Không đúng"
                    return payload
        return None

    async def _answer(self, who: Someone, payload: str) -> None:
        await asyncio.sleep(SCRIPT_DELAY)
        if who.chat_id == self.session.current:
            return  # the newcomer took over this person meanwhile
        await self.sink(
            [
                Incoming(
                    channel=CHANNEL,
                    chat_id=who.chat_id,
                    user_id=who.chat_id,
                    kind=Kind.BUTTON,
                    payload=payload,
                    update_id=f"console:{uuid.uuid4().hex}",
                    display_name=who.name,
                )
            ]
        )

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()


def _reader(stream: TextIO, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
    """Read lines in a daemon thread: Ctrl-C never waits for a pending read."""
    while True:
        try:
            line = stream.readline()
        except (OSError, ValueError):
            line = ""
        loop.call_soon_threadsafe(queue.put_nowait, line or None)
        if not line:
            return


class ConsoleChannel:
    """Reads lines from a text stream into the inbox, as whichever person is being played."""

    def __init__(
        self,
        sink: UpdateSink,
        sender: ConsoleSender,
        *,
        stdin: TextIO | None = None,
        people: Callable[[], Awaitable[list[Someone]]] | None = None,
        answer_wait: float = 3.0,
    ) -> None:
        self.sink = sink
        self.sender = sender
        self.session = sender.session
        self.stdin = stdin or sys.stdin
        self._people = people
        self._answer_wait = answer_wait

    async def refresh_people(self) -> None:
        if self._people is None:
            return
        for someone in await self._people():
            known = self.session.people.get(someone.chat_id)
            if known is None or someone.role:
                self.session.people[someone.chat_id] = someone

    async def run(self) -> None:
        """Chat until end of input (Ctrl-D) or cancellation (Ctrl-C)."""
        s = self.session
        # The greeting comes first, before anything waits: the newcomer sees it at once.
        s.write(_("Nông Sản Bot (chế độ thử trên máy). Gõ /start để bắt đầu, /huy để hủy, Ctrl-D để thoát."))
        s.write(_("Nhiều người dùng chung cửa sổ này: gõ :ai để xem, :la <số> để đóng vai người khác."))
        await self.refresh_people()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(
            target=_reader,
            args=(self.stdin, asyncio.get_running_loop(), queue),
            daemon=True,
            name="console-input",
        ).start()
        while True:
            s.out.write(s.prompt)
            s.out.flush()
            line = await queue.get()
            if line is None:
                return
            text = line.rstrip("\n")
            if not text.strip():
                continue
            if text.startswith(":"):
                await self.console_command(text[1:].strip())
                continue
            await self.say(text)

    async def say(self, text: str) -> None:
        """Send ``text`` as the person being played, and wait until the answer is printed."""
        who = self.session.people[self.session.current]
        event = Incoming(
            channel=CHANNEL,
            chat_id=who.chat_id,
            user_id=who.chat_id,
            kind=Kind.TEXT,
            text=text,
            update_id=f"console:{uuid.uuid4().hex}",
            display_name=who.name if who.chat_id != YOU else None,
        )
        self.sender.printed.clear()
        await self.sink([event])
        # Show the prompt again once the answer has been printed, not in the middle of it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.sender.printed.wait(), self._answer_wait)
            while True:
                self.sender.printed.clear()
                await asyncio.wait_for(self.sender.printed.wait(), 0.15)

    async def console_command(self, command: str) -> None:
        """``:ai`` lists the people; ``:la <số|tên>`` plays one of them."""
        s = self.session
        name, _sep, arg = command.partition(" ")
        await self.refresh_people()
        people = list(s.people.values())
        if fold(name) in ("ai", "nguoi", "who"):
            s.write(_("Những người trong cửa sổ này:"))
            for i, someone in enumerate(people, 1):
                mark = " ◀" if someone.chat_id == s.current else ""
                role = f" – {someone.role}" if someone.role else ""
                s.write(f"  {i}. {someone.name}{role}{mark}")
            s.write(_("Gõ :la <số> để đóng vai người đó."))
            return
        if fold(name) in ("la", "as", "dong vai"):
            target = self._find(arg, people)
            if target is None:
                s.write(_("Không có người «{who}». Gõ :ai để xem danh sách.").format(who=arg[:30]))
                return
            s.current = target.chat_id
            s.write(_("Bây giờ bạn là {name}.").format(name=target.name))
            return
        s.write(_("Lệnh của cửa sổ: :ai (ai đang ở đây), :la <số> (đóng vai người khác)."))

    @staticmethod
    def _find(arg: str, people: list[Someone]) -> Someone | None:
        arg = arg.strip()
        if arg.isdigit() and 1 <= int(arg) <= len(people):
            return people[int(arg) - 1]
        key = fold(arg)
        matches = [p for p in people if key and (key in fold(p.name) or key == fold(p.chat_id))]
        return matches[0] if len(matches) == 1 else None
