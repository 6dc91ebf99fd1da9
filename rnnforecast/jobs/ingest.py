"""Ingest: read tickers' daily bars from a :class:`~rnnforecast.data.sources.Source` into the store.

Each ticker is locked while it is read and written, and written in one transaction, with the
exchange calendar it trades on and that calendar's sessions; only bars whose session has
closed are stored. Nothing here names a command-line option.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rnnforecast.data import calendars, revisions
from rnnforecast.data.bars import Bars
from rnnforecast.data.sources import Source, validate_bars
from rnnforecast.data.store import StoreResult
from rnnforecast.data.tickers import check_ticker, unique_tickers
from rnnforecast.errors import UsageError
from rnnforecast.jobs.outcomes import Failure, OnTicker, TickerOutcome, TickerTurn
from rnnforecast.storage.home import Home

REFETCH_OVERLAP = dt.timedelta(days=7)
"""How far before a ticker's last stored bar an incremental fetch starts: the overlap
catches late corrections and re-adjusted history (then the whole history is fetched)."""


@dataclass(frozen=True)
class FetchOptions:
    """How one ticker is fetched, whatever its source.

    ``start``/``end``: the first and last day wanted, inclusive (None: from the source's first
    bar, or shortly before the last stored one for an incremental source; to its newest).
    ``replace``: delete the ticker's stored bars first. ``calendar``: a checked calendar code
    (None: the stored one, else the one the source reports, else XNYS). ``clock``: now.
    """

    start: dt.date | None = None
    end: dt.date | None = None
    replace: bool = False
    calendar: str | None = None
    clock: calendars.Clock = calendars.system_clock


def fetch(
    home: Home,
    tickers: list[str],
    source: Source,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    replace: bool = False,
    calendar: str | None = None,
    clock: calendars.Clock = calendars.system_clock,
) -> list[StoreResult]:
    """Store ``source``'s daily bars for each ticker; one transaction per ticker.

    A source that holds one series (a file) takes one ticker, or none for its default
    ticker. For an incremental source (Yahoo) without ``start``, a ticker already stored from
    it is fetched from :data:`REFETCH_OVERLAP` before its last stored bar. Each ticker is
    locked while it is fetched and written.

    ``calendar`` (an exchange calendar code) is recorded for every ticker; without it a
    ticker keeps its stored calendar, else gets the one the source reports, else XNYS. Only
    bars whose session had closed by ``clock()`` are stored (:func:`calendars.complete_bars`),
    with that calendar's sessions up to two years ahead, which predict reads. Raises
    UsageError, DataError, SourceError or LockError; tickers before the failing one stay
    stored.
    """
    symbols = [check_ticker(t) for t in tickers]
    _check(symbols, source, start, end)
    if not symbols and source.default_ticker is not None:
        symbols = [source.default_ticker]
    if not symbols:
        raise UsageError("name at least one ticker")
    options = FetchOptions(
        start,
        end,
        replace,
        calendars.check_code(calendar) if calendar is not None else None,
        clock,
    )
    results = []
    for symbol in symbols:
        with home.lock(symbol):
            results.append(fetch_ticker(home, symbol, source, options))
    return results


def _check(symbols: list[str], source: Source, start: dt.date | None, end: dt.date | None) -> None:
    """Raise UsageError for options that do not go together."""
    if start and end and start > end:
        raise UsageError(f"the start {start} is after the end {end}")
    if source.one_ticker and len(symbols) > 1:
        raise UsageError(f"a {source.name} source loads one ticker at a time")


def fetch_each(
    home: Home,
    tickers: list[str],
    source: Source,
    *,
    on_ticker: OnTicker | None = None,
    **options: Any,
) -> list[TickerOutcome[StoreResult]]:
    """:func:`fetch` for each ticker in turn, going on after a failed one (as ``run``
    does); ``options`` are fetch's. Tickers are checked first, and named once each however
    they are spelled (``GOOG goog``); ``on_ticker`` is told as each named ticker's fetch
    begins. Raises UsageError for a bad ticker or option (before anything is fetched); the
    failures of single tickers are in their outcomes (each result is the ticker's
    :class:`StoreResult`).
    """
    symbols = unique_tickers(tickers)
    if len(symbols) <= 1:
        if symbols and on_ticker is not None:
            on_ticker(TickerTurn("fetch", 1, 1, symbols[0]))
        return [TickerOutcome(r.ticker, r) for r in fetch(home, symbols, source, **options)]
    _check(symbols, source, options.get("start"), options.get("end"))
    outcomes: list[TickerOutcome[StoreResult]] = []
    for index, symbol in enumerate(symbols, 1):
        if on_ticker is not None:
            on_ticker(TickerTurn("fetch", index, len(symbols), symbol))
        try:
            [stored] = fetch(home, [symbol], source, **options)
        except Exception as exc:  # noqa: BLE001 - ours and outside faults; bugs re-raised
            outcomes.append(TickerOutcome(symbol, error=Failure.of(exc)))
        else:
            outcomes.append(TickerOutcome(symbol, stored))
    return outcomes


def fetch_ticker(home: Home, symbol: str, source: Source, options: FetchOptions) -> StoreResult:
    """Read one ticker's bars from ``source`` and store them (the caller holds its lock).

    When an incremental fetch's overlap reports stored prices differently, the source has
    re-adjusted its history: the whole of it is fetched again and replaces the stored rows,
    in one transaction (``readjusted`` in the result)."""
    since, overlap = options.start, False
    if source.incremental and not (since or options.replace):
        info = home.store.info(symbol)
        if info is not None and info.source == source.name:
            since, overlap = dt.date.fromisoformat(info.last) - REFETCH_OVERLAP, True
    bars = source.bars(symbol, since, options.end, cache=home.yahoo_cache)
    if overlap and home.store.revision(symbol, bars).repriced:
        # The overlap differs: the source re-adjusted its history (a split, a dividend), so
        # every stored row is on the old basis. Its whole history replaces them in the one
        # write below.
        bars = source.bars(symbol, None, options.end, cache=home.yahoo_cache)
    return _store_complete(home, symbol, bars, source, options)


def _store_complete(
    home: Home, symbol: str, bars: Bars, source: Source, options: FetchOptions
) -> StoreResult:
    """Store the bars whose session has closed, with the ticker's calendar and its sessions
    from the first bar to two years ahead. Raises DataError for bars before 1900 or after
    the last closed session (a live source's bar whose session is still open is dropped
    instead)."""
    code = calendars.choose(
        options.calendar,
        home.store.calendar(symbol),
        calendars.for_yahoo_exchange(bars.exchange),
    )
    if bars.stamps is not None:
        bars = _on_sessions(bars, code, source.origin(symbol))
    now = options.clock()
    today = now.astimezone(dt.UTC).date()
    # A bar before 1900 or in the future is refused below; the sessions span stays sane.
    first = min(max(bars.frame.index[0].date(), calendars.EARLIEST), today)
    ahead = today + dt.timedelta(days=calendars.SESSIONS_AHEAD_DAYS)
    sessions = calendars.sessions(code, first, ahead)
    frame = calendars.complete_bars(
        bars.frame, sessions, now, source.origin(symbol), drop_open=source.live
    )
    complete = Bars(frame, bars.source, bars.auto_adjust, bars.exchange)
    revision = home.store.revision(symbol, complete)
    result = home.store.write(
        symbol, complete, replace=options.replace, calendar=code, sessions=sessions
    )
    touched = frame.index[revision.new | revision.differs | options.replace]
    return dataclasses.replace(
        result,
        off_calendar=calendars.off_sessions(frame, sessions),
        notices=_suspicious(home, symbol, touched, sessions),
    )


def _suspicious(
    home: Home, symbol: str, touched: pd.DatetimeIndex, sessions: calendars.Sessions
) -> tuple[str, ...]:
    """What looks wrong next to the bars this fetch added or changed (``touched``): a close
    that jumps by more than :data:`revisions.JUMP_RATIO`, more than
    :data:`revisions.GAP_SESSIONS` sessions without a bar. Each line says what to do."""
    if not len(touched):
        return ()
    frame = home.store.read(symbol)
    days = np.asarray(frame.index.values, dtype="datetime64[D]")
    mine = np.isin(days, np.asarray(touched.values, dtype="datetime64[D]"))
    pairs = mine[1:] | mine[:-1]  # (earlier, later) bar pairs with a touched bar
    if not pairs.any():
        return ()
    first = int(np.flatnonzero(pairs)[0])  # check from the earliest such pair on
    days, closes = days[first:], frame["close"].to_numpy()[first:]
    span = sessions
    if len(sessions.dates) == 0 or days[0] < sessions.dates[0]:
        span = calendars.sessions(sessions.calendar, days[0].item(), days[-1].item())
    found = [*revisions.jumps(days, closes), *revisions.gaps(days, span.dates)]
    return tuple(
        f"{symbol}: {what}: check the source's bars there; `rnnforecast fetch {symbol} "
        "--replace` stores its whole history again"
        for what in found
    )


def _on_sessions(bars: Bars, code: str, origin: str) -> Bars:
    """``bars`` dated by the session of calendar ``code`` each of their stamps (instants)
    opens, not by the stamps' UTC dates. Raises DataError if two bars fall in one session."""
    import pandas as pd

    assert bars.stamps is not None
    dates = calendars.session_dates(code, bars.stamps)
    frame = bars.frame.set_axis(pd.DatetimeIndex(dates, name="date"))
    return Bars(validate_bars(frame, origin), bars.source, bars.auto_adjust, bars.exchange)
