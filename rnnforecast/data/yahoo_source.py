"""Yahoo Finance as a source: the retry loop around the download, Yahoo's frame made canonical.

:class:`YahooSource` asks a :class:`~rnnforecast.data.yahoo.YahooDownloader` (by default the
child processes that run yfinance, one per download in flight, see
:mod:`rnnforecast.data.yahoo`) for a ticker's daily bars, retries network failures and rate
limits with exponential backoff on a :class:`~rnnforecast.data.throttle.WaitClock`, and turns
the answer into the canonical frame of :mod:`rnnforecast.data.sources`.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pandas as pd

from rnnforecast.data import yahoo
from rnnforecast.data.bars import PRICES, Bars
from rnnforecast.data.sources import numeric_columns, validate_bars
from rnnforecast.data.throttle import SystemClock, WaitClock
from rnnforecast.data.yahoo import ChildPool, YahooDownloader, YahooRequest
from rnnforecast.errors import DataError, SourceError

_shared: ChildPool | None = None
_sharing = threading.Lock()


def shared_downloader() -> ChildPool:
    """The process's download children: one per download in flight, started on first use
    and kept for later downloads (thread-safe)."""
    global _shared
    with _sharing:
        if _shared is None:
            _shared = ChildPool()
        return _shared


def normalise_yahoo(raw: pd.DataFrame, symbol: str) -> pd.DataFrame:
    """Turn yfinance's frame into canonical columns and exchange dates.

    Flattens ``yf.download``-style two-level columns (refusing a frame that holds several
    tickers), converts a timezone-aware index to the exchange's calendar dates and drops rows
    Yahoo left empty. (Fetch drops bars whose session has not closed with
    :func:`rnnforecast.data.calendars.complete_bars`: the machine's date is not the exchange's.)
    Raises DataError if nothing usable is left.
    """
    frame = raw.copy()
    if isinstance(frame.columns, pd.MultiIndex):
        price_level = next(
            (
                i
                for i in range(frame.columns.nlevels)
                if {"close", "open"} <= {str(v).lower() for v in frame.columns.get_level_values(i)}
            ),
            None,
        )
        if price_level is None or frame.columns.nlevels != 2:
            raise DataError(f"{symbol}: Yahoo's answer has columns rnnforecast cannot read")
        others = set(frame.columns.get_level_values(1 - price_level))
        if len(others) > 1:
            raise DataError(f"{symbol}: Yahoo's answer holds several tickers: {sorted(others)}")
        frame.columns = frame.columns.get_level_values(price_level)
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        # yfinance stamps daily bars at midnight exchange time: keep that calendar date.
        index = index.tz_localize(None)
    frame.index = index.normalize()
    frame = frame.dropna(how="all")
    frame = numeric_columns(frame, f"{symbol} (Yahoo)")
    frame = frame.dropna(subset=list(PRICES), how="all")
    if frame.empty:
        raise DataError(f"{symbol}: Yahoo returned no daily bars for that period")
    return validate_bars(frame, f"{symbol} (Yahoo)")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def fetch_budget(retries: int, timeout: float, backoff: float = 1.0) -> float:
    """The most seconds :meth:`YahooSource.bars` takes: every attempt's ``timeout`` (plus
    ``yahoo.GRACE`` to hand the answer over), the backoff sleeps between attempts, and
    ``yahoo.STARTUP_TIMEOUT`` for starting the download process. At the defaults (3 retries,
    10 s, backoff 1 s): 4 * 10.25 + (1 + 2 + 4) + 10 = 58 s."""
    attempts = retries + 1
    sleeps = backoff * float(2**retries - 1)
    return attempts * (timeout + yahoo.GRACE) + sleeps + yahoo.STARTUP_TIMEOUT


@dataclass(frozen=True)
class YahooSource:
    """Daily bars from Yahoo Finance.

    Network failures and rate limits are retried ``retries`` times with exponential backoff
    (``backoff`` seconds, then twice that, ...); each attempt gets ``timeout`` seconds in all,
    and a call ends within :func:`fetch_budget` seconds, whatever the network does.
    ``auto_adjust``: prices adjusted for splits and dividends (recorded with the bars).
    ``clock`` is what the backoff waits on, ``downloader`` what asks Yahoo (None: the shared
    child processes, :func:`shared_downloader`); tests pass fakes of both. Calls from several
    threads at once are safe when the downloader is (the shared one is).
    """

    retries: int = 3
    timeout: float = 10.0
    auto_adjust: bool = True
    backoff: float = 1.0
    clock: WaitClock = field(default_factory=SystemClock, compare=False)
    downloader: YahooDownloader | None = field(default=None, compare=False)

    name: ClassVar[str] = "yahoo"
    one_ticker: ClassVar[bool] = False
    default_ticker: ClassVar[str | None] = None
    # Today's bar moves until the close: it is dropped until its session has closed.
    live: ClassVar[bool] = True
    # A ticker stored from Yahoo is fetched again from shortly before its last bar.
    incremental: ClassVar[bool] = True

    def origin(self, symbol: str) -> str:
        return f"{symbol} (Yahoo)"

    def bars(
        self,
        symbol: str,
        start: dt.date | None = None,
        end: dt.date | None = None,
        cache: Path | None = None,
    ) -> Bars:
        """Daily bars for ``symbol``, ``start`` inclusive to ``end`` inclusive (None: the
        whole history, up to the newest bar); ``cache`` is yfinance's cache folder.

        Raises SourceError (worth retrying later) when Yahoo cannot be reached in time or
        rate-limits us, or the download cannot run on this machine; DataError when Yahoo
        answers but has no data (unknown or delisted symbol, empty period). Anything else a
        download raises is a bug and propagates unretried.
        """
        download = self.downloader or shared_downloader()
        end_exclusive = (end + dt.timedelta(days=1)).isoformat() if end else None
        deadline = self.clock.monotonic() + fetch_budget(self.retries, self.timeout, self.backoff)
        attempt = 0
        while True:
            request = YahooRequest(
                symbol,
                start.isoformat() if start else None,
                end_exclusive,
                self.auto_adjust,
                self.timeout,
                cache=cache,
                deadline=deadline,
            )
            try:
                answer = download(request)
                break
            except Exception as exc:  # sorted by yahoo.classify; the unforeseen (bugs) re-raised
                kind = yahoo.classify(exc)
                if kind is None:
                    raise
                if kind == "missing":
                    raise DataError(
                        f"{symbol}: Yahoo has no data for this symbol (unknown or delisted?): "
                        f"{_one_line(exc)}"
                    ) from None
                if kind == "local":
                    raise SourceError(
                        f"{symbol}: cannot download from Yahoo ({_one_line(exc)})"
                    ) from None
                pause = self.backoff * 2**attempt
                if attempt >= self.retries or self.clock.monotonic() + pause >= deadline:
                    what = "rate limited by Yahoo" if kind == "rate_limit" else "Yahoo unreachable"
                    raise SourceError(
                        f"{symbol}: {what} after {attempt + 1} attempts ({_one_line(exc)}); "
                        "try again later"
                    ) from None
                self.clock.sleep(pause)
                attempt += 1
        raw = answer.frame
        if raw is None or len(raw) == 0:
            raise DataError(f"{symbol}: Yahoo returned no data (unknown or delisted symbol?)")
        return Bars(
            normalise_yahoo(raw, symbol),
            source=self.name,
            auto_adjust=self.auto_adjust,
            exchange=answer.exchange,
        )
