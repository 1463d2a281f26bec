"""Harvest and pickup dates relative to the day the message was sent ("mai", "thứ 7", "15-20/9", "tuần sau")."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from bot.parsing.message import Message, PhraseIndex, Token

if TYPE_CHECKING:
    from lunar_vn import LunarDate

type Span = tuple[dt.date, dt.date]
# A span read with "từ" before it has no end; one read with "trước" has no start.
_FROM, _TO, _BOTH = 1, 2, 0
_VN_TZ = 7.0  # the Vietnamese lunar calendar is computed for UTC+7 (the Chinese one for UTC+8)
_DAY = dt.timedelta(days=1)

# Clock times ("7h", "7h30", "8 giờ") are masked so their digits never become a quantity.
_TIME = re.compile(r"(?<![\w.,])\d{1,2}\s*(?:h|gio)(?:\s*\d{1,2}(?:p|phut)?)?(?![a-z0-9])")
_SEP = r"\s*(?:-|–|~|>|->|den|toi|dn)\s*"
_RANGE = re.compile(
    rf"(?<![\w.,])(?:tu\s+)?(?:ngay\s+)?(?P<d1>\d{{1,2}})(?:\s*[/.]\s*(?P<m1>\d{{1,2}}))?{_SEP}(?:ngay\s+)?"
    r"(?P<d2>\d{1,2})\s*(?:/|\s+thang\s+)\s*(?P<m2>\d{1,2})(?:\s*/\s*(?P<y>\d{4}|\d{2}))?(?!\d|,\d)"
)
_SINGLE = re.compile(
    r"(?<![\w.,])(?:ngay\s+)?(?P<d>\d{1,2})\s*(?:/|\s+thang\s+)\s*(?P<m>\d{1,2})(?:\s*/\s*(?P<y>\d{4}|\d{2}))?"
    r"(?!\d|,\d|\s*(?:tan|ta|yen|kg)\b)"
)
_DAY_OF_MONTH = re.compile(
    r"(?<![a-z])ngay\s+(?P<d>\d{1,2})(?![\d.,/]|\s*(?:tan|ta|yen|kg|k|t|ky|can|nua)\b)"
)
_IN_DAYS = re.compile(r"(?<![\w.,])(?P<n>\d{1,2})\s*(?:ngay|hom|bua)\s*(?:nua|toi)(?![a-z])")
_MONTH = re.compile(r"(?<![a-z])(?:(?P<part>dau|giua|cuoi)\s+)?thang\s+(?P<m>\d{1,2})(?![\d.,/])")
_LUNAR_MONTH = r"(?P<m>\d{1,2}|gieng|chap)"
_LUNAR_MARK = r"(?P<al>\s*(?:am lich|am|al|a\.l)(?![a-z]))?"
_LUNAR_DAY = re.compile(
    rf"(?<![\w.,])(?:(?:ngay|mung|mong)\s+)?(?P<d>\d{{1,2}}|ram)\s*(?:/|-|\s+thang\s+){_LUNAR_MONTH}(?![\d.,/]){_LUNAR_MARK}"
)
_LUNAR_WHOLE = re.compile(rf"(?<![a-z])thang\s+{_LUNAR_MONTH}(?![\d.,/]){_LUNAR_MARK}")
_DIGIT = re.compile(r"\d")
# What a lunar date needs somewhere in the line: a lunar mark ("âm", "al"), "rằm", "chạp" or "giêng".
_LUNAR_HINT = re.compile(r"(?<![a-z])(?:am|al|a\.l|ram)(?![a-z])|chap|gieng")
_OPEN_FROM = re.compile(r"(?:^|[^a-z])(?:tu|ke tu|bat dau tu|bat dau)\s*(?:ngay\s*)?$")
_OPEN_TO = re.compile(r"(?:^|[^a-z])(?:truoc|cham nhat|muon nhat|han chot|han)\s*(?:ngay\s*)?$")
_DAY_WORD = re.compile(
    r"(?<![a-z])(?:mung|mong)\s+(?P<d>\d{1,2})(?![\d.,/]|\s*(?:tan|ta|yen|kg|k|t|ky|can|thang)\b)"
)
_UNIT_WORDS = frozenset(
    {"tan", "ta", "yen", "kg", "ky", "ki", "can", "t", "k", "nghin", "ngan", "trieu", "tr"}
)
# Untyped-diacritics "mot" is "một" (one) far more often than "mốt" (the day after tomorrow):
# it is a date only next to words that go with a day.
_MOT_PREV = frozenset(
    {"ngay", "bua", "hom", "sang", "chieu", "toi", "mai", "hoac", "hay", "den", "va", "tu", "la"}
)
_MOT_NEXT = frozenset(
    {
        "thu",
        "lay",
        "giao",
        "co",
        "ra",
        "hai",
        "cat",
        "chot",
        "xuat",
        "nhe",
        "nha",
        "di",
        "moi",
        "nhan",
        "ban",
        "hoac",
    }
)


def _weekday(n: int) -> Callable[[dt.date], Span]:
    def next_one(today: dt.date) -> Span:
        day = today + dt.timedelta(days=(n - today.weekday() - 1) % 7 + 1)
        return day, day

    return next_one


def _next_monday(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=7 - today.weekday())


def _month_span(year: int, month: int, first: int = 1, last: int | None = None) -> Span:
    end = calendar.monthrange(year, month)[1]
    return dt.date(year, month, first), dt.date(year, month, min(last or end, end))


def _next_month(today: dt.date) -> tuple[int, int]:
    return (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)


def _end_of_week(today: dt.date) -> Span:
    sat = today + dt.timedelta(days=max(5 - today.weekday(), 0))
    return sat, today + dt.timedelta(days=6 - today.weekday())


type _Word = tuple[int, Callable[[dt.date], Span]]  # (weekday 0-6 or -1, span maker)
_NEXT_WEEK = -2
_THIS_WEEK = -3


def _words() -> list[tuple[tuple[str, ...], _Word]]:
    def days(n: int) -> Callable[[dt.date], Span]:
        return lambda t: (t + n * _DAY, t + n * _DAY)

    def next_week(t: dt.date) -> Span:
        return _next_monday(t), _next_monday(t) + 6 * _DAY

    entries: list[tuple[tuple[str, ...], _Word]] = [
        (
            (
                "hôm nay",
                "hnay",
                "bữa nay",
                "ngày hôm nay",
                "nay mai",
                "sáng nay",
                "chiều nay",
                "trưa nay",
                "tối nay",
            ),
            (-1, days(0)),
        ),
        (("hôm qua", "bữa qua", "hqua"), (-1, days(-1))),
        (("hôm kia",), (-1, days(-2))),
        (("mai", "ngày mai", "sáng mai", "chiều mai", "tối mai", "trưa mai", "mai nay"), (-1, days(1))),
        (("ngày kia", "ngày mốt", "mốt", "bữa mốt", "hôm mốt"), (-1, days(2))),
        (("mai mốt", "mai hoặc mốt", "mai hay mốt"), (-1, lambda t: (t + _DAY, t + 2 * _DAY))),
        (("tuần sau", "tuần tới", "tuần tới đây"), (_NEXT_WEEK, next_week)),
        (("tuần này",), (_THIS_WEEK, lambda t: (t, t + (6 - t.weekday()) * _DAY))),
        (
            ("tuần sau nữa", "tuần tới nữa"),
            (-1, lambda t: (_next_monday(t) + 7 * _DAY, _next_monday(t) + 13 * _DAY)),
        ),
        (("cuối tuần", "cuối tuần này"), (-1, _end_of_week)),
        (
            ("cuối tuần sau", "cuối tuần tới"),
            (-1, lambda t: (_next_monday(t) + 5 * _DAY, _next_monday(t) + 6 * _DAY)),
        ),
        (("đầu tuần sau", "đầu tuần tới"), (-1, lambda t: (_next_monday(t), _next_monday(t) + 2 * _DAY))),
        (("tháng sau", "tháng tới"), (-1, lambda t: _month_span(*_next_month(t)))),
        (("tháng này",), (-1, lambda t: (t, _month_span(t.year, t.month)[1]))),
        (
            ("cuối tháng", "cuối tháng này"),
            (-1, lambda t: (max(t, dt.date(t.year, t.month, 21)), _month_span(t.year, t.month)[1])),
        ),
        (("đầu tháng sau", "đầu tháng tới"), (-1, lambda t: _month_span(*_next_month(t), 1, 10))),
    ]
    names = {
        0: ("hai", "2"),
        1: ("ba", "3"),
        2: ("tư", "4"),
        3: ("năm", "5"),
        4: ("sáu", "6"),
        5: ("bảy", "7"),
    }
    for n, (word, digit) in names.items():
        entries.append(((f"thứ {word}", f"thứ {digit}", f"t{digit}", f"thu{digit}"), (n, _weekday(n))))
    entries.append((("chủ nhật", "cn", "chủ nhựt"), (6, _weekday(6))))
    return entries


@cache
def _index() -> PhraseIndex[_Word]:
    index: PhraseIndex[_Word] = PhraseIndex()
    for spellings, word in _words():
        index.add_all(spellings, word)
    return index


def _with_year(today: dt.date, day: int, month: int, year: int | None) -> dt.date | None:
    """A day and month, in this year unless that is more than 30 days past (then next year)."""
    if year is not None:
        year = year + 2000 if year < 100 else year
        try:
            return dt.date(year, month, day)
        except ValueError:
            return None
    try:
        found = dt.date(today.year, month, day)
    except ValueError:
        return None
    if (today - found).days > 30:
        try:
            found = dt.date(today.year + 1, month, day)
        except ValueError:
            return None
    return found


def _day_of_month(today: dt.date, day: int) -> dt.date | None:
    """ "ngày 20" with no month: this month's 20th unless already past, then next month's."""
    year, month = today.year, today.month
    if day < today.day:
        year, month = _next_month(today)
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _lunar_of(day: dt.date) -> LunarDate:
    """The Vietnamese lunar date of a solar day (lunar_vn is imported on first need: few lines name one)."""
    import lunar_vn

    return lunar_vn.solar_to_lunar(day, _VN_TZ)


def _lunar_month_start(today: dt.date, month: int) -> tuple[int, dt.date] | None:
    """(lunar year, first solar day) of the coming lunar month M: this lunar year's unless M is over."""
    import lunar_vn

    now = _lunar_of(today)
    year = now.year if month >= now.month else now.year + 1
    try:
        return year, lunar_vn.convert_lunar_to_solar(1, month, year, 0, _VN_TZ)
    except ValueError:
        return None


