"""Settings: safe defaults, and a bad value stops start-up with one clear line naming it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.channels.registry import configured
from bot.config import SettingsError, load_settings


def test_defaults_run_out_of_the_box(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "TELEGRAM_BOT_TOKEN", "ZALO_BOT_TOKEN", "ADMIN_IDS"):
        monkeypatch.delenv(name, raising=False)
    s = load_settings(_env_file=None)
    assert s.database_url.startswith("sqlite+aiosqlite:///data/")
    assert configured(s) == ["console"]
    assert (s.default_locale, s.timezone) == ("vi", "Asia/Ho_Chi_Minh")


def test_token_is_secret_and_selects_telegram(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("ADMIN_IDS", "telegram:1, telegram:2")
    s = load_settings(_env_file=None)
    assert configured(s) == ["telegram"]
    assert "abc" not in repr(s)
    assert s.admin_ids == ("telegram:1", "telegram:2")


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("ADMIN_IDS", "bob", "ADMIN_IDS"),
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
        ("DEFAULT_LOCALE", "fr", "DEFAULT_LOCALE"),
        ("HTTP_PORT", "99999", "HTTP_PORT"),
    ],
)
def test_a_bad_setting_names_itself(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, words: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=words):
        load_settings(_env_file=None)


def test_python_m_bot_refuses_a_bad_setting_with_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"PATH": "/usr/bin:/bin", "TIMEZONE": "Nowhere/Land"}
    proc = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "TIMEZONE" in lines[0]


def test_an_unreachable_messenger_stops_start_up_with_one_line_and_no_token(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {
        "PATH": "/usr/bin:/bin",
        "TELEGRAM_BOT_TOKEN": "123:VERYSECRET",
        "HTTP_PORT": "0",
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",  # nothing listens on the discard port
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("Start-up failed: NetworkError")
    assert "VERYSECRET" not in proc.stderr
