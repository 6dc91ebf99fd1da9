"""The fan a bundle serves: per block of horizons, the method that won on the past.

At train time :func:`fit_fan` fits every classical fan (:mod:`rnnforecast.risk.fans.registry`)
on the bars before the scored fit's test period, draws each one's fan at every origin of that
period (and the blend of them: their quantiles averaged), and :func:`choose` picks per block
of horizons (:data:`BLOCKS`: 1, 2-5, 6-10, 11-22 sessions) the method with the lowest 80%
interval score; the network's fan, when one is given, is served on a block only if it beats
that best classical fan with a one-sided DM-HAC p-value below the significance. Blocks, not
single horizons, so that the served fan does not switch method from one session to the next
on noise. The chosen fan's spread around its median is then scaled per block so that its 80%
interval would have covered 80% of that period (:func:`spread_scales`). The served methods
are fitted again (on every bar when asked) and saved as a :class:`FanRecord` (``fan.json``).

In the replay the test period lies before each refit date, so every choice is made on the past.
At predict time :func:`served_fan` rebuilds the fan from the record and the last bars, numpy
only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

import numpy as np

from rnnforecast.errors import DataError, ModelError
from rnnforecast.jsonsafe import read_record
from rnnforecast.risk.assessment import finite_or_none
from rnnforecast.risk.fans import scores
from rnnforecast.risk.fans.interface import (
    FAN_LEVELS,
    MAX_HORIZON,
    REPORT_HORIZONS,
    FanFit,
    FanMethod,
    finite,
    interval_levels,
    level_index,
    realised_targets,
)

NETWORK = "network"
"""The name of the network's fan in a choice and in predict's ``interval_method``."""

BLEND = "blend"
"""The quantile average of every classical fan fitted (Vincentization): one more candidate."""

BLOCKS: tuple[tuple[int, int], ...] = ((1, 1), (2, 5), (6, 10), (11, 22))
"""Blocks of horizons (first, last, in sessions) that share one served method."""

LONG_BLOCK = 6
"""The first horizon of the blocks the ``hybrid`` rule keeps the blend on unless beaten."""

FAN_FILE = "fan.json"
_SCHEMA = 1

NetworkFan = Callable[[np.ndarray], np.ndarray]
"""The network's fan as a function of origins ``(m,)`` (rows of the bars it was bound to) to
log-return quantiles ``(m, horizons, len(FAN_LEVELS))``."""


@dataclass(frozen=True)
class FanRecord:
    """What predict needs to serve a bundle's fan, saved as ``fan.json``.

    ``methods``: the served method at each horizon ``1 .. len(methods)``; ``fits``: the fitted
    classical fans among them (the network's lives in the bundle's network files);
    ``choice``: why, per block (the means, the best classical fan, the DM test, the origins
    scored) and the period chosen on.
    """

    methods: tuple[str, ...]
    fits: dict[str, FanFit]
    choice: dict[str, Any] = field(default_factory=dict)
    scales: tuple[float, ...] = ()  # per horizon: the spread around the median scaled by

    @property
    def horizons(self) -> int:
        return len(self.methods)

    @property
    def uses_network(self) -> bool:
        return NETWORK in self.methods

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": _SCHEMA,
            "levels": list(FAN_LEVELS),
            "methods": list(self.methods),
            "fits": {name: fit.to_json() for name, fit in self.fits.items()},
            "choice": self.choice,
            "scales": list(self.scales),
        }

    @classmethod
    def from_json(cls, raw: Any, methods: Mapping[str, FanMethod]) -> FanRecord:
        """Check and build a record against the registry ``methods``. Raises ValueError
        naming what is wrong."""
        if not isinstance(raw, dict) or raw.get("schema") != _SCHEMA:
            raise ValueError(f"not a fan record of schema {_SCHEMA}")
        if raw.get("levels") != list(FAN_LEVELS):
            raise ValueError(f"the fan's levels must be {list(FAN_LEVELS)}")
        served = raw.get("methods")
        if not isinstance(served, list) or not 1 <= len(served) <= MAX_HORIZON:
            raise ValueError(f"methods must list 1 to {MAX_HORIZON} names")
        fits_raw = raw.get("fits")
        if not isinstance(fits_raw, dict):
            raise ValueError("fits must be an object")
        fits = {}
        for name, value in fits_raw.items():
            method = methods.get(name)
            if method is None:
                raise ValueError(f"unknown fan method {name!r}")
            fit = FanFit.from_json(value)
            if fit.method != name or fit.horizons < len(served):
                raise ValueError(f"the {name} fit does not reach {len(served)} sessions")
            method.check(fit)
            fits[name] = fit
        for name in served:
            if name not in (NETWORK, BLEND) and name not in fits:
                raise ValueError(f"{name!r} is served but not fitted")
        if BLEND in served and not fits:
            raise ValueError("the blend is served but no classical fan is fitted")
        choice = raw.get("choice", {})
        if not isinstance(choice, dict):
            raise ValueError("choice must be an object")
        scales = raw.get("scales", [])
        if not isinstance(scales, list) or len(scales) not in (0, len(served)):
            raise ValueError("scales must list one factor per horizon")
        factors = tuple(finite(v, "scales") for v in scales)
        if any(not 0 < v <= 10 for v in factors):
            raise ValueError("scales must be in (0, 10]")
        return cls(tuple(served), fits, choice, factors)


def save(folder: Path, record: FanRecord, member: str | None = None) -> None:
    """Write ``record`` as ``folder/fan.json`` (``fan.MEMBER.json`` for a global model's
    member) inside a bundle being saved (its checksums cover it)."""
    text = json.dumps(record.to_json(), indent=2, allow_nan=False)
    name = FAN_FILE if member is None else f"fan.{member}.json"
    (Path(folder) / name).write_text(text + "\n", encoding="utf-8")


def load(
    folder: Path, methods: Mapping[str, FanMethod], member: str | None = None
) -> FanRecord | None:
    """The fan record of the bundle in ``folder`` (a global model's ``member``'s own), None
    for a bundle saved without one. Raises ModelError (with the path) if it is unreadable or
    not a valid record."""
    path = Path(folder) / (FAN_FILE if member is None else f"fan.{member}.json")
    return read_record(path, lambda raw: FanRecord.from_json(raw, methods), "fan record")


def describe(methods: tuple[str, ...] | list[str]) -> str:
    """'garch_t at 1-5 sessions, log_har at 6-22' from the method served at each horizon."""
    runs, start = [], 1
    for method, group in groupby(methods):
        end = start + len(list(group)) - 1
        span = f"{start}" if start == end else f"{start}-{end}"
        runs.append(f"{method} at {span} session{'' if start == end == 1 else 's'}")
        start = end + 1
    return ", ".join(runs)


def block_of(horizon: int) -> tuple[int, int]:
    """The block of :data:`BLOCKS` holding ``horizon``."""
    return next(b for b in BLOCKS if b[0] <= horizon <= b[1])


def _block_losses(
    fan: np.ndarray, actual: np.ndarray, last_close: np.ndarray, block: tuple[int, int]
) -> np.ndarray:
    """Per-origin 80% interval scores ``(m,)`` summed over the block's horizons, each divided
    by sqrt(h) so that no horizon dominates; origins whose last horizon is not realised yet
    are NaN."""
    total = np.zeros(len(last_close))
    for h in range(block[0], block[1] + 1):
        realised = actual[:, h - 1]
        loss = np.full(len(last_close), np.nan)
        ok = np.isfinite(realised)
        loss[ok] = scores.interval_losses(fan[ok, h - 1], realised[ok], last_close[ok])
        total += loss / np.sqrt(h)
    return total


def with_blend(fans: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``fans`` and, with two classical fans or more, their :data:`BLEND`: the mean of their
    quantiles level by level (still ascending: a mean of ascending rows)."""
    out = dict(fans)
    classical = [f for name, f in fans.items() if name not in (NETWORK, BLEND)]
    if len(classical) > 1:
        out[BLEND] = np.mean(classical, axis=0)
    return out