def lunar_day(today: dt.date, day: int, month: int) -> dt.date | None:
    """The solar date of lunar day D of the coming lunar month M (Vietnamese calendar, UTC+7)."""
    if not (1 <= day <= 30 and 1 <= month <= 12):
        return None
    start = _lunar_month_start(today, month)
    if start is None:
        return None
    found = start[1] + (day - 1) * _DAY
    # A 29-day month has no 30th: the next day is already the first of the next month.
    return found if _lunar_of(found).month == month else None


def lunar_month(today: dt.date, month: int) -> Span | None:
    """First and last solar day of the coming lunar month M."""
    start = _lunar_month_start(today, month) if 1 <= month <= 12 else None
    if start is None:
        return None
    first = start[1]
    last = first + 28 * _DAY if _lunar_of(first + 29 * _DAY).day == 1 else first + 29 * _DAY
    return first, last


def _lunar_month_number(raw: str) -> int:
    return {"gieng": 1, "chap": 12}.get(raw) or int(raw)


def _openness(msg: Message, start: int) -> int:
    before = msg.work[max(0, start - 20) : start]
    if _OPEN_FROM.search(before):
        return _FROM
    if _OPEN_TO.search(before):
        return _TO
    return _BOTH


def _regex_spans(
    msg: Message, today: dt.date, spans: list[tuple[dt.date, dt.date, int]], reversed_ranges: bool
) -> None:
    def add(span: Span, start: int, end: int, open_: int | None = None) -> None:
        spans.append((span[0], span[1], _openness(msg, start) if open_ is None else open_))
        msg.mask(start, end)

    # Most lines hold few dates: a pattern runs only when the line has a word it needs (looked for
    # once here, as masking only ever removes words).
    work = msg.work
    digits = bool(_DIGIT.search(work))
    lunar = bool(_LUNAR_HINT.search(work))
    thang = "thang" in work
    if digits:
        for m in _TIME.finditer(work):
            msg.mask(m.start(), m.end())
    # Without a digit only "rằm tháng chạp" or "tháng giêng" can be a date here.
    if lunar and (digits or "ram" in work):
        for m in _LUNAR_DAY.finditer(msg.work):
            if not (m["al"] or m["d"] == "ram" or m["m"] in ("chap", "gieng")):
                continue
            found = lunar_day(today, 15 if m["d"] == "ram" else int(m["d"]), _lunar_month_number(m["m"]))
            if found is not None:
                add((found, found), m.start(), m.end())
    if lunar and thang:
        for m in _LUNAR_WHOLE.finditer(msg.work):
            if not (m["al"] or m["m"] in ("chap", "gieng")):
                continue
            whole = lunar_month(today, _lunar_month_number(m["m"]))
            if whole is not None:
                add(whole, m.start(), m.end())
    if not digits:
        return
    if thang or "/" in work:  # a day and a month: "15/9", "15 tháng 9", "10-15/9"
        for m in _RANGE.finditer(msg.work):
            y = int(m["y"]) if m["y"] else None
            end = _with_year(today, int(m["d2"]), int(m["m2"]), y)
            if end is None:
                continue
            # A range that has not ended is this year's: the start takes the end's year, or the year before.
            try:
                start = dt.date(end.year, int(m["m1"] or m["m2"]), int(m["d1"]))
            except ValueError:
                continue
            if start > end and m["m1"] and int(m["m1"]) > int(m["m2"]):
                try:
                    start = start.replace(year=start.year - 1)  # "28/12 - 3/1"
                except ValueError:
                    continue
            if start > end:
                if reversed_ranges:
                    add((start, end), m.start(), m.end(), _BOTH)  # "20-15/9": the step says what is wrong
                continue
            add((start, end), m.start(), m.end(), _BOTH)
        for m in _SINGLE.finditer(msg.work):
            day = _with_year(today, int(m["d"]), int(m["m"]), int(m["y"]) if m["y"] else None)
            if day is not None:
                add((day, day), m.start(), m.end())
    if "nua" in work or "toi" in work:
        for m in _IN_DAYS.finditer(msg.work):
            day = today + int(m["n"]) * _DAY
            add((day, day), m.start(), m.end())
    if "ngay" in work:
        for m in _DAY_OF_MONTH.finditer(msg.work):
            found = _day_of_month(today, int(m["d"]))
            if found is not None:
                add((found, found), m.start(), m.end())
    if "mung" in work or "mong" in work:
        for m in _DAY_WORD.finditer(msg.work):
            found = _day_of_month(today, int(m["d"]))
            if found is not None:
                add((found, found), m.start(), m.end())
    if thang:
        for m in _MONTH.finditer(msg.work):
            month = int(m["m"])
            if not 1 <= month <= 12:
                continue
            year = today.year if month >= today.month else today.year + 1
            first, last = {"dau": (1, 10), "giua": (11, 20), "cuoi": (21, None)}.get(
                m["part"] or "", (1, None)
            )
            add(_month_span(year, month, first, last), m.start(), m.end())


