"""The per-horizon report of fans forecast at the same origins: what evaluate prints under
``risk.horizons`` and the replay under ``replay.horizons``.

At each reported horizon ``h``, every fan is scored (:func:`rnnforecast.risk.fans.scores.
horizon_scores`) on the origins whose h-th session is realised, and the served fan is tested
against the best classical fan (the lowest mean 80% interval score on the same origins) by a
one-sided Diebold-Mariano test with Newey-West weights over at least ``h - 1`` lags. numpy
only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rnnforecast.risk.baselines.interface import range_variance
from rnnforecast.risk.fans import scores
from rnnforecast.risk.fans.choice import NETWORK
from rnnforecast.risk.fans.interface import REPORT_HORIZONS, realised_targets


def variance_proxy(ohlcv: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """``(m,)`` h-day realised-variance proxies: the sum of the daily range proxies
    (:func:`~rnnforecast.risk.baselines.interface.range_variance`) of rows ``o .. o + h - 1``;
    NaN where those rows are not all there."""
    daily = range_variance(ohlcv)
    cumulative = np.concatenate([[0.0], np.cumsum(daily)])
    o = np.asarray(origins, dtype=np.int64)
    end = o + horizon
    out = np.full(len(o), np.nan)
    inside = end <= len(daily)
    out[inside] = cumulative[end[inside]] - cumulative[o[inside]]
    return out


def horizon_report(
    ohlcv: np.ndarray,
    origins: np.ndarray,
    fans: Mapping[str, np.ndarray],
    served: np.ndarray | None,
    served_methods: np.ndarray | None,
    horizon: int,
) -> dict[str, Any] | None:
    """The report at ``horizon`` of fans ``(m, H, L)`` (by name; :data:`NETWORK` is the
    network's) at ``origins`` ``(m,)`` of ``ohlcv`` ``(n, 5)``, with the ``served`` fan
    ``(m, H, L)`` and the name of the method served at each origin and horizon
    ``served_methods`` ``(m, H)``. None when no origin's h-th session is realised or ``H``
    is below ``horizon``. Keys: ``served``, ``network`` (None without a network fan),
    ``baselines`` (name: scores), ``share`` (of origins per served method), ``dm``."""
    if not fans or next(iter(fans.values())).shape[1] < horizon:
        return None
    actual = realised_targets(ohlcv, origins, horizon)[:, horizon - 1]
    ok = np.isfinite(actual)
    if not ok.any():
        return None
    origins = np.asarray(origins)[ok]
    last_close = np.asarray(ohlcv, dtype=np.float64)[origins - 1, 3]
    proxy = variance_proxy(ohlcv, origins, horizon)
    y = actual[ok]

    def scored(fan: np.ndarray) -> dict[str, Any]:
        return scores.horizon_scores(fan[ok, horizon - 1], y, last_close, proxy, horizon)

    classical = {k: v for k, v in fans.items() if k != NETWORK}
    losses = {
        k: scores.interval_losses(v[ok, horizon - 1], y, last_close) for k, v in classical.items()
    }
    best = scores.best({k: float(np.mean(v)) for k, v in losses.items()})
    out: dict[str, Any] = {
        "served": None if served is None else scored(served),
        "network": scored(fans[NETWORK]) if NETWORK in fans else None,
        "baselines": {k: scored(v) for k, v in classical.items()},
        "share": {},
        "dm": {"against": best, "alternative": "less", "horizon": horizon},
    }
    if served_methods is not None:
        served_at = served_methods[ok, horizon - 1].astype(str)
        names, counts = np.unique(served_at, return_counts=True)
        total = int(counts.sum())
        out["share"] = {str(k): int(c) / total for k, c in zip(names, counts, strict=True)}
    out["dm"].update(statistic=None, p_value=None, lag=None)
    if served is not None and best is not None:
        mine = scores.interval_losses(served[ok, horizon - 1], y, last_close)
        test = scores.dm_less(mine, losses[best], horizon)
        out["dm"].update(statistic=test["statistic"], p_value=test["p_value"], lag=test["lag"])
    return out


def report(
    ohlcv: np.ndarray,
    origins: np.ndarray,
    fans: Mapping[str, np.ndarray],
    served: np.ndarray | None,
    served_methods: np.ndarray | None,
    horizons: tuple[int, ...] = REPORT_HORIZONS,
) -> dict[str, Any]:
    """:func:`horizon_report` at each of ``horizons``, keyed by the horizon as a string
    (horizons with nothing to score are left out)."""
    out = {}
    for h in horizons:
        one = horizon_report(ohlcv, origins, fans, served, served_methods, h)
        if one is not None:
            out[str(h)] = one
    return out
