"""Does restoring diacritics with pyvi before parsing help? Accuracy and speed with and without it.

pyvi is not a dependency of the bot (this measurement is why): ``pip install pyvi`` first.
Usage: python scripts/eval_pyvi.py [--file SET.jsonl ...]

For each set, three readings: the parser alone; pyvi's ``ViUtils.add_accents`` on every line first;
and pyvi only on lines typed entirely without diacritics (the only ones it could help).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path

from bot.parsing import FIELDS, parse

_SETS = Path(__file__).resolve().parent.parent / "tests" / "parsing"
_DEFAULT = [_SETS / "labelled.jsonl", _SETS / "styles_dev.jsonl", _SETS / "styles_holdout.jsonl"]


def _figures(rows: list[dict], prepare: Callable[[str], str]) -> dict[str, float]:
    fields_ok = lines_ok = 0
    start = time.process_time()
    for r in rows:
        got = parse(prepare(r["text"]), dt.date.fromisoformat(r["today"])).to_json()
        right = sum(got[k] == r["expected"][k] for k in FIELDS)
        fields_ok += right
        lines_ok += right == len(FIELDS)
    spent = time.process_time() - start
    return {
        "fields": round(fields_ok / (len(rows) * len(FIELDS)), 4),
        "messages": round(lines_ok / len(rows), 4),
        "lines_per_cpu_s": round(len(rows) / spent),
    }


def main() -> None:
    """Print one JSON line per set and reading."""
    from pyvi import ViUtils  # type: ignore[import-not-found]

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--file", type=Path, action="append")
    args = ap.parse_args()

    failures: list[str] = []

    def restore(text: str) -> str:
        try:
            return str(ViUtils.add_accents(text))
        except (KeyError, ValueError, IndexError):
            failures.append(text)  # pyvi raises on some capitals and symbols: keep the line as typed
            return text

    def restore_bare(text: str) -> str:
        return restore(text) if text.isascii() else text

    restore("warm up")
    for path in args.file or _DEFAULT:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        _figures(rows, str)  # builds the lazily made indexes before anything is timed
        for name, prepare in (("parser", str), ("pyvi_all", restore), ("pyvi_bare_lines", restore_bare)):
            failures.clear()
            figures = _figures(rows, prepare)
            print(json.dumps({"set": path.name, "reading": name, **figures, "pyvi_errors": len(failures)}))


if __name__ == "__main__":
    main()