def choose(
    fans: Mapping[str, np.ndarray],
    actual: np.ndarray,
    last_close: np.ndarray,
    significance: float,
    horizons: int,
    rule: str = "best",
) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The served method per horizon ``1 .. horizons`` and the evidence per block.

    ``fans``: name to ``(m, H, L)`` log-return quantiles at the same ``m`` origins (a fan
    named :data:`NETWORK` is the network's, :data:`BLEND` the classical fans' average);
    ``actual`` ``(m, H)`` realised log returns (NaN past the data); ``last_close`` ``(m,)``.
    ``rule``: ``best``: the classical fan (the blend among them) with the lowest mean score,
    the network only if it beats that one with a one-sided DM p below ``significance``;
    ``default``: the blend, unless the best other fan (the network among them) beats it so;
    ``hybrid``: ``best`` up to 5 sessions, ``default`` from :data:`LONG_BLOCK` on (where the
    choice period holds few independent h-session returns and picking the best is mostly
    noise).
    A block whose origins are all unrealised (a short test period) takes the choice of the
    block before it. Raises DataError if no classical fan is given or no origin has a
    realised next session."""
    classical = [name for name in fans if name != NETWORK]
    if not classical or not np.isfinite(actual[:, 0]).any():
        raise DataError("no classical fan could be scored on the bars before the served days")
    methods: list[str] = []
    evidence: dict[str, Any] = {}
    previous: str | None = None
    for block in BLOCKS:
        if block[0] > horizons:
            break
        last = min(block[1], horizons)
        losses = {
            n: _block_losses(f, actual, last_close, (block[0], last)) for n, f in fans.items()
        }
        ok = np.isfinite(losses[classical[0]])
        key = f"{block[0]}-{last}"
        if ok.sum() < 3:
            chosen = previous or (BLEND if BLEND in fans else classical[0])
            evidence[key] = {"served": chosen, "n": int(ok.sum()), "reason": "too few origins"}
            methods += [chosen] * (last - block[0] + 1)
            continue
        means = {n: float(np.mean(loss[ok])) for n, loss in losses.items()}
        by_default = rule == "default" or (rule == "hybrid" and block[0] >= LONG_BLOCK)
        if by_default and BLEND in fans:
            incumbent = BLEND
            challenger = scores.best({n: v for n, v in means.items() if n != BLEND})
        else:
            incumbent = scores.best({n: means[n] for n in classical}) or classical[0]
            challenger = NETWORK if NETWORK in fans else None
        chosen, dm = incumbent, None
        if challenger is not None:
            dm = scores.dm_less(losses[challenger][ok], losses[incumbent][ok], last)
            dm["challenger"] = challenger
            if dm["p_value"] is not None and dm["p_value"] < significance:
                chosen = challenger
        evidence[key] = {
            "served": chosen,
            "incumbent": incumbent,
            "score": {n: finite_or_none(v) for n, v in means.items()},
            "dm": dm,
            "n": int(ok.sum()),
        }
        methods += [chosen] * (last - block[0] + 1)
        previous = chosen
    return tuple(methods), evidence


def spread_scales(
    fan: np.ndarray, actual: np.ndarray, methods: tuple[str, ...], level: float = 0.8
) -> tuple[float, ...]:
    """Per horizon, the factor by which the served fan's spread around its median must be
    scaled for its central interval at ``level`` to have covered that share of the realised
    returns of the choice period (pooled over the block's horizons, whose methods are one;
    clipped to [0.5, 2]). ``fan`` ``(m, H, L)`` the served fan there, ``actual`` ``(m, H)``
    (NaN: not realised). 1.0 where fewer than 20 returns are realised."""
    lo, hi = interval_levels(level)
    mid = level_index(0.5)
    out = []
    for block in BLOCKS:
        h = np.arange(block[0] - 1, min(block[1], len(methods)))
        if not len(h):
            break
        q, y = fan[:, h], actual[:, h]
        up = (y - q[..., mid]) / np.maximum(q[..., hi] - q[..., mid], 1e-12)
        down = (q[..., mid] - y) / np.maximum(q[..., mid] - q[..., lo], 1e-12)
        ratio = np.where(y >= q[..., mid], up, down)[np.isfinite(y)]
        k = float(np.quantile(ratio, level)) if ratio.size >= 20 else 1.0
        out += [min(max(k, 0.5), 2.0)] * len(h)
    return tuple(out)


def scaled(fan: np.ndarray, factors: tuple[float, ...]) -> np.ndarray:
    """``fan`` ``(m, H, L)`` with each horizon's spread around its median scaled by its factor
    of ``factors`` (none: unchanged)."""
    if not factors:
        return fan
    mid = level_index(0.5)
    median = fan[..., mid : mid + 1]
    k = np.asarray(factors[: fan.shape[1]])[None, :, None]
    out: np.ndarray = median + k * (fan - median)
    return out


def fit_all(
    methods: Mapping[str, FanMethod], ohlcv: np.ndarray, through: int, horizons: int
) -> dict[str, FanFit]:
    """Every method of ``methods`` fitted on rows ``[0, through)``; one with too few rows is
    left out (each can then serve every origin from ``through`` on)."""
    fits = {}
    for name, method in methods.items():
        try:
            fits[name] = method.fit(ohlcv, through, horizons)
        except DataError:
            continue
    return fits


def fan_of(
    record_or_fits: FanRecord | Mapping[str, FanFit],
    methods: Mapping[str, FanMethod],
    ohlcv: np.ndarray,
    origins: np.ndarray,
    horizons: int,
    network: NetworkFan | None = None,
) -> dict[str, np.ndarray]:
    """Each fitted method's fans ``(m, horizons, L)`` at ``origins`` ``(m,)`` (and the
    network's as :data:`NETWORK` when ``network`` is given)."""
    fits = record_or_fits.fits if isinstance(record_or_fits, FanRecord) else record_or_fits
    out = {name: methods[name].fan(fit, ohlcv, origins, horizons) for name, fit in fits.items()}
    if network is not None:
        out[NETWORK] = network(origins)[:, :horizons]
    return out