def _word_ok(msg: Message, tokens: list[Token], i: int, n: int) -> bool:
    """Context checks for date words that are also common words when typed without diacritics."""
    first, last = tokens[i], tokens[i + n - 1]
    nxt = tokens[i + n].text if i + n < len(tokens) else ""
    if last.text.isdigit() and nxt in _UNIT_WORDS:
        return False  # "thu 2 tan" is "thu 2 tấn" (harvest two tonnes), not Monday
    if n == 1 and first.text == "mot" and not msg.has_marks(first.start, first.end):
        prev = tokens[i - 1].text if i > 0 else ""
        return prev in _MOT_PREV or nxt in _MOT_NEXT or nxt == ""
    return True


def read_dates(
    msg: Message, today: dt.date, *, reversed_ranges: bool = False
) -> tuple[dt.date | None, dt.date | None]:
    """The earliest start and latest end of every date named in the line, masked once read.

    "từ X" alone leaves the end open and "trước X" alone the start. With ``reversed_ranges`` a range
    typed backwards ("20-15/9") is returned as typed, so that a flow step can say what is wrong.
    """
    spans: list[tuple[dt.date, dt.date, int]] = []
    _regex_spans(msg, today, spans, reversed_ranges)
    if reversed_ranges and len(spans) == 1 and spans[0][0] > spans[0][1]:
        return spans[0][0], spans[0][1]
    tokens = msg.tokens()
    hits = [(i, n, w) for i, n, w in _index().scan(msg, tokens) if _word_ok(msg, tokens, i, n)]
    k = 0
    while k < len(hits):
        i, n, (weekday, fn) = hits[k]
        end = i + n
        follows = hits[k + 1] if k + 1 < len(hits) and hits[k + 1][0] - end <= 1 else None
        if weekday >= 0 and follows is not None and follows[2][0] in (_NEXT_WEEK, _THIS_WEEK):
            # "thứ 3 tuần sau" is one day in next week, "thứ 7 tuần này" one day in this one.
            monday = _next_monday(today) if follows[2][0] == _NEXT_WEEK else today - today.weekday() * _DAY
            day = monday + weekday * _DAY
            span = (day, day)
            end = follows[0] + follows[1]
            k += 1
        else:
            span = fn(today)
        spans.append((span[0], span[1], _openness(msg, tokens[i].start)))
        msg.mask(tokens[i].start, tokens[end - 1].end)
        k += 1
    if not spans:
        return None, None
    if all(s[2] == _FROM for s in spans):
        return min(s[0] for s in spans), None
    if all(s[2] == _TO for s in spans):
        return None, max(s[1] for s in spans)
    return min(s[0] for s in spans), max(s[1] for s in spans)
