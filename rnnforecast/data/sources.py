"""Where daily bars come from: the :class:`Source` protocol, a local CSV, the bundled sample.

Every source returns the same canonical frame: a tz-naive ``DatetimeIndex`` named ``date``
(one row per trading day, midnight, ascending, unique) and float64 columns
``open, high, low, close, volume`` (prices in the instrument's currency, volume in shares),
validated by :func:`validate_bars`. Yahoo Finance is
:class:`rnnforecast.data.yahoo_source.YahooSource`
(yfinance runs only in a child process, :mod:`rnnforecast.data.yahoo`).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

import numpy as np
import pandas as pd

from rnnforecast.data.bars import COLUMNS, HIGH, LOW, VOLUME, Bars
from rnnforecast.data.csv_layouts import yfinance_header_rows
from rnnforecast.data.tickers import check_ticker
from rnnforecast.errors import DataError, UsageError

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "COLUMNS",
    "SAMPLE_TICKER",
    "Bars",
    "CsvSource",
    "SampleSource",
    "Source",
    "check_ticker",
    "read_csv",
]
SAMPLE_TICKER = "GOOG"
_DATE_NAMES = ("date", "datetime", "timestamp", "time", "", "unnamed: 0")
# Bars further apart than this (median, calendar days) are not daily bars.
_MAX_MEDIAN_GAP_DAYS = 4


class Source(Protocol):
    """Where a ticker's daily bars come from (Yahoo, a CSV file, the sample; a fake in tests).

    ``name`` is recorded in the store with the bars. ``one_ticker``: the source holds one
    series (a file), so a fetch from it names one ticker, ``default_ticker`` if none.
    ``live``: its newest bar may still be trading; such a bar is dropped until its session
    has closed, where any other source's is refused. ``incremental``: a ticker stored from
    this source is fetched again from shortly before its last stored bar.
    """

    @property
    def name(self) -> str: ...
    @property
    def one_ticker(self) -> bool: ...
    @property
    def default_ticker(self) -> str | None: ...
    @property
    def live(self) -> bool: ...
    @property
    def incremental(self) -> bool: ...

    def origin(self, symbol: str) -> str:
        """How messages name the place ``symbol``'s bars came from."""
        ...

    def bars(
        self,
        symbol: str,
        start: dt.date | None = None,
        end: dt.date | None = None,
        cache: Path | None = None,
    ) -> Bars:
        """Validated bars of ``symbol`` from ``start`` to ``end`` inclusive (None: from the
        first, to the last). ``cache`` is a folder of the home the source may keep caches
        in. Raises UsageError, DataError or SourceError."""
        ...


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
    prices, volume = values[:, :VOLUME], values[:, VOLUME]
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        column = COLUMNS[int(np.flatnonzero(~np.isfinite(values[bad][0]))[0])].capitalize()
        raise DataError(f"{origin}: missing or non-finite {column} on {_first_date(frame, bad)}")
    bad = (prices <= 0).any(axis=1)
    if bad.any():
        raise DataError(f"{origin}: price not positive on {_first_date(frame, bad)}")
    bad = volume < 0
    if bad.any():
        raise DataError(f"{origin}: negative volume on {_first_date(frame, bad)}")
    bad = prices[:, HIGH] < prices[:, LOW]
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
# How exports write "no volume reported": Investing.com "-" for indices, or nothing.
_NO_VOLUME = ("-", "", "—", "n/a", "N/A")


def _floats(column: pd.Series) -> pd.Series:
    """A column as float64, NaN where a value is no number. numpy converts text correctly
    rounded: pandas before 3.1 reads some decimals 1 ulp off (prices would vary by version)."""
    numeric = pd.to_numeric(column, errors="coerce")
    if pd.api.types.is_numeric_dtype(column):
        return numeric
    ok = numeric.notna().to_numpy()
    values = numeric.to_numpy(dtype=np.float64, copy=True)
    try:
        values[ok] = np.array(column[ok].astype(str).str.strip().tolist(), dtype=np.float64)
    except ValueError:  # a spelling pandas reads and numpy does not: pandas' value stands
        return numeric
    return pd.Series(values, index=column.index)


def _exported_numbers(column: pd.Series) -> pd.Series:
    """Values of a text column read as exports print numbers (currency sign, thousands
    separators, K/M/B suffix); NaN where a value is not such a number."""
    parts = column.astype(str).str.strip().str.extract(_NUMBER_RE)
    value = _floats(parts["digits"].str.replace(",", "", regex=False))
    scale = parts["suffix"].str.upper().map(_SUFFIXES).astype(float)
    sign = np.where(parts["sign"] == "-", -1.0, 1.0)
    return value * scale * sign


