"""All configuration in one pydantic-settings class, read from the environment or ``.env``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")
# Prefixes of ADMIN_IDS entries (messenger names): checked when the settings are read.
CHANNELS = ("telegram", "zalo", "console")


class Settings(BaseSettings):
    """Every setting has a safe default so ``python -m bot`` runs out of the box."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_DATA_DIR / 'nongsan.db'}"
    # The local console's own files: its demo database, its log, the files the bot sends there.
    data_dir: Path = DEFAULT_DATA_DIR
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    zalo_bot_token: SecretStr | None = None
    zalo_api_base_url: str = "https://bot-api.zaloplatforms.com/bot"
    # The bot's HTTPS address (reaching HTTP_PORT). When set, messengers deliver updates by webhook
    # to it instead of polling, and files (charts, workbooks) are sent as links to it.
    public_url: str | None = None
    webhook_secret: SecretStr | None = None
    # The bot's name as people mention it in Zalo groups ("@Bot Nông Sản"), besides getMe's account name.
    zalo_bot_name: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    admin_ids: Annotated[tuple[str, ...], NoDecode] = ()
    default_locale: Literal["vi", "en"] = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    demo_data: bool = True
    # The local console normally needs a terminal; set this to drive it from a pipe (scripts).
    console_from_pipe: bool = False
    # Outbox pacing: Telegram's documented limits, for the whole bot (one process sends at a time).
    outbox_rate_per_s: float = Field(default=30.0, gt=0, le=1000)
    # Zalo publishes no rate; this is what its API tolerated, and 429s slow it further.
    zalo_rate_per_s: float = Field(default=30.0, gt=0, le=1000)
    # Some messengers refuse a send for passing faults as they do for a person who blocked the bot
    # (Zalo's 403): the person counts as blocked only after this many refusals in a row spanning
    # at least this many hours. A delivery, or a message from them, starts the count again.
    blocked_after_failures: int = Field(default=3, ge=1, le=100)
    blocked_after_hours: float = Field(default=24.0, ge=0, le=24 * 30)
    # Files sent as links (messengers that fetch files by URL) stop working after this many days.
    file_link_days: float = Field(default=7.0, gt=0, le=90)
    # Updates handled at once by this process (None: 8 on PostgreSQL, 1 on SQLite's single writer).
    inbox_concurrency: int | None = Field(default=None, ge=1, le=256)
    # Telegram paid broadcasts (allow_paid_broadcast, up to 1000 msg/s, 0.1 Star a message).
    telegram_paid_broadcast: bool = False
    max_text_length: int = Field(default=1000, ge=50, le=4000)
    # A fair share per person: a burst of FLOOD_BURST messages, then FLOOD_RATE_PER_S (the rest are
    # answered once with "chậm lại", then ignored; see bot/engine/flood.py).
    flood_burst: int = Field(default=8, ge=1, le=100_000)
    flood_rate_per_s: float = Field(default=1.0, gt=0, le=1000)
    # Anti-price-gouging: an offer more than this share below the reference price is held back.
    gouging_margin: float = Field(default=0.15, ge=0, le=0.9)
    proposal_timeout_hours: float = Field(default=24.0, gt=0, le=24 * 14)
    # A change of an accepted match (price, kilograms) the other side has not answered in this
    # long lapses and the match stays as it was.
    amendment_hours: float = Field(default=24.0, gt=0, le=24 * 14)
    # After the slot: the scales may differ from the agreed kg by this share (more is refused).
    weighing_tolerance: float = Field(default=0.10, ge=0, le=0.5)
    # A trader not seen this long after the slot ended: the seller is asked whether they came.
    no_show_grace_hours: float = Field(default=2.0, ge=0, le=72)
    # Unpaid this many days after the pickup: the trader is reminded (daily); then the province's
    # officials are told.
    payment_reminder_days: float = Field(default=2.0, gt=0, le=60)
    payment_escalation_days: float = Field(default=5.0, gt=0, le=120)
    # Personal data is kept only as long as needed (README, "Dữ liệu cá nhân"): sent messages and
    # half-finished conversations for this many days, broadcasts' delivery records longer.
    retention_days: int = Field(default=30, ge=3, le=3650)
    broadcast_retention_days: int = Field(default=180, ge=30, le=3650)
    # Lots at a collection point a rep proposed and no official approved yet: "wait" keeps them
    # from traders until it is approved; "warn" proposes them with a line saying it is unapproved.
    unapproved_points: Literal["wait", "warn"] = "wait"

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> tuple[str, ...]:
        if value is None or value == "":
            return ()
        if isinstance(value, str):
            items: list[object] = list(value.split(","))
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            raise ValueError("use a comma-separated list like telegram:1,telegram:2")
        keys = tuple(str(i).strip() for i in items if str(i).strip())
        for key in keys:
            channel, _, user = key.partition(":")
            if channel not in CHANNELS or not user:
                raise ValueError(f"'{key}' must look like telegram:12345")
        return keys

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{value}'") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://", "postgresql://")):
            raise ValueError("use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db")
        if value.startswith("postgresql://"):
            value = "postgresql+asyncpg://" + value.removeprefix("postgresql://")
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)


class SettingsError(Exception):
    """A bad setting, described in one line that names it."""


def load_settings(**overrides: object) -> Settings:
    """Read settings; a bad value raises :class:`SettingsError` with one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]).upper() or "settings"
        raise SettingsError(f"Invalid setting {name}: {err['msg']}") from None
