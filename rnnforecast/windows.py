"""From bars to supervised windows: features, chronological split, scalers, windows.

Pure numpy (plus pandas for dates); no TensorFlow. Shapes, for ``n`` rows, ``f`` features,
window ``w`` and horizon ``h``: there are ``m = n - w - h + 1`` windows; window ``i`` holds
rows ``i .. i+w-1`` and its targets are rows ``i+w .. i+w+h-1``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from rnnforecast.config import DataConfig
from rnnforecast.errors import DataError, ModelError

MIN_WINDOWS = 10
"""Fewest windows a split accepts: at least one each for train, validation and test."""


def make_windows(
    values: np.ndarray, targets: np.ndarray, window: int, horizon: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Slide a window over rows: ``(m, window, f)`` inputs and ``(m, horizon)`` targets.

    ``values`` is ``(n, f)``, ``targets`` is ``(n,)``; the target of window ``i`` starts at
    row ``i + window``. Both results are read-only views into the arguments (no copy).
    Raises DataError if there are fewer than ``window + horizon`` rows.
    """
    n = len(values)
    m = n - window - horizon + 1
    if m < 1:
        raise DataError(f"need at least {window + horizon} rows for one window, have {n}")
    inputs = sliding_window_view(values[: n - horizon], window, axis=0)  # (m, f, window)
    outputs = sliding_window_view(targets[window:], horizon)  # (m, horizon)
    return inputs.transpose(0, 2, 1), outputs


@dataclass(frozen=True)
class Split:
    """Chronological split of ``m`` windows into train, validation and test index ranges.

    ``gap = horizon - 1`` windows are dropped before validation and before test so that no
    training target overlaps a validation or test target. Scalers are fitted on rows
    ``[0, scaler_rows)``: the training windows' inputs and first targets, nothing later.
    """

    windows: int
    train: slice
    val: slice
    test: slice
    scaler_rows: int

    @classmethod
    def plan(cls, n_rows: int, data: DataConfig) -> Split:
        """Raises DataError when ``n_rows`` is too few for a window and the three parts."""
        w, h = data.window, data.horizon
        gap = h - 1
        need = w + h - 1 + MIN_WINDOWS + 2 * gap
        m = n_rows - w - h + 1
        n_test = math.ceil(m * data.test_fraction) if m > 0 else 0
        usable = m - n_test - 2 * gap
        n_val = math.ceil(usable * data.val_fraction) if usable > 0 else 0
        n_train = usable - n_val
        if n_rows < need or min(n_test, n_val, n_train) < 1:
            raise DataError(
                f"not enough data: {n_rows} rows, but a window of {w}, a horizon of {h} and "
                f"a train/validation/test split need at least {need}"
            )
        return cls(
            windows=m,
            train=slice(0, n_train),
            val=slice(n_train + gap, n_train + gap + n_val),
            test=slice(m - n_test, m),
            scaler_rows=n_train + w,
        )


