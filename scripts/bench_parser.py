"""Parse the labelled set repeatedly for a few seconds in one process; print one JSON line of figures.

Usage: python scripts/bench_parser.py [--seconds 3] [--file tests/parsing/labelled.jsonl]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

from bot.parsing import FIELDS, parse

_DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "parsing" / "labelled.jsonl"


def main() -> None:
    """Run the benchmark and print {"lines", "seconds", "lines_per_s", "field_accuracy", "line_accuracy"}."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--file", type=Path, default=_DEFAULT)
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.file.read_text(encoding="utf-8").splitlines() if line.strip()]
    cases = [(r["text"], dt.date.fromisoformat(r["today"]), r["expected"]) for r in rows]

    fields_ok = lines_ok = 0
    for text, today, expected in cases:  # also warms the lazily built indexes before timing
        got = parse(text, today).to_json()
        right = sum(got[k] == expected[k] for k in FIELDS)
        fields_ok += right
        lines_ok += right == len(FIELDS)

    lines = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < args.seconds:
        for text, today, _ in cases:
            parse(text, today)
        lines += len(cases)
    print(
        json.dumps(
            {
                "lines": lines,
                "seconds": round(elapsed, 3),
                "lines_per_s": round(lines / elapsed),
                "field_accuracy": round(fields_ok / (len(cases) * len(FIELDS)), 4),
                "line_accuracy": round(lines_ok / len(cases), 4),
            }
        )
    )


if __name__ == "__main__":
    main()
