"""Ingest: read tickers' daily bars from a :class:`~rnnforecast.data.sources.Source` into the store.

Each ticker is locked while it is read and written, and written in one transaction, with the
exchange calendar it trades on and that calendar's sessions; only bars whose session has
closed are stored. Several tickers are fetched at once in threads (:func:`fetch_many`), as
fast as a :class:`~rnnforecast.data.throttle.RateLimit` allows; each thread writes through
its own SQLite connection (:class:`~rnnforecast.data.store.Store` opens one per call, and
SQLite serialises the writes). Nothing here names a command-line option.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rnnforecast.data import calendars, revisions
from rnnforecast.data.bars import Bars
from rnnforecast.data.sources import Source, validate_bars
from rnnforecast.data.store import StoreResult
from rnnforecast.data.throttle import RateLimit, SystemClock, Throttle, WaitClock
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
    options = _options(start, end, replace, calendar, clock)
    results = []
    for symbol in symbols:
        with home.lock(symbol):
            results.append(fetch_ticker(home, symbol, source, options))
    return results


def _options(
    start: dt.date | None = None,
    end: dt.date | None = None,
    replace: bool = False,
    calendar: str | None = None,
    clock: calendars.Clock = calendars.system_clock,
) -> FetchOptions:
    """:func:`fetch`'s options as one record. Raises UsageError for an unknown calendar."""
    code = calendars.check_code(calendar) if calendar is not None else None
    return FetchOptions(start, end, replace, code, clock)


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
    limit: RateLimit | None = None,
    waits: WaitClock | None = None,
    **options: Any,
) -> list[TickerOutcome[StoreResult]]:
    """:func:`fetch` for each ticker, going on after a failed one (as ``run`` does);
    ``options`` are fetch's. Tickers are checked first, and named once each however they
    are spelled (``GOOG goog``). Several are fetched at once within ``limit`` (None: the
    defaults; see :func:`fetch_many`, ``waits`` too); ``on_ticker`` is told as
    each named ticker's fetch begins and ends. Raises UsageError for a bad ticker or option
    (before anything is fetched); the failures of single tickers are in their outcomes (each
    result is the ticker's :class:`StoreResult`), in the order the tickers were named.
    """
    symbols = unique_tickers(tickers)
    if len(symbols) <= 1:
        turn = TickerTurn("fetch", 1, 1, symbols[0]) if symbols else None
        if turn is not None and on_ticker is not None:
            on_ticker(turn)
        outcomes = [TickerOutcome(r.ticker, r) for r in fetch(home, symbols, source, **options)]
        if turn is not None and on_ticker is not None:
            on_ticker(dataclasses.replace(turn, done=True))
        return outcomes
    _check(symbols, source, options.get("start"), options.get("end"))
    shared = _options(**options)
    jobs = [FetchJob(symbol, source, shared) for symbol in symbols]
    return fetch_many(home, jobs, limit=limit, on_ticker=on_ticker, waits=waits)


@dataclass(frozen=True)
class FetchJob:
    """One ticker of :func:`fetch_many`: its symbol (checked when its turn comes), where its
    bars come from, and how."""

    ticker: str
    source: Source
    options: FetchOptions = FetchOptions()


def fetch_many(
    home: Home,
    jobs: Sequence[FetchJob],
    *,
    limit: RateLimit | None = None,
    on_ticker: OnTicker | None = None,
    waits: WaitClock | None = None,
) -> list[TickerOutcome[StoreResult]]:
    """Fetch every job's ticker, ``limit.concurrency`` at a time in threads, each under its
    lock and in its own transaction (:func:`fetch_ticker`); one outcome per job, in the
    jobs' order, with the failure of a ticker that failed (the others go on).

    Every call to a source waits its turn under ``limit`` (None: :class:`RateLimit`'s
    defaults, made for Yahoo), shared by the threads of this call (``waits``: the clock the
    waits run on; None: the system's). Tickers begin in the jobs' order. ``on_ticker`` is
    told as each ticker's fetch begins and as it ends (``done``), one call at a time, from
    the calling thread. A bug (an error that is neither ours nor an outside fault) stops
    the tickers not begun, waits for those in hand and is raised; so is an error of
    ``on_ticker``. Raises UsageError for a bad ``limit`` before any work. Interrupted, no
    other ticker begins, and the threads (daemons) finish the tickers in hand unless the
    process ends first; a transaction cut short leaves its ticker as it was.
    """
    limit = (limit or RateLimit()).check()
    pool = _Pool(home, list(jobs), Throttle(limit, waits or SystemClock()))
    threads = [
        threading.Thread(target=pool.work, name=f"rnnforecast-fetch-{n}", daemon=True)
        for n in range(min(limit.concurrency, len(pool.jobs)))
    ]
    for thread in threads:
        thread.start()
    try:
        outcomes = pool.collect(on_ticker)
    except Exception:
        pool.stop.set()
        for thread in threads:
            thread.join()
        raise
    except BaseException:  # an interrupt: no waiting for the tickers in hand
        pool.stop.set()
        raise
    for thread in threads:
        thread.join()
    return outcomes


