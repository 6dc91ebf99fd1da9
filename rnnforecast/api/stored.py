"""The Python API's stored bars (fetch, read back, list, forget) and the home folder every
function of :mod:`rnnforecast.api` takes: ``home=`` (None: :func:`default_home`)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from rnnforecast.data.frames import as_day, choose_source
from rnnforecast.jobs import manage
from rnnforecast.storage import locks
from rnnforecast.storage.home import Home, default_root

if TYPE_CHECKING:
    from rnnforecast.jobs.manage import Forgotten

PathLike = str | os.PathLike[str]


def default_home() -> Path:
    """The platform's user data folder, e.g. ``~/.local/share/rnnforecast`` on Linux."""
    return default_root()


def home_folder(home: PathLike | None, wait: float = locks.DEFAULT_TIMEOUT) -> Home:
    """The home ``home`` (None: :func:`default_home`), its locks waited for ``wait`` seconds."""
    return Home(Path(home).expanduser() if home is not None else default_root(), wait)


def fetch(
    tickers: str | Sequence[str] = (),
    *,
    home: PathLike | None = None,
    csv: PathLike | None = None,
    data: pd.DataFrame | None = None,
    sample: bool = False,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    auto_adjust: bool = True,
    replace: bool = False,
    calendar: str | None = None,
    date_format: str | None = None,
    lock_timeout: float = locks.DEFAULT_TIMEOUT,
) -> pd.DataFrame:
    """Store daily bars from Yahoo, a CSV file (``csv``), your DataFrame (``data``: a date
    index or Date column, OHLCV in any common spelling, :mod:`rnnforecast.data.frames`) or
    the GOOG sample (``sample=True``); dates as ``datetime.date`` or YYYY-MM-DD.
    ``calendar``: an exchange code (``XLON``; None: the stored one, else the source's, else
    XNYS); ``date_format``: strftime of a file's or frame's text dates (``%d/%m/%Y``).

    Returns one row per ticker: ``ticker``, ``rows`` stored, ``first``, ``last``,
    ``added``, ``source``, ``changed``. Raises UsageError, DataError, SourceError, LockError.
    """
    from rnnforecast.jobs import ingest

    names = [tickers] if isinstance(tickers, str) else list(tickers)
    results = ingest.fetch(
        home_folder(home, lock_timeout),
        names,
        choose_source(None if csv is None else Path(csv), data, sample, auto_adjust, date_format),
        start=as_day(start),
        end=as_day(end),
        replace=replace,
        calendar=calendar,
    )
    return pd.DataFrame([r.to_dict() for r in results])


def bars(ticker: str, *, home: PathLike | None = None) -> pd.DataFrame:
    """The stored daily bars of ``ticker``: a ``datetime64`` index named ``date`` (one row
    per session, ascending) and float64 columns open, high, low, close (the instrument's
    currency) and volume (shares). Raises UsageError (bad ticker), DataError (none
    stored)."""
    from rnnforecast.data.tickers import check_ticker

    return home_folder(home).store.read(check_ticker(ticker))


def list_tickers(*, home: PathLike | None = None) -> pd.DataFrame:
    """The stored tickers, one row each: ``ticker``, ``rows``, ``first``, ``last``,
    ``source``, ``auto_adjust`` (and ``calendar`` where the store records one)."""
    rows = manage.tickers(home_folder(home))
    if not rows:
        return pd.DataFrame(columns=["ticker", "rows", "first", "last", "source", "auto_adjust"])
    return pd.DataFrame(rows)


def forget(
    ticker: str, *, home: PathLike | None = None, lock_timeout: float = locks.DEFAULT_TIMEOUT
) -> Forgotten:
    """Delete the ticker's stored bars and saved models (``"@NAME"``: a global model's runs
    and its members' pointers, not their bars); returns what was deleted, with ``warnings``
    for a group member. Raises UsageError (bad name), DataError (nothing stored), LockError."""
    return manage.forget(home_folder(home, lock_timeout), ticker)
