"""A user's own pandas DataFrame of daily bars as a source: the checks a CSV file passes.

The dates are a column named Date/Datetime/Timestamp/Time (any case), else the index;
Open, High, Low, Close, Volume in any case, with ``_`` or spaces (``adj_close``), or the
names exports use (Close/Last, Price, Vol.). ``Adj Close`` is the close only when the frame
has no Close. Other columns are ignored; yfinance's two-level columns of one ticker are
read by their first level.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from rnnforecast.data.bars import Bars
from rnnforecast.data.sources import clip, numeric_columns, parse_dates, validate_bars
from rnnforecast.errors import DataError, UsageError

if TYPE_CHECKING:
    from rnnforecast.data.sources import Source

ORIGIN = "the DataFrame"
_DATE_NAMES = ("date", "datetime", "timestamp", "time")


def _label(name: Any) -> str:
    """A column label as compared: lower case, ``_`` and runs of spaces as one space."""
    return re.sub(r"[\s_]+", " ", str(name).strip().lower())


def _columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with one level of labels, normalised by :func:`_label`. Raises DataError
    for columns of several tickers or two columns that name the same thing."""
    if isinstance(frame.columns, pd.MultiIndex):
        if frame.columns.nlevels != 2 or frame.columns.get_level_values(1).nunique() > 1:
            raise DataError(f"{ORIGIN}: its columns hold several tickers: pass one at a time")
        frame = frame.droplevel(1, axis=1)
    labels = [_label(c) for c in frame.columns]
    doubled = sorted({name for name in labels if labels.count(name) > 1})
    if doubled:
        raise DataError(f"{ORIGIN}: two columns are named {doubled[0]!r}")
    out = frame.set_axis(labels, axis=1)
    if "close" not in labels and "adj close" in labels:
        out = out.rename(columns={"adj close": "close"})
    return out


def _dates(values: pd.Series | pd.Index, date_format: str | None) -> pd.DatetimeIndex:
    """The dates as a tz-naive DatetimeIndex on the exchange's wall clock. Raises
    DataError for values that are no dates (numbers, unreadable text)."""
    if isinstance(values, pd.DatetimeIndex) or pd.api.types.is_datetime64_any_dtype(values):
        index = pd.DatetimeIndex(values)
        return index.tz_localize(None) if index.tz is not None else index
    series = pd.Series(values)
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        raise DataError(
            f"{ORIGIN}: no dates: give it a date index or a Date column (found numbers)"
        )
    if series.map(lambda v: isinstance(v, dt.date)).all():  # date or datetime objects
        return _dates(pd.DatetimeIndex(pd.to_datetime(list(series))), date_format)
    text = series.map(lambda v: "" if v is None or v != v else str(v).strip())
    return pd.DatetimeIndex(parse_dates(text.reset_index(drop=True), ORIGIN, date_format))


def read_frame(frame: object, date_format: str | None = None) -> Bars:
    """Canonical bars (source ``frame``) from a DataFrame laid out as the module says.

    ``date_format`` (strftime, e.g. ``%d/%m/%Y``) reads dates given as text; without it, the
    one format that reads them all (:func:`rnnforecast.data.sources.parse_dates`). Raises
    UsageError if ``frame`` is not a DataFrame, AmbiguousDatesError (a DataError) if text
    dates read month-first and day-first alike, DataError if it holds no valid daily bars
    (no rows, no dates, a missing or non-numeric column, duplicate dates, ...).
    """
    if not isinstance(frame, pd.DataFrame):
        raise UsageError(f"data must be a pandas DataFrame, not {type(frame).__name__}")
    if frame.empty:
        raise DataError(f"{ORIGIN}: no rows")
    named = _columns(frame)
    column = next((c for c in named.columns if c in _DATE_NAMES), None)
    dates = _dates(named.index if column is None else named[column], date_format)
    body = named.drop(columns=[column]) if column is not None else named
    body = body.set_axis(dates, axis=0)
    return Bars(validate_bars(numeric_columns(body, ORIGIN), ORIGIN), source=FrameSource.name)


@dataclass(frozen=True, eq=False)
class FrameSource:
    """One ticker's bars from a DataFrame (see :func:`read_frame`), as a
    :class:`~rnnforecast.data.sources.Source`; ``date_format`` reads text dates."""

    frame: pd.DataFrame
    date_format: str | None = None

    name: ClassVar[str] = "frame"
    one_ticker: ClassVar[bool] = True
    default_ticker: ClassVar[str | None] = None
    live: ClassVar[bool] = False
    incremental: ClassVar[bool] = False

    def origin(self, symbol: str) -> str:
        return ORIGIN

    def bars(
        self,
        symbol: str,
        start: dt.date | None = None,
        end: dt.date | None = None,
        cache: Path | None = None,
    ) -> Bars:
        return clip(read_frame(self.frame, self.date_format), start, end)


def choose_source(
    csv: Path | None,
    data: object,
    sample: bool,
    auto_adjust: bool,
    date_format: str | None,
) -> Source:
    """The one source a fetch names: a CSV file, a DataFrame (``data``, not None), the
    bundled sample, else Yahoo (``auto_adjust``). ``date_format`` reads a file's or a
    frame's dates. Raises UsageError for two sources at once, or a ``date_format`` without
    a file or a frame."""
    from rnnforecast.data.sources import CsvSource, SampleSource
    from rnnforecast.data.yahoo_source import YahooSource

    given = {"csv": csv is not None, "data": data is not None, "sample": sample}
    named = [name for name, on in given.items() if on]
    if len(named) > 1:
        raise UsageError(f"{' and '.join(named)} are {len(named)} sources: choose one")
    if date_format is not None and named not in (["csv"], ["data"]):
        raise UsageError("date_format reads the dates of a CSV file (csv=) or a DataFrame (data=)")
    if csv is not None:
        return CsvSource(Path(csv), date_format)
    if data is not None:
        if not isinstance(data, pd.DataFrame):
            raise UsageError(f"data must be a pandas DataFrame, not {type(data).__name__}")
        return FrameSource(data, date_format)
    return SampleSource() if sample else YahooSource(auto_adjust=auto_adjust)


def as_day(value: dt.date | str | None) -> dt.date | None:
    """A day given as a ``datetime.date`` or YYYY-MM-DD text (None stays None). Raises
    UsageError for other text."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"not a YYYY-MM-DD date: {value!r}") from None