@dataclass(frozen=True)
class _News:
    """What a thread of :class:`_Pool` says: job ``index`` begins (no outcome, no bug), ended
    with ``outcome``, or raised ``bug``."""

    index: int
    outcome: TickerOutcome[StoreResult] | None = None
    bug: BaseException | None = None


class _Pool:
    """The jobs of one :func:`fetch_many`: its threads take them in order (:meth:`work`)
    and post what happens to one queue, which the calling thread reads (:meth:`collect`)."""

    def __init__(self, home: Home, jobs: list[FetchJob], throttle: Throttle) -> None:
        self.home, self.jobs, self.throttle = home, jobs, throttle
        self.news: queue.SimpleQueue[_News] = queue.SimpleQueue()
        self.stop = threading.Event()
        self._taking = threading.Lock()
        self._next = 0

    def _take(self) -> int | None:
        """The next job's index (its beginning posted), or None when none is left or the
        job stops."""
        with self._taking:  # taken and posted together: tickers begin in order
            if self.stop.is_set() or self._next >= len(self.jobs):
                return None
            index, self._next = self._next, self._next + 1
            self.news.put(_News(index))
            return index

    def work(self) -> None:
        """A thread's loop: fetch job after job until none is left."""
        while (index := self._take()) is not None:
            job = self.jobs[index]
            try:
                try:
                    with self.home.lock(job.ticker) as symbol:
                        stored = fetch_ticker(
                            self.home, symbol, job.source, job.options, self.throttle
                        )
                    outcome = TickerOutcome(symbol, stored)
                except Exception as exc:  # noqa: BLE001 - ours and outside faults; bugs re-raised
                    outcome = TickerOutcome(job.ticker, error=Failure.of(exc))
            except BaseException as exc:  # noqa: BLE001 - a bug: the calling thread raises it
                self.stop.set()
                self.news.put(_News(index, bug=exc))
                return
            self.news.put(_News(index, outcome))

    def collect(self, on_ticker: OnTicker | None) -> list[TickerOutcome[StoreResult]]:
        """Every job's outcome, in order, telling ``on_ticker`` of each turn as it comes.
        Raises the first bug a thread met."""
        total = len(self.jobs)
        outcomes: dict[int, TickerOutcome[StoreResult]] = {}
        while len(outcomes) < total:
            news = self.news.get()
            if news.bug is not None:
                raise news.bug
            if news.outcome is not None:
                outcomes[news.index] = news.outcome
            if on_ticker is not None:
                ticker = self.jobs[news.index].ticker
                done = news.outcome is not None
                on_ticker(TickerTurn("fetch", news.index + 1, total, ticker, done))
        return [outcomes[i] for i in range(total)]


def fetch_ticker(
    home: Home,
    symbol: str,
    source: Source,
    options: FetchOptions,
    throttle: Throttle | None = None,
) -> StoreResult:
    """Read one ticker's bars from ``source`` and store them (the caller holds its lock);
    each call to the source waits its turn on ``throttle`` (None: none waits).

    When an incremental fetch's overlap reports stored prices differently, the source has
    re-adjusted its history: the whole of it is fetched again and replaces the stored rows,
    in one transaction (``readjusted`` in the result)."""
    since, overlap = options.start, False
    if source.incremental and not (since or options.replace):
        info = home.store.info(symbol)
        if info is not None and info.source == source.name:
            since, overlap = dt.date.fromisoformat(info.last) - REFETCH_OVERLAP, True
    with throttle.request() if throttle else contextlib.nullcontext():
        bars = source.bars(symbol, since, options.end, cache=home.yahoo_cache)
    if overlap and home.store.revision(symbol, bars).repriced:
        # The overlap differs: the source re-adjusted its history (a split, a dividend), so
        # every stored row is on the old basis. Its whole history replaces them in the one
        # write below.
        with throttle.request() if throttle else contextlib.nullcontext():
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
