"""The configuration in pyproject.toml holds: ruff (lint and format) and mypy are clean, and the
layering rules of STYLE.md are kept (storage never imports bot; only channels import telegram)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=240)


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_storage_imports_nothing_from_bot() -> None:
    offenders = [
        str(p)
        for p in (ROOT / "storage").rglob("*.py")
        if any(m.split(".")[0] == "bot" for m in imports_of(p))
    ]
    assert offenders == []


def test_only_channels_know_telegram() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "bot").rglob("*.py")
        if "channels" not in p.parts and any(m.split(".")[0] == "telegram" for m in imports_of(p))
    ]
    assert offenders == []


@pytest.mark.skipif(not (BIN / "ruff").exists(), reason="ruff not installed (dev extra)")
def test_ruff_lint_and_format_are_clean() -> None:
    lint = run(str(BIN / "ruff"), "check", "bot", "storage", "scripts", "tests")
    assert lint.returncode == 0, lint.stdout[-3000:]
    fmt = run(str(BIN / "ruff"), "format", "--check", "bot", "storage", "scripts", "tests")
    assert fmt.returncode == 0, fmt.stdout[-3000:]


@pytest.mark.skipif(not (BIN / "mypy").exists(), reason="mypy not installed (dev extra)")
def test_mypy_is_clean() -> None:
    result = run(str(BIN / "mypy"), "bot", "storage")
    assert result.returncode == 0, result.stdout[-3000:]
