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
    # ASCII is checked before upper-casing: Unicode's upper case of 'ß' is 'SS', of 'ﬁ' 'FI'.
    symbol = ticker.strip().upper() if ticker.isascii() else ""
    if not _TICKER_RE.match(symbol) or ".." in symbol:
        shown = ticker if len(ticker) <= 30 else ticker[:27] + "..."
        raise UsageError(
            f"invalid ticker symbol {shown!r}: use 1-20 letters, digits, '.', '-', '=' "
            "(optionally after a leading '^')"
        )
    return symbol


def unique_tickers(tickers: list[str]) -> list[str]:
    """Each ticker checked and upper-cased, once, in the order first named (``GOOG goog``
    is one ticker). Raises UsageError for the first invalid one."""
    return list(dict.fromkeys(check_ticker(t) for t in tickers))


GROUP_PREFIX = "@"
GROUP_MAX = 60
"""The most characters of a group's name after its ``@``."""
"""First character of a global model's group name: no ticker symbol starts with it, so a
group's folder under ``models/`` cannot collide with a ticker's."""

_GROUP_RE = re.compile(rf"^@[A-Z0-9][A-Z0-9.=+_\-]{{0,{GROUP_MAX - 1}}}$")


def check_group(name: str) -> str:
    """Return ``@NAME`` upper-cased (the ``@`` is added when missing), or raise UsageError
    if it is not 1-60 letters, digits, '.', '-', '=', '+', '_'."""
    group = name.strip().upper()
    group = group if group.startswith(GROUP_PREFIX) else GROUP_PREFIX + group
    if not _GROUP_RE.match(group) or ".." in group:
        shown = name if len(name) <= 30 else name[:27] + "..."
        raise UsageError(
            f"invalid group name {shown!r}: use 1-60 letters, digits, '.', '-', '=', '+', '_'"
        )
    return group
