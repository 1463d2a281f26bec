"""Splitting a long text into messages that fit a messenger's length limit.

Lengths are counted in UTF-16 code units: Telegram counts that way, and it is never fewer
than characters, so it is safe for a platform that counts characters (Zalo).
"""

from __future__ import annotations

__all__ = ["split_text", "utf16_units"]


def utf16_units(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (a character outside the BMP counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def _cut(line: str, limit: int) -> list[str]:
    """Break one over-long line, preferring the last space inside each window."""
    pieces: list[str] = []
    while utf16_units(line) > limit:
        # Largest prefix (in code points) that fits in ``limit`` UTF-16 units.
        end, units = 0, 0
        for ch in line:
            w = 2 if ord(ch) > 0xFFFF else 1
            if units + w > limit:
                break
            units += w
            end += 1
        space = line.rfind(" ", 0, end)
        cut = space + 1 if space > end // 2 else end
        pieces.append(line[:cut])
        line = line[cut:]
    if line:
        pieces.append(line)
    return pieces


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` UTF-16 units, on line boundaries if possible."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines(keepends=True):
        for piece in [line] if utf16_units(line) <= limit else _cut(line, limit):
            n = utf16_units(piece)
            if current and size + n > limit:
                chunks.append("".join(current))
                current, size = [], 0
            current.append(piece)
            size += n
    if current:
        chunks.append("".join(current))
    # A chunk may end in the newline that separated it from the next: the messenger would show it.
    return [c.rstrip("\n") for c in chunks if c.strip()]
