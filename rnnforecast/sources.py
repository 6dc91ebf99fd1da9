"""Where daily bars come from: Yahoo Finance (through yfinance), a local CSV, the bundled sample.

Every source returns the same canonical frame: a tz-naive ``DatetimeIndex`` named ``date``
(one row per trading day, midnight, ascending, unique) and float64 columns
``open, high, low, close, volume`` (prices in the instrument's currency, volume in shares),
validated by :func:`validate_bars`. yfinance runs only in a child process (rnnforecast.yahoo).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from rnnforecast import yahoo
from rnnforecast.config import BASE_FEATURES
from rnnforecast.errors import DataError, SourceError, UsageError
from rnnforecast.tickers import check_ticker
from rnnforecast.yahoo import ChildDownloader, YahooDownloader, YahooRequest

COLUMNS = BASE_FEATURES
__all__ = ["COLUMNS", "SAMPLE_TICKER", "Bars", "check_ticker", "fetch_yahoo", "read_csv"]
SAMPLE_TICKER = "GOOG"
_DATE_NAMES = ("date", "datetime", "timestamp", "", "unnamed: 0")
# Bars further apart than this (median, calendar days) are not daily bars.
_MAX_MEDIAN_GAP_DAYS = 4


@dataclass(frozen=True)
class Bars:
    """A validated canonical frame and where it came from (recorded in the store)."""

    frame: pd.DataFrame
    source: str  # "yahoo", "csv", or "sample"
    auto_adjust: bool | None = None  # Yahoo only: were prices adjusted for splits/dividends?
    exchange: str | None = None  # Yahoo only: the quote's exchange code, e.g. "NMS" (Nasdaq)


def validate_bars(frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Check a frame with a datetime index and the five columns; return it clean and sorted.

    Sorts by date; raises DataError (naming ``origin`` and the first bad date) for: no rows,
    duplicate dates, intraday timestamps, bars that are not daily (weekly, monthly),
    non-finite or non-positive prices, negative volume, High below Low.
    """
    if frame.empty:
        raise DataError(f"{origin}: no rows")
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(f"{origin}: dates could not be read")
    if index.hasnans:
        raise DataError(f"{origin}: a row has no date")
    intraday = index != index.normalize()
    if intraday.any():
        raise DataError(
            f"{origin}: intraday timestamp {index[intraday][0]}: rnnforecast works on daily bars "
            "(one row per trading day); resample to daily closes first"
        )
    frame = frame.sort_index(kind="stable")
    duplicated = frame.index.duplicated()
    if duplicated.any():
        raise DataError(f"{origin}: duplicate date {frame.index[duplicated][0].date()}")
    if len(frame) >= 3:
        gap = float(np.median(np.diff(frame.index.values).astype("timedelta64[D]").astype(float)))
        if gap > _MAX_MEDIAN_GAP_DAYS:
            raise DataError(
                f"{origin}: bars are {gap:.0f} days apart (median): these look like weekly or "
                "monthly bars, and rnnforecast works on daily bars only"
            )
    values = frame.loc[:, list(COLUMNS)].to_numpy(dtype=np.float64)
    prices, volume = values[:, :4], values[:, 4]
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise DataError(f"{origin}: missing or non-finite value on {_first_date(frame, bad)}")
    bad = (prices <= 0).any(axis=1)
    if bad.any():
        raise DataError(f"{origin}: price not positive on {_first_date(frame, bad)}")
    bad = volume < 0
    if bad.any():
        raise DataError(f"{origin}: negative volume on {_first_date(frame, bad)}")
    bad = prices[:, 1] < prices[:, 2]
    if bad.any():
        raise DataError(f"{origin}: High below Low on {_first_date(frame, bad)}")
    clean = pd.DataFrame(values, index=frame.index, columns=list(COLUMNS))
    clean.index.name = "date"
    return clean


def _first_date(frame: pd.DataFrame, mask: np.ndarray) -> str:
    return str(frame.index[np.flatnonzero(mask)[0]].date())


