"""Free-text understanding of farmers' and traders' one-line messages."""

from bot.parsing.parser import FIELDS, ParseResult, parse

__all__ = ["FIELDS", "ParseResult", "parse"]
