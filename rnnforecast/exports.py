"""Per-day forecasts as a table, and tables written to CSV or Parquet files atomically.

No pandas here: ``predict --output`` stays as light as ``predict``. CSV goes through the
standard library; Parquet through pyarrow, an optional dependency (``pip install
rnnforecast[parquet]``) imported only when a Parquet file is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import errno
import importlib.util
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rnnforecast.errors import EnvironmentFault, UsageError

if TYPE_CHECKING:  # pandas only for the notebook API's frames
    import pandas as pd

FORMATS = {".csv": "csv", ".parquet": "parquet"}
DAILY_COLUMNS = ("date", "actual", "naive", "point", "low", "high", "raw")


@dataclass(frozen=True)
class DailyForecasts:
    """One-day-ahead forecasts over a period, one entry per forecast day; arrays ``(m,)``.

    ``dates`` (datetime64[D]) are the days forecast; ``actual`` their stored close;
    ``naive`` the previous stored close (the naive forecast); ``point`` the calibrated
    forecast with its interval ``low``/``high``; ``raw`` the network's uncalibrated
    forecast; all prices in the ticker's units. ``fold`` (1-based walk-forward fold, int)
    is None for a single test period.
    """

    dates: np.ndarray
    actual: np.ndarray
    naive: np.ndarray
    point: np.ndarray
    low: np.ndarray
    high: np.ndarray
    raw: np.ndarray
    fold: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.dates)

    def columns(self) -> dict[str, list[Any]]:
        """Column name -> values (dates as ``datetime.date``, prices as float), in order."""
        out: dict[str, list[Any]] = {
            "date": [d.item() for d in np.asarray(self.dates, dtype="datetime64[D]")]
        }
        for name in DAILY_COLUMNS[1:]:
            out[name] = [float(v) for v in getattr(self, name)]
        if self.fold is not None:
            out["fold"] = [int(v) for v in self.fold]
        return out

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame indexed by ``date`` (datetime64), one column per price series (and
        ``fold`` with walk-forward folds)."""
        import pandas as pd

        columns = self.columns()
        dates = pd.DatetimeIndex(pd.to_datetime(columns.pop("date")), name="date")
        return pd.DataFrame(columns, index=dates)

    @staticmethod
    def concat(parts: Sequence[DailyForecasts]) -> DailyForecasts:
        """The parts one after another, ``fold`` numbered 1, 2, ... in their order."""
        fold = np.concatenate([np.full(len(p), i + 1, dtype=np.int64) for i, p in enumerate(parts)])
        joined = {
            name: np.concatenate([getattr(p, name) for p in parts]) for name in DAILY_COLUMNS[1:]
        }
        dates = np.concatenate([np.asarray(p.dates, dtype="datetime64[D]") for p in parts])
        return DailyForecasts(dates=dates, fold=fold, **joined)


def output_format(path: Path) -> str:
    """``csv`` or ``parquet`` from the file's suffix, checked before any work is done.

    Raises UsageError for another suffix, or for Parquet when pyarrow is not installed.
    """
    kind = FORMATS.get(Path(path).suffix.lower())
    if kind is None:
        raise UsageError(f"cannot write {path}: the output file must end in .csv or .parquet")
    if kind == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise UsageError(
            f"cannot write {path}: Parquet needs pyarrow, which is not installed "
            "(pip install 'rnnforecast[parquet]', or write a .csv file)"
        )
    return kind


_PATH_MISTAKES = (errno.EISDIR, errno.ENOTDIR, errno.ENAMETOOLONG)
"""Write failures that the path given is to blame for (a folder where the file should go, a
file where a folder should), not the disk."""

Opener = Callable[..., Any]
"""How a CSV file is opened: :func:`open`'s signature (a seam for tests of a full disk)."""


def write_table(path: Path, columns: dict[str, list[Any]], opener: Opener = open) -> Path:
    """Write equal-length ``columns`` (name -> values) to ``path`` (.csv or .parquet).

    The file is written beside its final place under a temporary name and renamed into
    place, so a reader sees the old file or the new one, never half of one. Dates are
    written as YYYY-MM-DD in CSV, as dates in Parquet; floats at full precision. Raises
    UsageError for a bad suffix, missing pyarrow, or a path that cannot be a file (a
    folder, a name too long); EnvironmentFault (exit 8) when the disk refuses the write
    (full, read-only, permission denied, input/output error).
    """
    path = Path(path)
    kind = output_format(path)
    temporary = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "csv":
            _write_csv(temporary, columns, opener)
        else:
            _write_parquet(temporary, columns)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        message = f"cannot write {path}: {exc.strerror or exc}"
        if exc.errno in _PATH_MISTAKES:
            raise UsageError(message) from None
        raise EnvironmentFault(message) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def _write_csv(path: Path, columns: dict[str, list[Any]], opener: Opener) -> None:
    with opener(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(columns))
        for row in zip(*columns.values(), strict=True):
            writer.writerow([_cell(v) for v in row])
        handle.flush()
        os.fsync(handle.fileno())


def _cell(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back to the same float
    return value


def _write_parquet(path: Path, columns: dict[str, list[Any]]) -> None:
    import pyarrow as pa  # type: ignore[import-not-found,unused-ignore]
    import pyarrow.parquet as pq  # type: ignore[import-not-found,unused-ignore]

    # Dates as midnight timestamps, not Parquet's date32: pandas reads date32 back as
    # objects, timestamps as datetime64.
    arrays = {
        name: pa.array(values, type=pa.timestamp("ms")) if name == "date" else pa.array(values)
        for name, values in columns.items()
    }
    pq.write_table(pa.table(arrays), path)


def identified(
    columns: dict[str, list[Any]], ticker: str, run_id: str, level: float | None
) -> dict[str, list[Any]]:
    """``columns`` with the identity of what they hold in front, one value per row:
    ``ticker``, ``run_id`` and ``interval_level`` (the nominal coverage of ``low``/``high``,
    a fraction such as 0.9), so that exported files concatenated together stay tidy."""
    n = len(next(iter(columns.values()), []))
    return {
        "ticker": [ticker] * n,
        "run_id": [run_id] * n,
        "interval_level": [None if level is None else float(level)] * n,
        **columns,
    }


def forecast_columns(forecasts: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """The rows of :class:`rnnforecast.jobs.prediction.Forecast` (``date``, ``close``, ``low``,
    ``high``) as columns, dates as ``datetime.date``; a fan's rows add ``interval_method`` and
    one column per quantile, ``q0.05`` .. ``q0.95`` (price units)."""
    columns: dict[str, list[Any]] = {
        "date": [dt.date.fromisoformat(f["date"]) for f in forecasts],
        "close": [float(f["close"]) for f in forecasts],
        "low": [float(f["low"]) for f in forecasts],
        "high": [float(f["high"]) for f in forecasts],
    }
    if forecasts and "quantiles" in forecasts[0]:
        columns["interval_method"] = [str(f["interval_method"]) for f in forecasts]
        for key in forecasts[0]["quantiles"]:
            columns[f"q{key}"] = [float(f["quantiles"][key]) for f in forecasts]
    return columns
