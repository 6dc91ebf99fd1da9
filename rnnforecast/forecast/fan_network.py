"""The network's price fan: a fitted direct multi-horizon quantile network, numpy only.

A :class:`FanNetwork` draws fans in the contract's convention
(:mod:`rnnforecast.risk.fans.interface`): quantiles ``(m, horizons, len(FAN_LEVELS))`` of
``ln(close[o - 1 + h] / close[o - 1])`` from the rows before each origin ``o``. The network
gives standardised quantiles of :func:`rnnforecast.forecast.fan_features.standardised_targets`
from scale-free features; the fan multiplies them back by the trailing volatility at the
origin times ``sqrt(h)``.

``predict`` loads this module: it must not import TensorFlow or pandas. The forward pass is a
callable (:class:`rnnforecast.nn.numpy_network.NumpyNetwork`'s ``predict``, which lives one
package up): :meth:`FanNetwork.from_files` is handed the function that builds it from the
weights (:func:`rnnforecast.nn.fan_forward.load_fan_network` passes the numpy one).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from rnnforecast.errors import ModelError, UsageError
from rnnforecast.forecast.fan_features import (
    FEATURE_NAMES,
    LONG_SESSIONS,
    FeatureScaler,
    ascending_quantiles,
    first_origin,
    horizon_spread,
    origin_windows,
    row_features,
)
from rnnforecast.forecast.fan_recipe import FAN_LEVELS, FanRecipe

Network = Callable[[np.ndarray], np.ndarray]
"""Scaled windows ``(m, lookback, N_FEATURES)`` float32 -> raw outputs ``(m, horizons * Q)``."""
ForwardBuilder = Callable[[Mapping[str, np.ndarray], FanRecipe], Network]
"""Builds a :data:`Network` from saved weights and the recipe (raises ModelError if they
disagree)."""

DESCRIPTION_FILE = "fan_network.json"
WEIGHTS_FILE = "fan_weights.npz"
FORMAT = 1
# A fixed timestamp for the weights archive's members, so equal weights give equal bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, eq=False)
class FanNetwork:
    """A fitted fan network: its forward pass ``network``, its ``weights`` (named as
    :func:`rnnforecast.nn.numpy_network.export_weights` names them, float32), its ``recipe``
    and the feature ``scaler`` fitted on training rows only. Fans reach horizons
    ``1 .. recipe.horizons`` at :data:`FAN_LEVELS`. ``trained_on``: each ticker whose bars
    it was trained on, with the date of the last bar it read (empty if not recorded)."""

    network: Network
    weights: Mapping[str, np.ndarray]
    recipe: FanRecipe
    scaler: FeatureScaler
    trained_on: Mapping[str, str] = field(default_factory=dict)

    @property
    def horizons(self) -> int:
        """The longest horizon the network was trained for."""
        return self.recipe.horizons

    @property
    def serve_rows(self) -> int:
        """The first origin a fan can be drawn at (rows before it that :meth:`fan` needs)."""
        return first_origin(self.recipe.lookback)

    @property
    def exact_rows(self) -> int:
        """Bars before an origin that give its fan as the whole history would: the window,
        and before its first row the rest of the longest trailing mean of the features
        (``LONG_SESSIONS - 1`` rows) and the close before them (the overnight gap)."""
        return self.recipe.lookback + LONG_SESSIONS

    def standardised(self, features: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """Standardised quantiles ``(m, recipe.horizons, len(FAN_LEVELS))``, ascending, for
        ``origins`` ``(m,)`` of the rows of :func:`row_features` ``features`` ``(n, f)``."""
        windows = origin_windows(features, origins, self.recipe.lookback)
        raw = np.asarray(self.network(self.scaler.transform(windows)), dtype=np.float64)
        return ascending_quantiles(raw, len(FAN_LEVELS))

    def fan(
        self, ohlcv: np.ndarray, dates: np.ndarray, origins: np.ndarray, horizons: int
    ) -> np.ndarray:
        """Quantiles ``(m, horizons, len(FAN_LEVELS))`` of ``ln(close[o - 1 + h] /
        close[o - 1])``, ``h = 1 .. horizons``, for each origin ``o`` of ``origins`` ``(m,)``
        (rows in ``[serve_rows, n]``; ``n`` is the session after the last bar) of bars
        ``ohlcv`` ``(n, 5)`` dated ``dates`` ``(n,)`` datetime64, from rows ``< o`` only;
        strictly ascending along the last axis, log-return units.

        Raises UsageError if ``horizons`` is not in ``[1, self.horizons]`` and DataError for
        bad bars, dates or origins.
        """
        if not 1 <= horizons <= self.horizons:
            raise UsageError(f"horizons must be 1 to {self.horizons}, got {horizons}")
        o = np.asarray(origins, dtype=np.int64)
        features = row_features(ohlcv, dates)
        z = self.standardised(features, o)[:, :horizons, :]
        if o.size == 0:
            return z
        spread = horizon_spread(ohlcv, o, horizons, self.recipe.persistence)
        out: np.ndarray = z * spread[:, :, None]
        return out

    def bound(self, ohlcv: np.ndarray, dates: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """:meth:`fan` of these bars at every trained horizon, as a function of the origins
        alone (what a fan choice takes)."""

        def fan(origins: np.ndarray) -> np.ndarray:
            return self.fan(ohlcv, dates, origins, self.horizons)

        return fan

    def to_files(self) -> dict[str, bytes]:
        """``{"fan_network.json": ..., "fan_weights.npz": ...}``: the recipe, scaler, levels
        and feature names as JSON, the weights as an uncompressed npz (no pickle). Equal
        networks give equal bytes; :meth:`from_files` reads them back exactly."""
        description = {
            "format": FORMAT,
            "recipe": self.recipe.to_dict(),
            "scaler": self.scaler.to_dict(),
            "levels": list(FAN_LEVELS),
            "features": list(FEATURE_NAMES),
            "trained_on": dict(sorted(self.trained_on.items())),
        }
        text = json.dumps(description, indent=1, sort_keys=True) + "\n"
        return {DESCRIPTION_FILE: text.encode(), WEIGHTS_FILE: weights_bytes(self.weights)}

    @classmethod
    def from_files(cls, files: Mapping[str, bytes], forward: ForwardBuilder) -> FanNetwork:
        """The network :meth:`to_files` wrote, its forward pass built by ``forward`` from the
        weights (:func:`rnnforecast.nn.fan_forward.fan_forward`). Raises ModelError for a
        missing file, malformed JSON or npz, a format, level or feature list this code does
        not draw, a ``trained_on`` that is not tickers to dates, or weights that do not fit
        the recipe. Files written before ``trained_on`` was recorded read with none."""
        missing = sorted({DESCRIPTION_FILE, WEIGHTS_FILE} - set(files))
        if missing:
            raise ModelError(f"a fan network needs the files {missing}")
        try:
            description = json.loads(files[DESCRIPTION_FILE].decode())
        except (UnicodeDecodeError, ValueError) as exc:
            raise ModelError(f"{DESCRIPTION_FILE} is not JSON: {exc}") from None
        if not isinstance(description, dict) or description.get("format") != FORMAT:
            raise ModelError(f"{DESCRIPTION_FILE} is not a fan network of format {FORMAT}")
        if description.get("levels") != list(FAN_LEVELS):
            raise ModelError(f"{DESCRIPTION_FILE} has other levels than {list(FAN_LEVELS)}")
        if description.get("features") != list(FEATURE_NAMES):
            raise ModelError(f"{DESCRIPTION_FILE} has other features than {list(FEATURE_NAMES)}")
        try:
            recipe = FanRecipe.from_dict(description.get("recipe"))
        except UsageError as exc:
            raise ModelError(f"{DESCRIPTION_FILE}: {exc}") from None
        trained_on = description.get("trained_on", {})
        if not isinstance(trained_on, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and _is_day(v) for k, v in trained_on.items()
        ):
            raise ModelError(f"{DESCRIPTION_FILE}: trained_on must map tickers to dates")
        scaler = FeatureScaler.from_dict(description.get("scaler"))
        weights = weights_from_bytes(files[WEIGHTS_FILE])
        return cls(forward(weights, recipe), weights, recipe, scaler, trained_on)


def _is_day(text: str) -> bool:
    """Whether ``text`` is an ISO date (YYYY-MM-DD)."""
    try:
        return len(text) == 10 and str(np.datetime64(text, "D")) == text
    except ValueError:
        return False


def weights_bytes(weights: Mapping[str, np.ndarray]) -> bytes:
    """``weights`` as the bytes of an uncompressed ``.npz`` (names sorted, fixed member
    times: equal weights, equal bytes). Raises ValueError for a non-numeric array."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(weights):
            array = np.asarray(weights[name])
            if array.dtype.kind not in "fiu":
                raise ValueError(f"weight {name!r} is not numeric (dtype {array.dtype})")
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", _ZIP_TIME), member.getvalue())
    return buffer.getvalue()


def weights_from_bytes(data: bytes) -> dict[str, np.ndarray]:
    """Read :func:`weights_bytes`' archive. Never unpickles. Raises ModelError if it is not
    an npz of numeric arrays."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
            return {name: np.asarray(loaded[name]) for name in loaded.files}
    except (OSError, ValueError, zipfile.BadZipFile, KeyError, EOFError, TypeError) as exc:
        raise ModelError(f"{WEIGHTS_FILE} is corrupt or unreadable: {exc}") from None
