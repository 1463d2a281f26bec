"""The end-to-end benchmark still finds its way through the bot: a few scripted people register,
report lots, post orders and open /cuatoi against the real `python -m bot`, and nobody gets lost.
When a flow's questions change, this fails first: teach `scripts/bench_e2e.py` the new question."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def bench(*args: str) -> dict[str, object]:
    run = subprocess.run(
        [sys.executable, "scripts/bench_e2e.py", "--users", "3", "--no-echo", "--reply-timeout", "20", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result: dict[str, object] = json.loads(run.stdout)
    return result


def assert_everyone_got_through(result: dict[str, object]) -> None:
    finished, people = str(result["people_finished"]).split("/")
    assert finished == people and result["scenarios_failed"] == {}, result
    assert (result["lost"], result["duplicates"], result["error_replies"], result["off_script"]) == (
        0,
        0,
        0,
        0,
    )
    assert isinstance(result["updates"], int) and result["updates"] >= 3 * 15


def test_scripted_people_get_through_every_flow_on_sqlite() -> None:
    assert_everyone_got_through(bench("--db", "sqlite", "--broadcast", "20"))


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set")
def test_two_processes_behind_a_webhook_on_postgresql() -> None:
    result = bench("--db", "postgres", "--processes", "2", "--pg-url", PG_URL)
    assert result["transport"] == "webhook"
    assert_everyone_got_through(result)
