"""Start-up time and memory of `python -m bot` as a newcomer first runs it (console mode).

    python scripts/bench_startup.py [--runs 3]

Prints one JSON line: seconds from process start to "bot ready" (a new demo database under
DATA_DIR: migrations, reference data for 34 provinces and 3,321 wards, the demo village, the
console), and the resident memory at that moment.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def one_run() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DATA_DIR": tmp,  # no DATABASE_URL: the console's own demo database, with demo data
            "HTTP_PORT": "0",
            "PYTHONPATH": str(ROOT),
            "CONSOLE_FROM_PIPE": "1",
        }
        env.pop("DATABASE_URL", None)
        env.pop("TELEGRAM_BOT_TOKEN", None)
        env.pop("ZALO_BOT_TOKEN", None)
        log = Path(tmp) / "bot.log"  # the console writes its log to a file, not between messages
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            cwd=tmp,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        while not (log.exists() and "bot ready" in log.read_text(encoding="utf-8")):
            if proc.poll() is not None:
                raise SystemExit(f"the bot exited with {proc.returncode} before it was ready")
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        rss = psutil.Process(proc.pid).memory_info().rss / 2**20
        proc.communicate(input="", timeout=30)  # end of input ends the console session
    return elapsed, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = [one_run() for _ in range(args.runs)]
    print(
        json.dumps(
            {
                "runs": args.runs,
                "startup_s_median": round(statistics.median(r[0] for r in runs), 3),
                "startup_s_max": round(max(r[0] for r in runs), 3),
                "rss_mb_median": round(statistics.median(r[1] for r in runs), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
