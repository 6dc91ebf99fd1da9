"""Where daily bars come from: Yahoo Finance (through yfinance), a local CSV, the bundled sample.

Every source returns the same canonical frame: a tz-naive ``DatetimeIndex`` named ``date``
(one row per trading day, midnight, ascending, unique) and float64 columns
``open, high, low, close, volume`` (prices in the instrument's currency, volume in shares),
validated by :func:`validate_bars`. yfinance runs only in a child process (rnnforecast.yahoo).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rnnforecast import yahoo
from rnnforecast.config import BASE_FEATURES
from rnnforecast.errors import DataError, SourceError, UsageError
from rnnforecast.tickers import check_ticker
from rnnforecast.yahoo import ChildDownloader, YahooDownloader, YahooRequest

if TYPE_CHECKING:
    import numpy.typing as npt

COLUMNS = BASE_FEATURES
__all__ = ["COLUMNS", "SAMPLE_TICKER", "Bars", "check_ticker", "fetch_yahoo", "read_csv"]
SAMPLE_TICKER = "GOOG"
_DATE_NAMES = ("date", "datetime", "timestamp", "time", "", "unnamed: 0")
# Bars further apart than this (median, calendar days) are not daily bars.
_MAX_MEDIAN_GAP_DAYS = 4


@dataclass(frozen=True)
class Bars:
    """A validated canonical frame and where it came from (recorded in the store)."""

    frame: pd.DataFrame
    source: str  # "yahoo", "csv", or "sample"
    auto_adjust: bool | None = None  # Yahoo only: were prices adjusted for splits/dividends?
    exchange: str | None = None  # the exchange code the source reports (Yahoo's "NMS"), if any


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


def _first_date(frame: pd.DataFrame, mask: npt.ArrayLike) -> str:
    return str(frame.index[np.flatnonzero(mask)[0]].date())


# Other names that exports give the columns: Nasdaq.com "Close/Last", Investing.com "Price"
# and "Vol.". The first name a file has wins.
_ALIASES = {"close": ("close", "close/last", "price", "last"), "volume": ("volume", "vol.", "vol")}
# A number as exports print it: "$1,234.50", "-€3.5", "3.04M" (thousands, millions, billions).
_NUMBER_RE = (
    r"^(?P<sign>[-+]?)\s*[$€£¥]?\s*(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d*\.?\d+)"
    r"\s*(?P<suffix>[KMBkmb]?)$"
)
_SUFFIXES = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9}


def _exported_numbers(column: pd.Series) -> pd.Series:
    """Values of a text column read as exports print numbers (currency sign, thousands
    separators, K/M/B suffix); NaN where a value is not such a number."""
    parts = column.astype(str).str.strip().str.extract(_NUMBER_RE)
    value = pd.to_numeric(parts["digits"].str.replace(",", "", regex=False), errors="coerce")
    scale = parts["suffix"].str.upper().map(_SUFFIXES).astype(float)
    sign = np.where(parts["sign"] == "-", -1.0, 1.0)
    return value * scale * sign


def _numeric_columns(frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Map columns case-insensitively to COLUMNS (or an alias of :data:`_ALIASES`) and make
    them numeric, reading exported numbers such as "$1,234.50" or "3.04M"; raise DataError
    for a missing column or a value that is not a number."""
    by_name: dict[str, Hashable] = {}
    for label in frame.columns:
        by_name.setdefault(str(label).strip().lower(), label)
    for name, aliases in _ALIASES.items():
        found = next((alias for alias in aliases if alias in by_name), None)
        if found is not None:
            by_name[name] = by_name[found]
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
        if bad.any() and not pd.api.types.is_numeric_dtype(column):
            numeric = numeric.where(~bad, _exported_numbers(column))
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


class AmbiguousDatesError(DataError):
    """Every date of a file reads both month-first and day-first: a format must be given."""


# The date formats a file may use, one per file. A format that fits every date is the
# file's; "ISO8601" also covers a time after the date (its UTC offset is dropped first).
DATE_FORMATS: dict[str, str] = {
    "ISO8601": "YYYY-MM-DD",
    "%m/%d/%Y": "MM/DD/YYYY",
    "%d/%m/%Y": "DD/MM/YYYY",
    "%d.%m.%Y": "DD.MM.YYYY",
    "%Y/%m/%d": "YYYY/MM/DD",
    "%m-%d-%Y": "MM-DD-YYYY",
    "%d-%m-%Y": "DD-MM-YYYY",
    "%d-%b-%Y": "DD-Mon-YYYY",
    "%b %d, %Y": "Mon DD, YYYY",
    "%d %b %Y": "DD Mon YYYY",
}


