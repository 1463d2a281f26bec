"""The layering rules of STYLE.md and docs/architecture.md, checked on the source:
channels → engine → handlers → services → storage; presentation builds every message."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.test_code_quality import ROOT, imports_of

BOT = ROOT / "bot"
MESSENGER_NAMES = re.compile(r"\b(telegram|zalo|console)\b", re.IGNORECASE)
# Where a messenger may be named: its adapters, the settings that hold its token, and the start-up
# code that composes the adapters into one process.
MAY_NAME_MESSENGERS = {BOT / "channels", BOT / "config.py", BOT / "app.py", BOT / "__main__.py"}


def modules(folder: str) -> list[Path]:
    return sorted((BOT / folder).rglob("*.py"))


def bot_imports(path: Path) -> set[str]:
    return {m for m in imports_of(path) if m.split(".")[0] == "bot"}


def test_services_import_no_handlers_channels_engine_or_presentation() -> None:
    banned = ("bot.handlers", "bot.channels", "bot.engine", "bot.presentation", "bot.app")
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in bot_imports(p) if m.startswith(banned))
        for p in modules("services")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_services_build_no_messages() -> None:
    """Texts, buttons and numbering live in the presentation layer, not in the rules."""
    names = {"Reply", "Choice", "Option", "Screen", "notify"}
    offenders = {}
    for path in modules("services"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        used = {
            a.asname or a.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for a in node.names
            if a.name in names
        }
        if used:
            offenders[str(path.relative_to(ROOT))] = sorted(used)
    assert offenders == {}


def test_handlers_never_touch_repositories() -> None:
    """Flows call services; ``ctx.uow.<repository>`` appears nowhere in bot/handlers."""
    pattern = re.compile(r"\buow\.(?!session\b)[a-z_]+\.")
    offenders = {
        str(p.relative_to(ROOT)): len(pattern.findall(p.read_text(encoding="utf-8")))
        for p in modules("handlers")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_messenger_is_named_outside_the_channels() -> None:
    offenders = {}
    for path in sorted(BOT.rglob("*.py")):
        if any(path == allowed or allowed in path.parents for allowed in MAY_NAME_MESSENGERS):
            continue
        hits = [
            n
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if MESSENGER_NAMES.search(line)
        ]
        if hits:
            offenders[str(path.relative_to(ROOT))] = hits
    assert offenders == {}


def test_the_matcher_is_told_only_by_domain_events() -> None:
    """services/matches.py no longer imports the matcher; no market_changed callback anywhere."""
    assert not any(m.startswith("bot.matching.service") for m in bot_imports(BOT / "services" / "matches.py"))
    offenders = [
        str(p.relative_to(ROOT)) for p in BOT.rglob("*.py") if "market_changed" in p.read_text("utf-8")
    ]
    assert offenders == []


def test_the_old_dialog_engine_is_gone() -> None:
    for old in (
        "dialog.py",
        "pipeline.py",
        "services/notify.py",
        "handlers/paging.py",
        "handlers/ward_answer.py",
    ):
        assert not (BOT / old).exists(), old
    offenders = [
        str(p.relative_to(ROOT)) for p in BOT.rglob("*.py") if {"bot.dialog", "bot.pipeline"} & bot_imports(p)
    ]
    assert offenders == []