def numeric_columns(
    frame: pd.DataFrame, origin: str, first_line: int | None = None
) -> pd.DataFrame:
    """Map columns case-insensitively to COLUMNS (or an alias of :data:`_ALIASES`) and make
    them numeric, reading exported numbers such as "$1,234.50" or "3.04M"; a Volume left
    empty or written ``-`` (Investing.com, for indices and currencies) is 0 shares.
    Raise DataError for a missing column or a value that is not a number, naming the column,
    the row's date and, given ``first_line`` (the file line of the first row), its line."""
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
        if name == "volume" and not pd.api.types.is_numeric_dtype(column):
            # no volume reported (an index, a currency pair): none traded, as Yahoo says 0
            column = column.where(~column.fillna("-").astype(str).str.strip().isin(_NO_VOLUME), "0")
        numeric = _floats(column)
        bad = numeric.isna() & column.notna()
        if bad.any() and not pd.api.types.is_numeric_dtype(column):
            numeric = numeric.where(~bad, _exported_numbers(column))
            bad = numeric.isna() & column.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            where = frame.index[row]
            shown = where.date() if isinstance(where, pd.Timestamp) else where
            line = "" if first_line is None else f" (line {first_line + row})"
            raise DataError(
                f"{origin}: non-numeric {name.capitalize()} value "
                f"{column.iloc[row]!r} on {shown}{line}"
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
    if not path.exists():
        raise UsageError(f"CSV file not found: {path}")
    if path.is_dir():
        raise UsageError(f"{path} is a folder, not a CSV file")
    if not path.is_file():  # a FIFO would block the read; a device has no end
        raise UsageError(f"{path} is not a regular file (a pipe or a device)")
    try:
        skipped = yfinance_header_rows(path, origin)
        raw = pd.read_csv(path, dtype=str, skipinitialspace=True, skiprows=skipped)
    except pd.errors.EmptyDataError:
        raise DataError(f"{origin}: file is empty") from None
    except (pd.errors.ParserError, csv.Error, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{origin}: not a readable CSV file ({first})") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if skipped:  # yf.download().to_csv(): the dates are in the column headed "Price"
        raw = raw.rename(columns={raw.columns[0]: "Date"})
    date_column = next(
        (c for c in raw.columns if str(c).strip().lower() in _DATE_NAMES[:4]), None
    ) or next((c for c in raw.columns[:1] if str(c).strip().lower() in _DATE_NAMES[4:]), None)
    if date_column is None:
        raise DataError(
            f"{origin}: no date column: the first line names the columns "
            f"({', '.join(map(str, raw.columns[:6]))}); name the dates' column Date, or "
            "leave the first column unnamed"
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
    frame = numeric_columns(raw, origin, first_line=2 + len(skipped))
    stamps = None
    if date_format is None and text.str.fullmatch(r"\d{9,10}").all():
        # Unix times: instants (TradingView's session opens), mapped to sessions at fetch;
        # sorted, they are in the order of the sorted dates
        stamps = np.sort(text.astype("int64").to_numpy().astype("datetime64[s]"))
    return Bars(validate_bars(frame, origin), source=CsvSource.name, stamps=stamps)


def sample_path() -> Path:
    """The bundled GOOG daily prices (2004-08-19 to 2013-03-01), shipped as package data."""
    return Path(str(resources.files("rnnforecast").joinpath("data", "GOOG.csv")))


def load_sample() -> Bars:
    """The bundled sample as canonical bars (ticker :data:`SAMPLE_TICKER`)."""
    bars = read_csv(sample_path())
    return Bars(bars.frame, source=SampleSource.name)


def clip(bars: Bars, start: dt.date | None, end: dt.date | None) -> Bars:
    """``bars`` from ``start`` to ``end`` inclusive (None: unbounded). Raises DataError if
    none are left."""
    kept = np.ones(len(bars.frame), dtype=bool)
    if start:
        kept &= bars.frame.index >= pd.Timestamp(start)
    if end:
        kept &= bars.frame.index <= pd.Timestamp(end)
    if not kept.any():
        raise DataError(f"no bars between {start or 'the start'} and {end or 'the end'}")
    stamps = None if bars.stamps is None else bars.stamps[kept]
    return Bars(bars.frame[kept], bars.source, bars.auto_adjust, bars.exchange, stamps)


@dataclass(frozen=True)
class CsvSource:
    """One ticker's bars from a CSV file (see :func:`read_csv`); ``date_format`` is the
    dates' strftime format (None: the one format that reads them all)."""

    path: Path
    date_format: str | None = None

    name: ClassVar[str] = "csv"
    one_ticker: ClassVar[bool] = True
    default_ticker: ClassVar[str | None] = None
    live: ClassVar[bool] = False
    incremental: ClassVar[bool] = False

    def origin(self, symbol: str) -> str:
        return str(self.path)

    def bars(
        self,
        symbol: str,
        start: dt.date | None = None,
        end: dt.date | None = None,
        cache: Path | None = None,
    ) -> Bars:
        return clip(read_csv(self.path, self.date_format), start, end)


@dataclass(frozen=True)
class SampleSource:
    """The bundled GOOG daily prices (:func:`load_sample`), as ticker :data:`SAMPLE_TICKER`
    unless a fetch names another."""

    name: ClassVar[str] = "sample"
    one_ticker: ClassVar[bool] = True
    default_ticker: ClassVar[str | None] = SAMPLE_TICKER
    live: ClassVar[bool] = False
    incremental: ClassVar[bool] = False

    def origin(self, symbol: str) -> str:
        return symbol

    def bars(
        self,
        symbol: str,
        start: dt.date | None = None,
        end: dt.date | None = None,
        cache: Path | None = None,
    ) -> Bars:
        return clip(load_sample(), start, end)
