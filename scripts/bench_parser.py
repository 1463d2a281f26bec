"""Accuracy and speed of the free-text parser on the labelled sets.

Usage: python scripts/bench_parser.py [--seconds 3] [--file SET.jsonl ...] [--report] [--misses]
       python scripts/bench_parser.py --jsonl [--lines 10000] [--runs 3] [--file SET.jsonl ...]

Prints one JSON line per set (lines, speed, field and line accuracy, accuracy per field and per
style); ``--report`` adds a readable table per set, ``--misses`` the lines that are not fully right.
``--jsonl`` instead times ``python -m bot parse --jsonl`` end to end, start-up included, on the sets'
lines repeated up to ``--lines``: one JSON line with the median wall time of ``--runs`` runs (after
one untimed run that fills the place-name cache) and the lines per second it makes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import IO, Any

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


def cli_speed(paths: list[Path], lines: int, runs: int) -> dict[str, Any]:
    """Wall time of ``python -m bot parse --jsonl`` over the sets' lines repeated to ``lines``, start-up included."""
    cases = [
        json.dumps({"today": r["today"], "text": r["text"]}, ensure_ascii=False)
        for path in paths
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and (r := json.loads(line))
    ]
    repeated = (cases * (lines // len(cases) + 1))[:lines]
    command = [sys.executable, "-m", "bot", "parse", "--jsonl"]

    def run(stdin: IO[bytes]) -> tuple[float, float]:
        """Wall and CPU (user + system) seconds of one run."""
        stdin.seek(0)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, stdin=stdin, stdout=subprocess.DEVNULL, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} exited with {done.returncode}")
        return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime

    # Input from a file, as in `python -m bot parse --jsonl < big.jsonl`.
    with tempfile.TemporaryFile() as big, tempfile.TemporaryFile() as one:
        big.write(("\n".join(repeated) + "\n").encode())
        one.write((repeated[0] + "\n").encode())
        first, _ = run(big)  # a fresh install builds its place-name cache here
        timed = [run(big) for _ in range(runs)]
        startups = [run(one) for _ in range(runs)]
    wall = statistics.median(t[0] for t in timed)
    return {
        "command": "python -m bot parse --jsonl",
        "lines": len(repeated),
        "runs": runs,
        "first_run_s": round(first, 3),
        "wall_s": round(wall, 3),
        "cpu_s": round(statistics.median(t[1] for t in timed), 3),
        "startup_s": round(statistics.median(t[0] for t in startups), 3),  # one line in
        "lines_per_s": round(len(repeated) / wall),
    }


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
    ap.add_argument(
        "--jsonl", action="store_true", help="time `python -m bot parse --jsonl` end to end instead"
    )
    ap.add_argument("--lines", type=int, default=10_000, help="lines fed to --jsonl (the sets repeated)")
    ap.add_argument("--runs", type=int, default=3, help="timed --jsonl runs (the median is reported)")
    args = ap.parse_args()
    if args.jsonl:
        print(json.dumps(cli_speed(args.file or _DEFAULT, args.lines, args.runs)))
        return
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