@dataclass(frozen=True)
class MinMaxScaler:
    """Per-column min-max scaling to [0, 1], stored as plain numbers.

    Same arithmetic as scikit-learn's ``MinMaxScaler`` (``x * scale + offset``; a constant
    column gets scale 1), applied in numpy so that loading a model needs no scikit-learn.
    """

    data_min: tuple[float, ...]
    data_max: tuple[float, ...]

    @classmethod
    def fit(cls, rows: np.ndarray) -> MinMaxScaler:
        """Fit on ``(n, k)`` rows (training rows only!)."""
        rows = np.asarray(rows, dtype=np.float64)
        return cls(tuple(map(float, rows.min(axis=0))), tuple(map(float, rows.max(axis=0))))

    @property
    def _scale(self) -> np.ndarray:
        span = np.asarray(self.data_max) - np.asarray(self.data_min)
        return 1.0 / np.where(span == 0, 1.0, span)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Scale ``(..., k)`` values column-wise; returns a new float64 array."""
        scale = self._scale
        return np.asarray(x, dtype=np.float64) * scale - np.asarray(self.data_min) * scale

    def inverse(self, x: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`: ``(..., k)`` scaled values back to original units."""
        scale = self._scale
        return (np.asarray(x, dtype=np.float64) + np.asarray(self.data_min) * scale) / scale

    def to_dict(self) -> dict[str, list[float]]:
        return {"data_min": list(self.data_min), "data_max": list(self.data_max)}

    @classmethod
    def from_dict(cls, raw: dict[str, list[float]]) -> MinMaxScaler:
        """Raises ModelError if ``raw`` is not a scaler's parameters."""
        try:
            lo = tuple(float(v) for v in raw["data_min"])
            hi = tuple(float(v) for v in raw["data_max"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"scaler parameters are malformed: {exc}") from None
        if len(lo) != len(hi) or not lo:
            raise ModelError("scaler parameters are malformed: lengths differ")
        return cls(lo, hi)


@dataclass(frozen=True)
class Scalers:
    """The fitted input scaler (one column per feature) and target scaler (one column)."""

    features: MinMaxScaler
    target: MinMaxScaler

    def to_dict(self) -> dict[str, object]:
        return {"features": self.features.to_dict(), "target": self.target.to_dict()}

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> Scalers:
        try:
            return cls(
                MinMaxScaler.from_dict(raw["features"]),  # type: ignore[arg-type]
                MinMaxScaler.from_dict(raw["target"]),  # type: ignore[arg-type]
            )
        except (KeyError, TypeError) as exc:
            raise ModelError(f"scalers are malformed: missing {exc}") from None


@dataclass(frozen=True)
class Dataset:
    """Windows ready for a network, with what is needed to score them in price units.

    ``x``: ``(m, window, f)`` float32 scaled inputs; ``y``: ``(m, horizon)`` float32 scaled
    targets; ``actual``: ``(m, horizon)`` target prices; ``last_close``: ``(m,)`` the close
    of each window's last row (the naive forecast); ``target_dates``: ``(m, horizon)``
    datetime64 dates of the targets.
    """

    x: np.ndarray
    y: np.ndarray
    actual: np.ndarray
    last_close: np.ndarray
    target_dates: np.ndarray

    def select(self, index: slice | np.ndarray) -> Dataset:
        """The windows at ``index`` (a slice or a boolean mask over windows)."""
        return Dataset(
            self.x[index],
            self.y[index],
            self.actual[index],
            self.last_close[index],
            self.target_dates[index],
        )


def feature_matrix(frame: pd.DataFrame, data: DataConfig) -> np.ndarray:
    """``(n, f)`` float64 matrix of the configured features, in config order."""
    return frame.loc[:, list(data.features)].to_numpy(dtype=np.float64)


def fit_scalers(frame: pd.DataFrame, data: DataConfig, split: Split) -> Scalers:
    """Fit the scalers on rows ``[0, split.scaler_rows)`` only: never validation or test."""
    rows = frame.iloc[: split.scaler_rows]
    return Scalers(
        MinMaxScaler.fit(feature_matrix(rows, data)),
        MinMaxScaler.fit(rows[[data.target]].to_numpy(dtype=np.float64)),
    )


def build_dataset(frame: pd.DataFrame, data: DataConfig, scalers: Scalers) -> Dataset:
    """Every window of the frame (train, validation and test alike), scaled with ``scalers``.

    Raises DataError if the frame is shorter than one window and its horizon.
    """
    values = scalers.features.transform(feature_matrix(frame, data)).astype(np.float32)
    prices = frame[data.target].to_numpy(dtype=np.float64)
    scaled_target = scalers.target.transform(prices[:, None])[:, 0].astype(np.float32)
    x, y = make_windows(values, scaled_target, data.window, data.horizon)
    _, actual = make_windows(prices[:, None], prices, data.window, data.horizon)
    dates = frame.index.to_numpy()
    _, target_dates = make_windows(dates[:, None], dates, data.window, data.horizon)
    last_close = prices[data.window - 1 : data.window - 1 + len(x)]
    return Dataset(x, y, actual, last_close, target_dates)


def latest_window(frame: pd.DataFrame, data: DataConfig, scalers: Scalers) -> np.ndarray:
    """The last ``window`` rows, scaled: ``(1, window, f)`` float32, input for a forecast.

    Raises DataError if fewer rows are stored than one window needs.
    """
    if len(frame) < data.window:
        raise DataError(f"need the last {data.window} bars for a forecast, have {len(frame)}")
    rows = feature_matrix(frame.iloc[-data.window :], data)
    return scalers.features.transform(rows).astype(np.float32)[None, :, :]


def to_prices(scaled: np.ndarray, scalers: Scalers) -> np.ndarray:
    """Network outputs ``(m, horizon)`` in scaled units -> prices ``(m, horizon)``."""
    scaled = np.asarray(scaled, dtype=np.float64)
    return scalers.target.inverse(scaled.reshape(-1, 1)).reshape(scaled.shape)


def fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of the rows' dates and values: equal frames, equal fingerprints."""
    digest = hashlib.sha256()
    digest.update(frame.index.strftime("%Y-%m-%d").str.cat(sep=",").encode())
    digest.update(np.ascontiguousarray(frame.to_numpy(dtype=np.float64)).tobytes())
    return "sha256:" + digest.hexdigest()
