"""From bars to supervised windows: features, chronological split, scalers, targets.

Pure numpy (plus pandas for dates); no TensorFlow. Shapes, for ``n`` rows, window ``w``,
``L = data.lookback`` rows read per window (``w``, or ``w + 1`` when a feature needs the
previous row), horizon ``H`` and ``f`` features: there are ``m = n - L - H + 1`` windows;
window ``i`` reads rows ``i .. i+L-1``, its inputs are the features of its last ``w`` rows,
and its targets are rows ``i+L .. i+L+H-1``.

Targets (``data.target`` x ``data.normalise``), for a window whose last close is ``c`` and
whose first input row's close is ``c0``:

- ``close`` / ``global``: the close itself (the original recipe);
- ``close`` / ``window``: ``close / c0 - 1`` (the window's own price level is the unit);
- ``log_return``: ``log(close / c)``, the log move from the last known close.

Inputs under ``window`` normalisation: prices divided by ``c0`` minus 1, volume divided by
the window's mean volume minus 1; derived features (returns, range, volume change, range
variances, overnight gap) as they are: each is a ratio of prices within one row or two
neighbouring rows, so it is already free of the price level.
Then every feature is min-max scaled with a scaler fitted on training windows only.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from rnnforecast.config import DataConfig
from rnnforecast.data.bars import CLOSE, COLUMNS, HIGH, INDEX, LOW, OPEN, PRICES, VOLUME
from rnnforecast.errors import DataError, ModelError

if TYPE_CHECKING:  # frames come in, but predicting must not pay for importing pandas
    import numpy.typing as npt
    import pandas as pd

MIN_WINDOWS = 10
"""Fewest windows a split accepts."""


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


def validation_pieces(n_val: int, data: DataConfig) -> tuple[int, int]:
    """(early-stopping, calibration) windows of ``n_val`` validation windows: the last
    ``calibration_fraction`` (rounded up) calibrate, the ``horizon - 1`` before them are dropped
    (no target of both), the rest early-stop. Either is below 1 when ``n_val`` is too small."""
    n_cal = math.ceil(n_val * data.calibration_fraction) if n_val > 0 else 0
    return n_val - n_cal - (data.horizon - 1), n_cal


@dataclass(frozen=True)
class Split:
    """Chronological split of ``m`` windows into train, validation and test index ranges.

    ``gap = horizon - 1`` windows are dropped before validation and before test so that no
    training target overlaps a validation or test target. Scalers are fitted on training
    windows only, which read rows ``[0, scaler_rows)``: ``scaler_rows`` is the first
    validation target's row.

    Validation is two consecutive pieces (:func:`validation_pieces`): ``stop`` early-stops
    the scored network, ``calibration`` (the newest validation windows) calibrates it, on
    windows early stopping never selected on. The refit trains on ``refit_train`` and is
    calibrated on ``refit_calibration``: the last windows, as many as ``calibration``,
    with the same gap before them.
    """

    windows: int
    train: slice
    val: slice
    test: slice
    scaler_rows: int
    stop: slice
    calibration: slice
    refit_train: slice
    refit_calibration: slice

    @staticmethod
    def _sizes(n_rows: int, data: DataConfig) -> tuple[int, ...]:
        """(windows, test, validation, train, early-stopping, calibration) counts."""
        gap = data.horizon - 1
        m = n_rows - data.lookback - data.horizon + 1
        n_test = math.ceil(m * data.test_fraction) if m > 0 else 0
        usable = m - n_test - 2 * gap
        n_val = math.ceil(usable * data.val_fraction) if usable > 0 else 0
        return (m, n_test, n_val, usable - n_val, *validation_pieces(n_val, data))

    @classmethod
    def _cut(cls, m: int, n_train: int, n_val: int, test: slice, data: DataConfig) -> Split:
        """``m`` windows: ``n_train`` training, ``n_val`` validation (gap before), ``test``."""
        gap = data.horizon - 1
        n_stop, n_cal = validation_pieces(n_val, data)
        val = slice(n_train + gap, n_train + gap + n_val)
        return cls(
            windows=m,
            train=slice(0, n_train),
            val=val,
            test=test,
            scaler_rows=n_train + data.lookback + data.horizon - 1,
            stop=slice(val.start, val.start + n_stop),
            calibration=slice(val.stop - n_cal, val.stop),
            refit_train=slice(0, m - n_cal - gap),
            refit_calibration=slice(m - n_cal, m),
        )

    @classmethod
    def rows_needed(cls, least: int, data: DataConfig, low: int = 1) -> int:
        """The fewest rows from ``low`` on whose training, validation and test parts each
        hold at least ``least`` windows (and the early-stopping and calibration pieces one):
        doubling then bisecting, a cost in the logarithm of the answer (a test fraction near
        1 needs 1e9)."""

        def enough(n: int) -> bool:
            sizes = cls._sizes(n, data)
            return min(sizes[1:4]) >= least and min(sizes[4:]) >= 1

        low = max(low, data.lookback + data.horizon - 1 + MIN_WINDOWS)
        high = low
        while not enough(high):
            low, high = high + 1, high * 2
        while low < high:
            middle = (low + high) // 2
            low, high = (low, middle) if enough(middle) else (middle + 1, high)
        return low

    @classmethod
    def plan(cls, n_rows: int, data: DataConfig) -> Split:
        """Raises DataError when ``n_rows`` is too few for a window and every part."""
        sizes = cls._sizes(n_rows, data)
        m, n_test, n_val, n_train = sizes[:4]
        if m < MIN_WINDOWS or min(sizes[1:]) < 1:
            need = cls.rows_needed(1, data, n_rows + 1)
            raise DataError(
                f"not enough data: {n_rows} rows, but a window of {data.window}, a horizon "
                f"of {data.horizon} and a train/validation/test split need at least {need}"
            )
        return cls._cut(m, n_train, n_val, slice(m - n_test, m), data)

    def sizes(self) -> dict[str, int]:
        """Windows in each part: ``{"training": ..., "validation": ..., "test": ...}``."""
        every = range(self.windows)
        return {
            "training": len(every[self.train]),
            "validation": len(every[self.val]),
            "test": len(every[self.test]),
        }

    @classmethod
    def folds(cls, n_rows: int, data: DataConfig, k: int) -> list[Split]:
        """Walk-forward splits: the single split's test windows cut into ``k`` consecutive
        periods; fold ``j`` trains on every window before its period (expanding), with its
        own validation tail, purge gaps and scaler rows. Raises DataError if there are too
        few rows or fewer test windows than folds.
        """
        single = cls.plan(n_rows, data)
        start, m = single.test.start, single.windows
        if k > m - start:
            raise DataError(f"{k} folds need at least {k} test windows, there are {m - start}")
        gap = data.horizon - 1
        bounds = np.linspace(start, m, k + 1).round().astype(int)
        folds = []
        for a, b in itertools.pairwise(bounds.tolist()):
            usable = a - 2 * gap
            n_val = math.ceil(usable * data.val_fraction)
            n_train = usable - n_val
            if min(n_val, n_train, *validation_pieces(n_val, data)) < 1:  # pragma: no cover
                raise DataError("not enough training windows before the first fold")  # plan()
            folds.append(cls._cut(m, n_train, n_val, slice(a, b), data))
        return folds


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
    def _scale(self) -> npt.NDArray[np.float64]:
        span = np.asarray(self.data_max, dtype=np.float64) - np.asarray(self.data_min)
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


# --- features and targets ---------------------------------------------------------------------


def base_matrix(frame: pd.DataFrame) -> np.ndarray:
    """``(n, 5)`` float64 open, high, low, close, volume."""
    return frame.loc[:, list(COLUMNS)].to_numpy(dtype=np.float64)


def window_features(base: np.ndarray, data: DataConfig) -> np.ndarray:
    """Features of windows, unscaled: ``(m, L, 5)`` OHLCV windows -> ``(m, w, f)`` float64.

    Derived features use the row before each input row, which is why ``L`` is ``w + 1``
    when one is configured. Applies ``window`` normalisation when configured.
    """
    w = data.window
    close, volume = base[:, :, CLOSE], base[:, :, VOLUME]
    columns = []
    for name in data.features:
        if name in PRICES:
            column = base[:, -w:, INDEX[name]]
            if data.normalise == "window":
                column = column / close[:, -w, None] - 1.0
        elif name == "volume":
            column = volume[:, -w:]
            if data.normalise == "window":
                mean = column.mean(axis=1, keepdims=True)
                column = column / np.where(mean > 0, mean, 1.0) - 1.0
        elif name == "log_return":
            column = np.log(close[:, 1:] / close[:, :-1])[:, -w:]
        elif name == "range":
            column = ((base[:, :, HIGH] - base[:, :, LOW]) / close)[:, -w:]
        elif name in ("parkinson", "garman_klass"):
            high_low = np.log(base[:, -w:, HIGH] / base[:, -w:, LOW]) ** 2
            if name == "parkinson":
                column = high_low / (4.0 * math.log(2.0))
            else:
                open_close = np.log(close[:, -w:] / base[:, -w:, OPEN]) ** 2
                column = 0.5 * high_low - (2.0 * math.log(2.0) - 1.0) * open_close
        elif name == "gap":
            column = np.log(base[:, 1:, OPEN] / close[:, :-1])[:, -w:]
        else:  # volume_change
            logged = np.log1p(volume)
            column = (logged[:, 1:] - logged[:, :-1])[:, -w:]
        columns.append(column)
    return np.stack(columns, axis=-1)


def encode_targets(prices: np.ndarray, base: np.ndarray, data: DataConfig) -> np.ndarray:
    """Target prices ``(m, k)`` -> target units, relative to each window ``(m, L, 5)``."""
    targets: np.ndarray = np.asarray(prices, dtype=np.float64)
    if data.target == "log_return":
        targets = np.log(prices / base[:, -1, CLOSE, None])
    elif data.normalise == "window":
        targets = prices / base[:, -data.window, CLOSE, None] - 1.0
    return targets


def decode_targets(values: np.ndarray, base: np.ndarray, data: DataConfig) -> np.ndarray:
    """Inverse of :func:`encode_targets`: target units ``(m, k)`` -> prices ``(m, k)``."""
    prices: np.ndarray = np.asarray(values, dtype=np.float64)
    if data.target == "log_return":
        prices = base[:, -1, CLOSE, None] * np.exp(prices)
    elif data.normalise == "window":
        prices = base[:, -data.window, CLOSE, None] * (1.0 + prices)
    return prices


@dataclass(frozen=True)
class Dataset:
    """Every window of a frame, unscaled, with what is needed to score it in price units.

    ``base``: ``(m, L, 5)`` OHLCV rows each window reads (a read-only view); ``features``:
    ``(m, w, f)`` unscaled inputs; ``targets``: ``(m, H)`` in target units; ``actual``:
    ``(m, H)`` target closes; ``last_close``: ``(m,)`` close of each window's last row (the
    naive forecast); ``drift``: ``(m,)`` mean daily change of the close from the first
    stored row to the last row of the window (the drift forecast's slope, price per day);
    ``target_dates``: ``(m, H)`` datetime64.
    """

    base: np.ndarray
    features: np.ndarray
    targets: np.ndarray
    actual: np.ndarray
    last_close: np.ndarray
    drift: np.ndarray
    target_dates: np.ndarray

    def __len__(self) -> int:
        return len(self.base)

    def select(self, index: slice | np.ndarray) -> Dataset:
        """The windows at ``index`` (a slice or a boolean mask over windows)."""
        return Dataset(
            self.base[index],
            self.features[index],
            self.targets[index],
            self.actual[index],
            self.last_close[index],
            self.drift[index],
            self.target_dates[index],
        )


def build_dataset(frame: pd.DataFrame, data: DataConfig) -> Dataset:
    """Every window of the frame (train, validation and test alike), unscaled.

    Raises DataError if the frame is shorter than one window and its horizon.
    """
    lookback, horizon = data.lookback, data.horizon
    base_rows = base_matrix(frame)
    closes = base_rows[:, CLOSE]
    base, actual = make_windows(base_rows, closes, lookback, horizon)
    _, target_dates = make_windows(base_rows[:, :1], frame.index.to_numpy(), lookback, horizon)
    m = len(base)
    ends = np.arange(lookback - 1, lookback - 1 + m)
    last_close = closes[ends]
    drift = (last_close - closes[0]) / np.maximum(ends, 1)
    return Dataset(
        base=base,
        features=window_features(base, data),
        targets=encode_targets(actual, base, data),
        actual=actual,
        last_close=last_close,
        drift=drift,
        target_dates=target_dates,
    )


def latest_base(rows: np.ndarray, data: DataConfig) -> np.ndarray:
    """The last ``L`` of OHLCV ``rows`` ``(n, 5)`` as one window ``(1, L, 5)``: the input of a
    forecast. Raises DataError if there are fewer rows than one window reads."""
    if len(rows) < data.lookback:
        raise DataError(f"need the last {data.lookback} bars for a forecast, have {len(rows)}")
    return np.asarray(rows[-data.lookback :], dtype=np.float64)[None, :, :]


def fit_scalers(train: Dataset, data: DataConfig) -> Scalers:
    """Fit the scalers on training windows only: their inputs and their network targets."""
    f = train.features.shape[-1]
    return Scalers(
        MinMaxScaler.fit(train.features.reshape(-1, f)),
        MinMaxScaler.fit(train.targets[:, : data.outputs].reshape(-1, 1)),
    )


def encode_inputs(features: np.ndarray, scalers: Scalers) -> np.ndarray:
    """Unscaled ``(m, w, f)`` features -> float32 network inputs."""
    return scalers.features.transform(features).astype(np.float32)


def scale_targets(targets: np.ndarray, scalers: Scalers, data: DataConfig) -> np.ndarray:
    """Targets ``(m, H)`` in target units -> float32 network targets ``(m, outputs)``."""
    first = targets[:, : data.outputs]
    return scalers.target.transform(first.reshape(-1, 1)).reshape(first.shape).astype(np.float32)


def unscale_outputs(outputs: np.ndarray, scalers: Scalers) -> np.ndarray:
    """Network outputs ``(m, k)`` -> target units ``(m, k)``."""
    outputs = np.asarray(outputs, dtype=np.float64)
    return scalers.target.inverse(outputs.reshape(-1, 1)).reshape(outputs.shape)


def fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of the rows' dates and values: equal frames, equal fingerprints."""
    digest = hashlib.sha256()
    dates = cast("pd.DatetimeIndex", frame.index)  # a canonical frame's (sources.validate_bars)
    digest.update(dates.strftime("%Y-%m-%d").str.cat(sep=",").encode())
    digest.update(np.ascontiguousarray(frame.to_numpy(dtype=np.float64)).tobytes())
    return "sha256:" + digest.hexdigest()
