"""The ``parse`` sub-command: one line from the command line, or JSON lines from stdin."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from bot.parsing.parser import parse


def _arguments() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m bot parse", description="Parse a farmer's or trader's message."
    )
    ap.add_argument("--today", type=dt.date.fromisoformat, help="the day the message was sent (YYYY-MM-DD)")
    ap.add_argument("--jsonl", action="store_true", help='read {"today": ..., "text": ...} lines from stdin')
    ap.add_argument("text", nargs="?", help="the message")
    return ap


def main(argv: list[str]) -> int:
    """Run the ``parse`` sub-command (``argv`` excludes the word "parse"); returns the exit status."""
    ap = _arguments()
    args = ap.parse_args(argv)
    if args.jsonl:
        out = sys.stdout
        default_today = args.today or dt.date.today()
        days: dict[str, dt.date] = {}
        bad = 0
        for number, line in enumerate(sys.stdin, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                raw = item.get("today")
                today = (
                    (days.get(raw) or days.setdefault(raw, dt.date.fromisoformat(raw)))
                    if raw
                    else default_today
                )
                text = item.get("text", "")
                if not isinstance(text, str):
                    raise TypeError("text is not a string")
            except (ValueError, TypeError, AttributeError) as exc:
                # One answer per line, in order: a malformed line gets an error object, not a crash.
                bad += 1
                out.write(json.dumps({"error": f"line {number}: {type(exc).__name__}: {exc}"[:200]}) + "\n")
                continue
            out.write(parse(text, today).to_json_line() + "\n")
        out.flush()
        if bad:
            print(
                f'{bad} malformed line(s): expected {{"today": "YYYY-MM-DD", "text": ...}}', file=sys.stderr
            )
        return 2 if bad else 0
    if args.text is None:
        ap.error("give the message text, or --jsonl")
    result = parse(args.text, args.today or dt.date.today())
    print(json.dumps(result.to_json(), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
