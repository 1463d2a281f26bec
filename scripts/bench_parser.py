"""Accuracy and speed of the free-text parser on the labelled sets.

Usage: python scripts/bench_parser.py [--seconds 3] [--file SET.jsonl ...] [--report] [--misses]

Prints one JSON line per set (lines, speed, field and line accuracy, accuracy per field and per
style); ``--report`` adds a readable table per set, ``--misses`` the lines that are not fully right.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bot.parsing import FIELDS, parse

_SETS = Path(__file__).resolve().parent.parent / "tests" / "parsing"
_DEFAULT = [_SETS / "labelled.jsonl", _SETS / "styles_dev.jsonl", _SETS / "styles_holdout.jsonl"]


def score(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], list[tuple[dict[str, Any], dict[str, Any]]]]:
    """Accuracy of one labelled set: overall, per field and per style; plus the lines with a wrong field."""
    per_field = dict.fromkeys(FIELDS, 0)
    styles: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # lines, fields right, lines right
    misses = []
    for r in rows:
        got = parse(r["text"], dt.date.fromisoformat(r["today"])).to_json()
        right = [k for k in FIELDS if got[k] == r["expected"][k]]
        for k in right:
            per_field[k] += 1
        s = styles[r.get("style", "oneline")]
        s[0] += 1
        s[1] += len(right)
        s[2] += len(right) == len(FIELDS)
        if len(right) != len(FIELDS):
            misses.append((r, got))
    n = len(rows)
    return {
        "lines": n,
        "field_accuracy": round(sum(per_field.values()) / (n * len(FIELDS)), 4),
        "line_accuracy": round(sum(s[2] for s in styles.values()) / n, 4),
        "per_field": {k: round(v / n, 4) for k, v in per_field.items()},
        "per_style": {
            name: {
                "lines": s[0],
                "fields": round(s[1] / (s[0] * len(FIELDS)), 4),
                "messages": round(s[2] / s[0], 4),
            }
            for name, s in sorted(styles.items())
        },
    }, misses


def speed(rows: list[dict[str, Any]], seconds: float) -> float:
    """Lines per second parsing the set over and over in this process."""
    cases = [(r["text"], dt.date.fromisoformat(r["today"])) for r in rows]
    lines = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for text, today in cases:
            parse(text, today)
        lines += len(cases)
    return lines / elapsed


def table(name: str, figures: dict[str, Any]) -> str:
    """A readable table of one set's figures."""
    out = [
        f"{name}: {figures['lines']} lines, fields {figures['field_accuracy']:.3f}, "
        f"messages {figures['line_accuracy']:.3f}, {figures.get('lines_per_s', 0)} lines/s",
        "  per field: " + ", ".join(f"{k} {v:.3f}" for k, v in figures["per_field"].items()),
        f"  {'style':<12} {'lines':>5} {'fields':>7} {'messages':>9}",
    ]
    for style, s in figures["per_style"].items():
        out.append(f"  {style:<12} {s['lines']:>5} {s['fields']:>7.3f} {s['messages']:>9.3f}")
    return "\n".join(out)


def main() -> None:
    """Score and time each set; print a JSON line per set (and a table with --report)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--file", type=Path, action="append", help="a labelled set (repeatable)")
    ap.add_argument("--report", action="store_true", help="also print a readable table per set")
    ap.add_argument("--misses", action="store_true", help="also print the lines not fully right")
    args = ap.parse_args()
    for path in args.file or _DEFAULT:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        figures, misses = score(rows)  # also warms the lazily built indexes before timing
        per_s = speed(rows, args.seconds)
        out = {"set": path.name, "seconds": args.seconds, "lines_per_s": round(per_s), **figures}
        print(json.dumps(out, ensure_ascii=False))
        if args.report:
            print(table(path.name, out))
        if args.misses:
            for r, got in misses:
                wrong = {k: (r["expected"][k], got[k]) for k in FIELDS if got[k] != r["expected"][k]}
                print(f"  miss [{r.get('style', '')}] {r['text']!r} {wrong}")


if __name__ == "__main__":
    main()
