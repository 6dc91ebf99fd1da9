"""Ticker symbols: the one check every symbol passes before it names rows, folders or locks."""

from __future__ import annotations

import re

from rnnforecast.errors import UsageError

_TICKER_RE = re.compile(r"^\^?[A-Z0-9][A-Z0-9.=\-]{0,19}$")


def check_ticker(ticker: str) -> str:
    """Return the upper-cased symbol, or raise UsageError if it is not a plausible one.

    Accepts Yahoo's forms (``AAPL``, ``BRK-B``, ``^GSPC``, ``EURUSD=X``, ``7203.T``); the
    symbol also names folders, so anything with a slash, space or leading dot is refused.
    """
    symbol = ticker.strip().upper()
    if not _TICKER_RE.match(symbol) or ".." in symbol:
        shown = ticker if len(ticker) <= 30 else ticker[:27] + "..."
        raise UsageError(
            f"invalid ticker symbol {shown!r}: use 1-20 letters, digits, '.', '-', '=' "
            "(optionally after a leading '^')"
        )
    return symbol
