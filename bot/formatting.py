"""Vietnamese number, money, weight and date formats (1.500 kg, 25.000 ₫/kg, 15/09/2026)."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from bot.i18n import current_locale


def number(value: float) -> str:
    """A number with the locale's grouping: 1.500 or 2,5 in Vietnamese."""
    return format_decimal(value, format="#,##0.##", locale=current_locale())


def kg(value: float) -> str:
    """A weight in kilograms, tonnes shown as kg too so farmers compare like with like."""
    return f"{number(value)} kg"


def money(vnd: float) -> str:
    """An amount in đồng: 25.000 ₫."""
    return format_currency(round(vnd), "VND", locale=current_locale())


def price_per_kg(vnd: float) -> str:
    """A unit price: 25.000 ₫/kg."""
    return f"{money(vnd)}/kg"


def date(value: dt.date) -> str:
    """A day as 15/09/2026."""
    return format_date(value, "dd/MM/yyyy", locale=current_locale())


def date_range(start: dt.date, end: dt.date) -> str:
    """A window of days: 15/09/2026 or 15/09/2026 – 20/09/2026."""
    return date(start) if start == end else f"{date(start)} – {date(end)}"


def datetime(value: dt.datetime) -> str:
    """A moment as 06:30 15/09/2026."""
    return f"{value:%H:%M} {date(value.date())}"