def served_fan(
    record: FanRecord,
    methods: Mapping[str, FanMethod],
    ohlcv: np.ndarray,
    origins: np.ndarray,
    horizons: int,
    network: NetworkFan | None = None,
) -> np.ndarray:
    """The served fan ``(m, horizons, L)`` at ``origins``: each horizon's quantiles from its
    served method (the blend: the mean of every fitted classical fan), its spread scaled by
    the record's factors. Raises ModelError if the record serves the network and ``network``
    is None, or if a quantile is not finite; DataError if an origin has fewer bars before it
    than a served method reads."""
    if horizons > record.horizons:
        raise ModelError(f"the fan reaches {record.horizons} sessions, not {horizons}")
    if record.uses_network and network is None:
        raise ModelError("the fan serves the network's quantiles but the network is missing")
    needed = set(record.methods[:horizons])
    names = set(record.fits) if BLEND in needed else needed - {NETWORK}
    for name in names:
        if len(origins) and methods[name].min_rows > int(np.min(origins)):
            need = methods[name].min_rows
            raise DataError(f"the {name} fan needs {need} bars before a forecast, fewer are stored")
    fits = {name: fit for name, fit in record.fits.items() if name in names}
    fans = fan_of(fits, methods, ohlcv, origins, horizons, network if NETWORK in needed else None)
    fans = with_blend(fans) if BLEND in needed else fans
    out = np.empty((len(origins), horizons, len(FAN_LEVELS)))
    for h, name in enumerate(record.methods[:horizons]):
        out[:, h] = fans[name][:, h]
    out = scaled(out, record.scales)
    if not np.all(np.isfinite(out)):
        raise ModelError("the served fan is not finite; retrain the model")
    return out


