"""Typed button data: what a button means, as a small frozen dataclass, encoded short and signed.

Every button the bot shows carries an :class:`Action`, a frozen dataclass registered under a
short code with :func:`action`. It travels as ``code|field|field|signature`` (at most 64 bytes,
the strictest messenger's limit for button data). The signature is an HMAC of the rest with the bot's
secret, so a forged or altered button decodes to ``None``; integers are bounded on the way in,
so a forged id never reaches the database. Nothing outside this module builds button strings.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import hashlib
import hmac
import types
import typing
from typing import Any, ClassVar

from storage.types import MAX_INT, bounded_int

__all__ = ["MAX_PAYLOAD_BYTES", "Action", "ActionCodec", "action"]

MAX_PAYLOAD_BYTES = 64  # the strictest messenger's limit for button data
_SEP = "|"
_SIG_BYTES = 6  # 8 base64 characters: forging one by chance is a 1 in 2**48 try

_REGISTRY: dict[str, type[Action]] = {}


class Action:
    """Base of every button meaning; subclasses are frozen dataclasses made with :func:`action`."""

    CODE: ClassVar[str] = ""


def action[A: type[Action]](code: str) -> typing.Callable[[A], A]:
    """Register a frozen dataclass as the action encoded as ``code`` (short: it counts in 64 bytes)."""
    if not code or _SEP in code:
        raise ValueError(f"bad action code {code!r}")

    def register(cls: A) -> A:
        if code in _REGISTRY and _REGISTRY[code] is not cls:
            raise ValueError(f"action code {code!r} is taken by {_REGISTRY[code].__name__}")
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__} must be a dataclass")
        cls.CODE = code
        _REGISTRY[code] = cls
        return cls

    return register


def _encode_value(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, int):
        if not 0 <= value <= MAX_INT:
            raise ValueError(f"action number out of range: {value}")
        return str(value)
    text = str(value)
    if _SEP in text:
        raise ValueError(f"action text may not contain {_SEP!r}: {text!r}")
    return text


def _decode_value(kind: Any, raw: str) -> object:
    """``raw`` as ``kind``; raises ValueError when it cannot be one."""
    origin = typing.get_origin(kind)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if raw == "" and type(None) in typing.get_args(kind):
            return None
        kind = args[0]
    if kind is bool:
        if raw not in ("0", "1"):
            raise ValueError(raw)
        return raw == "1"
    if kind is int:
        number = bounded_int(raw)
        if number is None:
            raise ValueError(raw)
        return number
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(raw)
    return raw


class ActionCodec:
    """Encodes actions as signed button payloads and decodes them back (None when not ours)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the button secret must be at least 16 bytes")
        self._secret = secret

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()[:_SIG_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def encode(self, act: Action) -> str:
        """The payload of a button meaning ``act`` (raises if it would not fit 64 bytes)."""
        values = [getattr(act, f.name) for f in dataclasses.fields(act)]  # type: ignore[arg-type]
        body = _SEP.join([act.CODE, *(_encode_value(v) if v is not None else "" for v in values)])
        payload = f"{body}{_SEP}{self._sign(body)}"
        if len(payload.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"button payload longer than {MAX_PAYLOAD_BYTES} bytes: {body!r}")
        return payload

    def decode(self, payload: str | None) -> Action | None:
        """The action a button payload means; None for a forged, altered, stale-format or unknown one."""
        if not payload or len(payload.encode()) > MAX_PAYLOAD_BYTES:
            return None
        body, sep, signature = payload.rpartition(_SEP)
        if not sep or not hmac.compare_digest(signature, self._sign(body)):
            return None
        code, *raw = body.split(_SEP)
        cls = _REGISTRY.get(code)
        if cls is None:
            return None
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        if len(raw) != len(fields):
            return None
        hints = typing.get_type_hints(cls)
        try:
            values = {f.name: _decode_value(hints[f.name], r) for f, r in zip(fields, raw, strict=True)}
            return cls(**values)
        except (ValueError, TypeError):
            return None
