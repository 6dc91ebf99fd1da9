"""Checks and windows every classical fan shares: the rows a fit may use, the origins and
horizons a fan is asked for, and the saved params and tables a :class:`FanFit` must hold."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rnnforecast.errors import DataError
from rnnforecast.risk.fans.interface import MAX_HORIZON, FanFit


def fit_rows(name: str, ohlcv: np.ndarray, through: int, horizons: int, least: int) -> None:
    """Raise DataError unless ``ohlcv`` ``(n, 5)`` has ``through`` in ``[least, n]``; raise
    ValueError unless ``horizons`` is in ``[1, MAX_HORIZON]``."""
    if not 1 <= horizons <= MAX_HORIZON:
        raise ValueError(f"horizons must be in [1, {MAX_HORIZON}], got {horizons}")
    n = int(np.shape(ohlcv)[0])
    if through > n:
        raise DataError(f"fan {name} cannot fit through row {through}: there are {n} rows")
    if through < least:
        raise DataError(f"fan {name} needs at least {least} rows to fit, got {through}")


def checked_origins(
    name: str, origins: np.ndarray, n: int, least: int, fit: FanFit, horizons: int
) -> np.ndarray:
    """``origins`` as an int64 ``(m,)`` array. Raises ValueError unless each is in
    ``[least, n]`` and ``horizons`` is in ``[1, fit.horizons]``."""
    if not 1 <= horizons <= fit.horizons:
        raise ValueError(f"fan {name} was fitted for 1..{fit.horizons} sessions, not {horizons}")
    o = np.asarray(origins)
    if o.ndim != 1 or (o.size and not np.issubdtype(o.dtype, np.integer)):
        raise ValueError("origins must be a one-dimensional array of row numbers")
    o = o.astype(np.int64)
    if o.size and (o.min() < least or o.max() > n):
        raise ValueError(f"fan {name} origins must be in [{least}, {n}]")
    return o


def check_fit(
    name: str,
    fit: FanFit,
    params: tuple[str, ...],
    tables: Mapping[str, tuple[int, ...]],
) -> None:
    """Raise ValueError unless ``fit`` is ``name``'s, holds every name of ``params`` and every
    table of ``tables`` with the shape given (``-1`` in a shape: ``fit.horizons``), all
    finite."""
    if fit.method != name:
        raise ValueError(f"a {fit.method!r} fit is not a {name!r} fit")
    if not 1 <= fit.horizons <= MAX_HORIZON:
        raise ValueError(f"horizons must be in [1, {MAX_HORIZON}], got {fit.horizons}")
    missing = [p for p in params if p not in fit.params]
    if missing:
        raise ValueError(f"{name} fit lacks params {missing}")
    if not all(np.isfinite(fit.params[p]) for p in params):
        raise ValueError(f"{name} params must be finite: {fit.params}")
    for key, shape in tables.items():
        want = tuple(fit.horizons if d == -1 else d for d in shape)
        table = fit.tables.get(key)
        if table is None:
            raise ValueError(f"{name} fit lacks table {key}")
        if np.shape(table) != want:
            raise ValueError(f"{name} table {key} has shape {np.shape(table)}, not {want}")
        if not np.all(np.isfinite(table)):
            raise ValueError(f"{name} table {key} holds a value that is not finite")
