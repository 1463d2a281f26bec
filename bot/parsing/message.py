"""A typed line as the parser sees it: lower-cased, folded, tokenised, with spans masked as they are read.

The folded copy has exactly the length of the lower-cased original, so a span found in the
diacritic-free text can be checked against what the person actually typed ("bán" vs "bạn").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import pairwise
from typing import NamedTuple

from bot.parsing.typing import untype
from bot.textnorm import nfc, strip_diacritics

_TOKEN = re.compile(r"[a-z0-9]+")
# Tone marks only: vowel-quality marks (circumflex, breve, horn) stay part of the letter.
_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")
_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


class _LowerTable(dict[int, str]):
    """str.translate table that lower-cases one character into exactly one character."""

    def __missing__(self, code: int) -> str:
        low = chr(code).lower()
        self[code] = out = low if len(low) == 1 else chr(code)
        return out


class _FoldTable(dict[int, str]):
    """str.translate table folding one (lower-case) character into one ASCII character or a space."""

    def __missing__(self, code: int) -> str:
        bare = strip_diacritics(chr(code))
        out = bare if len(bare) == 1 and bare.isascii() and (bare.isalnum() or bare in "./,-:+%?~") else " "
        self[code] = out
        return out


_LOWER = _LowerTable()
_FOLD = _FoldTable()


@lru_cache(maxsize=8192)
def tone_key(word: str) -> str:
    """Spelling of a word with its tone mark moved to the end, so "hoà" and "hòa" compare equal."""
    decomposed = unicodedata.normalize("NFD", word)
    tones = [c for c in decomposed if c in _TONES]
    base = "".join(c for c in decomposed if c not in _TONES)
    return base + "".join(tones[:1])


def fold_tokens(text: str) -> tuple[str, ...]:
    """Folded word tokens of a lexicon spelling, split exactly as message tokens are."""
    return tuple(_TOKEN.findall(nfc(text).translate(_LOWER).translate(_FOLD)))


def toned_tokens(text: str) -> tuple[str, ...]:
    """Tone keys of the word tokens of a lexicon spelling (aligned with ``fold_tokens``)."""
    lower = nfc(text).translate(_LOWER)
    folded = lower.translate(_FOLD)
    return tuple(tone_key(lower[m.start() : m.end()]) for m in _TOKEN.finditer(folded))


class Token(NamedTuple):
    """A word or number token: folded text and its span in the line."""

    text: str
    start: int
    end: int


_new_tuple = tuple.__new__


def _tokenise(text: str) -> list[Token]:
    # tuple.__new__ skips the Python-level __new__ of a NamedTuple: a line has a dozen tokens or more.
    return [_new_tuple(Token, (m[0], m.start(), m.end())) for m in _TOKEN.finditer(text)]


class Message:
    """One typed line with a working copy in which spans already understood are blanked out."""

    __slots__ = ("_tokens", "bare", "folded", "lower", "plain", "strict", "text", "work")

    def __init__(self, text: str) -> None:
        text, soft = untype(nfc(text))
        self.text = text  # as typed (Telex decoded), with capitals: "BG" is Bắc Giang, "bg" is not
        self.lower = text.translate(_LOWER)
        self.folded = self.lower.translate(_FOLD)
        # What the person typed, with marks only where they typed them (decoded Telex counts as bare).
        self.plain = self.lower
        for start, end in soft:
            self.plain = self.plain[:start] + self.folded[start:end] + self.plain[end:]
        self.work = self.folded
        self._tokens: list[Token] | None = _tokenise(self.folded)
        # Someone who types most words with diacritics means "con" when typing "con", not "còn";
        # only in text typed (mostly) without them is a bare word allowed to stand for any spelling.
        self.strict = False
        # No diacritics typed at all (half the lines): no token needs its marks checked.
        self.bare = self.plain.isascii()
        if not self.bare:
            words = [t for t in self._tokens if not t.text.isdigit()]
            marked = sum(1 for t in words if self.plain[t.start : t.end] != t.text)
            self.strict = len(words) >= 3 and marked * 2 >= len(words)

    def mask(self, start: int, end: int) -> None:
        """Blank a span so later readers do not see it again."""
        self.work = self.work[:start] + " " * (end - start) + self.work[end:]
        tokens = self._tokens
        if tokens is not None:
            # Masks mostly cover whole tokens: drop those instead of tokenising the line again.
            kept = []
            for t in tokens:
                if t.end <= start or t.start >= end:
                    kept.append(t)
                elif t.start < start or t.end > end:
                    self._tokens = None  # a token cut in two: tokenise again when asked
                    return
            self._tokens = kept

    def rewrite(self, start: int, end: int, text: str) -> None:
        """Replace a span of the working copy by a shorter reading of it ("ba mươi lăm" -> "35")."""
        self.work = self.work[:start] + text.ljust(end - start) + self.work[end:]
        self._tokens = None
        if self.plain[start:end] != self.folded[start:end]:
            self.bare = False  # a new token may now cover a "\n" or a "!" typed between the words

    def tokens(self) -> list[Token]:
        """Word tokens of the not-yet-masked text."""
        if self._tokens is None:
            self._tokens = _tokenise(self.work)
        return self._tokens

    def typed(self, token: Token) -> str:
        """What the person typed for this token (lower-case, with diacritics if any)."""
        return self.plain[token.start : token.end]

    def adjacent(self, a: Token, b: Token) -> bool:
        """Whether two tokens are consecutive words (only spaces or a hyphen between them)."""
        return not self.folded[a.end : b.start].strip(" -")

    def has_marks(self, start: int, end: int) -> bool:
        """Whether the person typed diacritics anywhere in this span."""
        return self.plain[start:end] != self.folded[start:end]

    def hinted(self, token: Token) -> str:
        """The token with diacritics typed or decoded from Telex: a hint to narrow place names, never a veto."""
        return self.lower[token.start : token.end]


class PhraseIndex[V]:
    """Longest-match lookup of multi-word phrases over message tokens, respecting typed diacritics.

    A token typed with diacritics only matches a phrase word spelled the same way, so "bạn"
    never reads as "bán" and "cảm ơn" never as "cam" (orange); a token typed without
    diacritics matches any spelling. With ``slips`` (a place name after a place word), one syllable
    of a name of two or more may carry a wrong tone mark ("ở Hà Tỉnh") when another is typed right.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, ...], tuple[V, list[set[str]]]] = {}
        # First word -> phrase lengths starting with it, longest first: most tokens start no phrase at all.
        self._lengths: dict[str, list[int]] = {}
        self.longest = 1

    def add(self, spelling: str, value: V) -> None:
        """Register a spelling (first registration of a folded form decides its value)."""
        folded = fold_tokens(spelling)
        if folded:
            self.add_tokens(folded, toned_tokens(spelling), value)

    def add_tokens(
        self, folded: tuple[str, ...], toned: tuple[str, ...], value: V, *, bare: bool = False
    ) -> None:
        """Register a spelling already split into folded and toned tokens; ``bare`` also allows it unmarked."""
        entry = self._entries.get(folded)
        if entry is None:
            entry = (value, [set() for _ in folded])
            self._entries[folded] = entry
            self.longest = max(self.longest, len(folded))
            lengths = self._lengths.setdefault(folded[0], [])
            if len(folded) not in lengths:
                lengths.append(len(folded))
                lengths.sort(reverse=True)
        for allowed, key, plain in zip(entry[1], toned, folded, strict=True):
            allowed.add(key)
            if bare:
                allowed.add(plain)

    def state(self) -> tuple[dict[tuple[str, ...], tuple[V, list[set[str]]]], dict[str, list[int]], int]:
        """The index as plain data, to be kept in a cache file and given back to ``from_state``."""
        return self._entries, self._lengths, self.longest

    @classmethod
    def from_state(
        cls, state: tuple[dict[tuple[str, ...], tuple[V, list[set[str]]]], dict[str, list[int]], int]
    ) -> PhraseIndex[V]:
        """An index from what ``state`` returned."""
        index = cls()
        index._entries, index._lengths, index.longest = state
        return index

    def add_all(self, spellings: Iterable[str], value: V) -> None:
        """Register several spellings of one value."""
        for s in spellings:
            self.add(s, value)

    def first_words(self) -> Iterator[str]:
        """The folded words that begin some phrase."""
        return iter(self._lengths)

    def starts(self, word: str) -> bool:
        """Whether some phrase begins with this folded word (a cheap test before ``match_at``)."""
        return word in self._lengths

    def match_at(
        self, msg: Message, tokens: list[Token], i: int, *, max_len: int | None = None, slips: bool = False
    ) -> tuple[V, int] | None:
        """The longest phrase starting at token ``i``: (value, number of tokens), or None."""
        first = tokens[i]
        lengths = self._lengths.get(first.text)
        if lengths is None:
            return None
        top = min(max_len or self.longest, len(tokens) - i)
        for n in lengths:
            if n > top:
                continue
            if n == 1:
                span = [first]
                entry = self._entries.get((first.text,))
            else:
                span = tokens[i : i + n]
                entry = self._entries.get(tuple([t.text for t in span]))
            if entry is None:
                continue
            value, allowed = entry
            if n > 1 and not all(msg.adjacent(a, b) for a, b in pairwise(span)):
                continue
            if msg.bare:
                return value, n  # no token typed with marks, and a bare token matches any spelling
            wrong = right = slipped = 0
            for t, ok in zip(span, allowed, strict=True):
                if not msg.has_marks(t.start, t.end) and not msg.strict:
                    continue
                typed = tone_key(msg.typed(t))
                if typed in ok:
                    right += 1
                elif slips and typed.rstrip(_TONE_MARKS) in {k.rstrip(_TONE_MARKS) for k in ok}:
                    slipped += 1  # same letters, another tone mark
                else:
                    wrong += 1
            if not wrong and (not slipped or (n >= 2 and slipped == 1 and right >= 1)):
                return value, n
        return None

    def scan(self, msg: Message, tokens: list[Token]) -> Iterator[tuple[int, int, V]]:
        """Every non-overlapping longest match, left to right, as (first token, token count, value)."""
        starts = self._lengths
        # Most tokens start no phrase: find the few that may, then try them in order.
        after = 0
        for i in [i for i, t in enumerate(tokens) if t.text in starts]:
            if i < after:
                continue  # inside the phrase just found
            hit = self.match_at(msg, tokens, i)
            if hit is not None:
                value, n = hit
                yield i, n, value
                after = i + n