def parse_dates(text: pd.Series, origin: str, date_format: str | None = None) -> pd.Series:
    """Read a column of date strings with ONE format for the whole file.

    ``date_format`` (strftime, e.g. ``%d/%m/%Y``) is used if given; else Unix seconds if
    every value is 9-10 digits, else the one format of :data:`DATE_FORMATS` that reads
    every date. Raises AmbiguousDatesError when the dates
    read both month-first and day-first with different results (every day is 12 or less),
    DataError (naming the first unreadable date and its line) when no format reads them all.
    """
    import pandas as pd

    def parse(fmt: str) -> pd.Series:
        return pd.to_datetime(text, errors="coerce", format=fmt)

    if date_format is not None:
        dates = parse(date_format)
        _check_parsed(dates, text, origin, f"as {date_format}")
        return dates
    if text.str.fullmatch(r"\d{9,10}").all():
        return _unix_dates(text)
    tried = {fmt: parse(fmt) for fmt in DATE_FORMATS}
    fits = [fmt for fmt, dates in tried.items() if not dates.isna().any()]
    distinct = [fmt for fmt in fits if not tried[fmt].equals(tried[fits[0]])]
    if distinct:
        shown = " and ".join(DATE_FORMATS[fmt] for fmt in [fits[0], *distinct])
        sample = text.iloc[
            int(np.flatnonzero((tried[fits[0]] != tried[distinct[0]]).to_numpy())[0])
        ]
        raise AmbiguousDatesError(
            f"{origin}: dates such as {sample!r} read as {shown} alike (no day after the "
            "12th tells them apart)"
        )
    if fits:
        return tried[fits[0]]
    # Report against the format that reads most dates: the others are then the odd ones.
    best = min(tried, key=lambda fmt: int(tried[fmt].isna().sum()))
    readable = len(text) - int(tried[best].isna().sum())
    _check_parsed(tried[best], text, origin, f"as {DATE_FORMATS[best]}" if readable else "")
    return tried[best]  # pragma: no cover - _check_parsed raised


def _unix_dates(text: pd.Series) -> pd.Series:
    """Unix seconds (TradingView's ``time``) as UTC wall-clock times."""
    import pandas as pd

    return pd.to_datetime(text.astype("int64"), unit="s", utc=True).dt.tz_localize(None)


def _daily_stamps(dates: pd.Series) -> pd.Series:
    """Dates without their time of day when the bars are at least 20 hours apart: daily bars
    that an export stamps at some hour (TradingView at the session's open). Closer stamps
    are intraday bars, left as they are to be refused as such."""
    import pandas as pd

    gaps = dates.sort_values().diff().dropna()
    if not len(gaps) or gaps.min() < pd.Timedelta(hours=20):  # one stamp tells nothing
        return dates
    normalised: pd.Series = dates.dt.normalize()
    return normalised


def _check_parsed(dates: pd.Series, text: pd.Series, origin: str, how: str) -> None:
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0])
        detail = f" (read {how}, like the other dates)" if how else ""
        raise DataError(f"{origin}: unreadable date {text.iloc[row]!r} on line {row + 2}{detail}")


def read_csv(path: Path, date_format: str | None = None) -> Bars:
    """Read daily bars from a CSV file.

    The date is the column named Date/Datetime/Timestamp/Time (any case), else an unnamed
    first column; then Open, High, Low, Close, Volume in any case and order, or the names
    exports use (Close/Last, Price, Vol.); other columns are ignored. Numbers may carry a
    currency sign, thousands separators and a K/M/B suffix. Rows out of order (newest
    first) are sorted; daily bars stamped at an hour keep their date. Dates are read with
    one format per file (``date_format``, a strftime format, or the one that fits, see
    :func:`parse_dates`).
    Raises UsageError if the file is missing or unreadable, AmbiguousDatesError if its
    dates read month-first and day-first alike, DataError if its content is not valid
    daily bars.
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
        (c for c in raw.columns if str(c).strip().lower() in _DATE_NAMES[:4]), None
    ) or next((c for c in raw.columns[:1] if str(c).strip().lower() in _DATE_NAMES[4:]), None)
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
    dates = _daily_stamps(parse_dates(text, origin, date_format))
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


def normalise_yahoo(raw: pd.DataFrame, symbol: str, today: dt.date | None = None) -> pd.DataFrame:
    """Turn yfinance's frame into canonical columns and exchange dates.

    Flattens ``yf.download``-style two-level columns (refusing a frame that holds several
    tickers), converts a timezone-aware index to the exchange's calendar dates, drops rows
    Yahoo left empty and, if ``today`` is given, any bar dated ``today`` or later. (Fetch
    drops bars whose session has not closed with :func:`rnnforecast.calendars.complete_bars`
    instead: the machine's date is not the exchange's.) Raises DataError if nothing usable
    is left.
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
    if today is not None:
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
    sleeps = backoff * (2.0**retries - 1)
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
