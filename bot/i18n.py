"""Gettext catalogs from ``locales/`` with the current locale kept in a ContextVar.

Message ids are the Vietnamese texts (Vietnamese is every user's default); the ``en``
catalog translates them. Use ``_`` at run time and ``lazy_gettext`` for module-level
strings; never build a message id with an f-string.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.support import LazyProxy, NullTranslations, Translations

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
SUPPORTED = ("vi", "en")

_current: ContextVar[str] = ContextVar("locale", default="vi")


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalog for ``locale`` (a null catalog when it has not been compiled)."""
    return Translations.load(str(LOCALES_DIR), [locale], DOMAIN)


def current_locale() -> str:
    """The locale of the person being answered."""
    return _current.get()


def set_locale(locale: str | None) -> None:
    """Switch the current context to ``locale`` (unknown ones fall back to Vietnamese)."""
    _current.set(locale if locale in SUPPORTED else "vi")


@contextlib.contextmanager
def use_locale(locale: str | None) -> Iterator[None]:
    """Temporarily answer in ``locale``, e.g. while rendering a notification for someone else."""
    token = _current.set(locale if locale in SUPPORTED else "vi")
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    """Translate ``message`` into the current locale."""
    return translations(_current.get()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate with a plural form chosen by ``n``."""
    return translations(_current.get()).ungettext(singular, plural, n)


def lazy_gettext(message: str) -> LazyProxy:
    """A string that is translated when it is used, for texts defined at import time."""
    return LazyProxy(gettext, message, enable_cache=False)


_ = gettext
