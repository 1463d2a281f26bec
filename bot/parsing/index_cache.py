"""Indexes the parser builds from package data, kept on disk between runs so that a process starts fast.

Building the place-name indexes means importing the whole ``vietnam-provinces`` package and folding
some 25,000 names: half a second, longer than ``python -m bot parse --jsonl`` then needs for
thousands of lines. A cache file is named by a digest of everything it is built from (the source of
the modules that build it, the data package's ``__init__`` with its version, the Python version),
so a change to any of them builds a new file. A missing, unreadable or unwritable cache is never an
error: the indexes are then built in memory, as they always could be.
"""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

# Older files of one index kept next to the newest (two checkouts of different code may share the cache).
_KEEP = 4


def cache_dir() -> Path:
    """Where the files live: the user's cache directory (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nongsan-bot"


def digest(modules: Iterable[str]) -> str:
    """A short digest of the modules' source files (a package's ``__init__``), found without importing them."""
    h = hashlib.sha256(f"{sys.version} {marshal.version}".encode())
    for name in modules:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        h.update(name.encode() + b"\0")
        if origin and os.path.isfile(origin):
            h.update(Path(origin).read_bytes())
    return h.hexdigest()[:16]


def cached(name: str, modules: Iterable[str], build: Callable[[], Any], directory: Path | None = None) -> Any:
    """``build()``'s plain data (what ``marshal`` stores), read from the cache when built from the same modules."""
    folder = directory or cache_dir()
    path = folder / f"{name}-{digest(modules)}.marshal"
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        pass  # not there yet, or damaged: build it again
    data = build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a process reading at the same time sees no file or the whole file.
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{name}-", delete=False) as f:
            try:
                f.write(marshal.dumps(data))
                f.close()
                os.replace(f.name, path)
            finally:
                Path(f.name).unlink(missing_ok=True)
        older = sorted(folder.glob(f"{name}-*.marshal"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in older[_KEEP + 1 :]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only home or a full disk: the next process builds the indexes again
    return data