def _numeric_columns(frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Map columns case-insensitively to COLUMNS and make them numeric, or raise DataError."""
    by_name = {str(c).strip().lower(): c for c in frame.columns}
    missing = [c for c in COLUMNS if c not in by_name]
    if missing:
        raise DataError(
            f"{origin}: missing column {missing[0].capitalize()} "
            f"(need Open, High, Low, Close, Volume; found {', '.join(map(str, frame.columns))})"
        )
    out = pd.DataFrame(index=frame.index)
    for name in COLUMNS:
        column = frame[by_name[name]]
        numeric = pd.to_numeric(column, errors="coerce")
        bad = numeric.isna() & column.notna()
        if bad.any():
            where = frame.index[bad.to_numpy()][0]
            shown = where.date() if isinstance(where, pd.Timestamp) else where
            raise DataError(
                f"{origin}: non-numeric {name.capitalize()} value "
                f"{column[bad].iloc[0]!r} on {shown}"
            )
        out[name] = numeric.astype(np.float64)
    return out


def read_csv(path: Path) -> Bars:
    """Read daily bars from a CSV file.

    The date is the column named Date/date/Datetime, else an unnamed first column; then
    Open, High, Low, Close, Volume in any case and order; other columns are ignored. Rows
    out of order are sorted. Raises UsageError if the file is missing or unreadable,
    DataError if its content is not valid daily bars.
    """
    path = Path(path)
    origin = str(path)
    if not path.is_file():
        raise UsageError(f"CSV file not found: {path}")
    try:
        raw = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{origin}: file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{origin}: not a readable CSV file ({first})") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    date_column = next(
        (c for c in raw.columns if str(c).strip().lower() in _DATE_NAMES[:3]), None
    ) or next((c for c in raw.columns[:1] if str(c).strip().lower() in _DATE_NAMES[3:]), None)
    if date_column is None:
        raise DataError(
            f"{origin}: no date column (name it Date, or leave the first column unnamed)"
        )
    if raw.empty:
        raise DataError(f"{origin}: no rows")
    # Keep the exchange's wall-clock date: drop a UTC offset, which changes with daylight
    # saving time (yfinance exports carry one) and would otherwise mix time zones.
    text = (
        raw[date_column]
        .str.strip()
        .str.replace(
            r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|[+-]\d{2}:?\d{2})$", r"\1", regex=True
        )
    )
    dates = pd.to_datetime(text, errors="coerce", format="mixed")
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise DataError(
            f"{origin}: unreadable date {raw[date_column].iloc[row]!r} on line {row + 2}"
        )
    raw.index = pd.DatetimeIndex(dates)
    return Bars(validate_bars(_numeric_columns(raw, origin), origin), source="csv")


def sample_path() -> Path:
    """The bundled GOOG daily prices (2004-08-19 to 2013-03-01), shipped as package data."""
    return Path(str(resources.files("rnnforecast").joinpath("data", "GOOG.csv")))


def load_sample() -> Bars:
    """The bundled sample as canonical bars (ticker :data:`SAMPLE_TICKER`)."""
    bars = read_csv(sample_path())
    return Bars(bars.frame, source="sample")


# --- Yahoo Finance -------------------------------------------------------------------------


# The one way into yfinance (the test boundary): a child process that never shares TensorFlow
# and can be killed at a deadline (see rnnforecast.yahoo). Tests replace it with a fake.
download_yahoo: YahooDownloader = ChildDownloader()


def normalise_yahoo(raw: pd.DataFrame, symbol: str, today: dt.date) -> pd.DataFrame:
    """Turn yfinance's frame into canonical columns and exchange dates, without today's bar.

    Flattens ``yf.download``-style two-level columns (refusing a frame that holds several
    tickers), converts a timezone-aware index to the exchange's calendar dates, drops rows
    Yahoo left empty and any bar dated ``today`` or later (today's bar is incomplete while
    the market is open). Raises DataError if nothing usable is left.
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
    frame = _numeric_columns(frame, f"{symbol} (Yahoo)")
    frame = frame.dropna(subset=["open", "high", "low", "close"], how="all")
    frame = frame[frame.index < pd.Timestamp(today)]
    if frame.empty:
        raise DataError(f"{symbol}: Yahoo returned no daily bars for that period")
    return validate_bars(frame, f"{symbol} (Yahoo)")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


# Indirection so that tests can fake the clock: retries sleep through this.
_sleep: Callable[[float], None] = time.sleep


def fetch_budget(retries: int, timeout: float, backoff: float = 1.0) -> float:
    """The most seconds :func:`fetch_yahoo` takes: every attempt's ``timeout`` (plus
    ``yahoo.GRACE`` to hand the answer over), the backoff sleeps between attempts, and
    ``yahoo.STARTUP_TIMEOUT`` for starting the download process. At the defaults (3 retries,
    10 s, backoff 1 s): 4 * 10.25 + (1 + 2 + 4) + 10 = 58 s."""
    attempts = retries + 1
    sleeps = backoff * (2**retries - 1)
    return attempts * (timeout + yahoo.GRACE) + sleeps + yahoo.STARTUP_TIMEOUT


def fetch_yahoo(
    symbol: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    auto_adjust: bool = True,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 10.0,
    today: dt.date | None = None,
    cache: Path | None = None,
    download: YahooDownloader | None = None,
    sleep: Callable[[float], None] | None = None,
) -> Bars:
    """Daily bars for ``symbol`` from Yahoo, ``start`` inclusive to ``end`` inclusive.

    Network failures and rate limits are retried ``retries`` times with exponential backoff
    (``backoff``, then twice that, ...); each attempt gets ``timeout`` seconds in all, and the
    whole call ends within :func:`fetch_budget` seconds, whatever the network does.
    ``cache`` is yfinance's cache folder. ``download`` and ``sleep`` default to the real
    child-process download and ``time.sleep``. Raises SourceError (worth retrying later)
    when Yahoo cannot be reached in time or rate-limits us, DataError when Yahoo answers but
    has no data (unknown or delisted symbol, empty period). Anything else a download raises
    is a bug and propagates unretried.
    """
    download = download or download_yahoo
    sleep = sleep or _sleep
    today = today or dt.date.today()
    end_exclusive = (end + dt.timedelta(days=1)).isoformat() if end else None
    deadline = time.monotonic() + fetch_budget(retries, timeout, backoff)
    attempt = 0
    while True:
        request = YahooRequest(
            symbol,
            start.isoformat() if start else None,
            end_exclusive,
            auto_adjust,
            timeout,
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
            pause = backoff * 2**attempt
            if attempt >= retries or time.monotonic() + pause >= deadline:
                what = "rate limited by Yahoo" if kind == "rate_limit" else "Yahoo unreachable"
                raise SourceError(
                    f"{symbol}: {what} after {attempt + 1} attempts ({_one_line(exc)}); "
                    "try again later"
                ) from None
            sleep(pause)
            attempt += 1
    raw = answer.frame
    if raw is None or len(raw) == 0:
        raise DataError(f"{symbol}: Yahoo returned no data (unknown or delisted symbol?)")
    return Bars(
        normalise_yahoo(raw, symbol, today),
        source="yahoo",
        auto_adjust=auto_adjust,
        exchange=answer.exchange,
    )