RULE = "hybrid"
"""The choice rule train uses (:func:`choose`), picked with :data:`CALIBRATE` on the five
series the earlier reports tuned on (``python benchmarks/tune_fan_rule.py --every 42``): the
served 80% coverage 0.805-0.811 at 1, 5 and 22 sessions and the interval score 0.998-1.007x
the best single classical fan's, against 0.829-0.843 and 1.002-1.026x for the best fan per
block unscaled (docs/reports/horizons.md)."""

CALIBRATE = True
"""Whether train scales the served fan's spread on the choice period (:func:`spread_scales`)."""


def fit_fan(
    methods: Mapping[str, FanMethod],
    ohlcv: np.ndarray,
    dates: np.ndarray,
    first_test: int,
    fit_rows: int,
    significance: float,
    network: NetworkFan | None = None,
    horizons: int = MAX_HORIZON,
    how: tuple[str, bool] | None = None,
) -> FanRecord:
    """Choose and fit the served fan of bars ``ohlcv`` ``(n, 5)`` with ``dates`` ``(n,)``
    (datetime64[D]): every method fitted on rows ``[0, first_test)`` and scored at the origins
    ``first_test .. n - 1`` (with the blend of them, and the network's fan when given, from a
    network fitted on those rows too), chosen by :func:`choose`, its spread scaled by
    :func:`spread_scales` (``how``: the rule and whether to scale; default :data:`RULE` and
    :data:`CALIBRATE`), then the served classical methods fitted again on rows
    ``[0, fit_rows)``. Raises DataError if no classical fan can be fitted or scored."""
    rule, calibrate = how or (RULE, CALIBRATE)
    ohlcv = np.asarray(ohlcv, dtype=np.float64)
    n = len(ohlcv)
    origins = np.arange(first_test, n)
    past = fit_all(methods, ohlcv, first_test, horizons)
    if not len(origins) or not past:
        raise DataError("too few bars to fit and score a fan before the served days")
    fans = with_blend(fan_of(past, methods, ohlcv, origins, horizons, network))
    actual = realised_targets(ohlcv, origins, horizons)
    served, evidence = choose(fans, actual, ohlcv[origins - 1, 3], significance, horizons, rule)
    factors: tuple[float, ...] = ()
    if calibrate:
        chosen_fan = np.stack([fans[m][:, h] for h, m in enumerate(served)], axis=1)
        factors = spread_scales(chosen_fan, actual, served)
    day = np.datetime_as_string(np.asarray(dates).astype("datetime64[D]"))
    chosen = set(past) if BLEND in served else {name for name in served if name != NETWORK}
    fits = {}
    for name in sorted(chosen):
        fit = past[name] if fit_rows == first_test else methods[name].fit(ohlcv, fit_rows, horizons)
        fits[name] = FanFit(
            fit.method, fit.horizons, fit.params, fit.tables, str(day[fit_rows - 1])
        )
    choice = {
        "chosen_on": {"start": str(day[first_test]), "end": str(day[n - 1]), "n": len(origins)},
        "rule": rule,
        "blocks": evidence,
        "report_horizons": list(REPORT_HORIZONS),
    }
    return FanRecord(served, fits, choice, factors)
