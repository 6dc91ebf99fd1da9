"""The fan a bundle serves: per block of horizons, the method that won on the past.

At train time :func:`fit_fan` fits every classical fan (:mod:`rnnforecast.risk.fans.registry`)
on the bars before the scored fit's test period, draws each one's fan at every origin of that
period, and :func:`choose` picks per block of horizons (:data:`BLOCKS`: 1, 2-5, 6-10, 11-22
sessions) the method with the lowest 80% interval score; the network's fan, when one is given,
is served on a block only if it beats that best classical fan with a one-sided DM-HAC p-value
below the significance. Blocks, not single horizons, so that the served fan does not switch
method from one session to the next on noise. The served methods are then fitted again (on
every bar when asked) and saved as a :class:`FanRecord` (``fan.json``).

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
from rnnforecast.risk.fans import scores
from rnnforecast.risk.fans.interface import (
    FAN_LEVELS,
    MAX_HORIZON,
    REPORT_HORIZONS,
    FanFit,
    FanMethod,
    realised_targets,
)

NETWORK = "network"
"""The name of the network's fan in a choice and in predict's ``interval_method``."""

BLOCKS: tuple[tuple[int, int], ...] = ((1, 1), (2, 5), (6, 10), (11, 22))
"""Blocks of horizons (first, last, in sessions) that share one served method."""

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
            if name != NETWORK and name not in fits:
                raise ValueError(f"{name!r} is served but not fitted")
        choice = raw.get("choice", {})
        if not isinstance(choice, dict):
            raise ValueError("choice must be an object")
        return cls(tuple(served), fits, choice)


def save(folder: Path, record: FanRecord) -> None:
    """Write ``record`` as ``folder/fan.json`` inside a bundle being saved (its checksums
    cover it)."""
    text = json.dumps(record.to_json(), indent=2, allow_nan=False)
    (Path(folder) / FAN_FILE).write_text(text + "\n", encoding="utf-8")


def load(folder: Path, methods: Mapping[str, FanMethod]) -> FanRecord | None:
    """The fan record of the bundle in ``folder``, None for a bundle saved without one.
    Raises ModelError (with the path) if it is unreadable or not a valid record."""
    path = Path(folder) / FAN_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: unreadable ({exc})") from None
    try:
        return FanRecord.from_json(json.loads(text), methods)
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise ModelError(f"{path}: not a valid fan record ({exc})") from None


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


def choose(
    fans: Mapping[str, np.ndarray],
    actual: np.ndarray,
    last_close: np.ndarray,
    significance: float,
    horizons: int,
) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The served method per horizon ``1 .. horizons`` and the evidence per block.

    ``fans``: name to ``(m, H, L)`` log-return quantiles at the same ``m`` origins (a fan
    named :data:`NETWORK` is the network's); ``actual`` ``(m, H)`` realised log returns (NaN
    past the data); ``last_close`` ``(m,)``. A block whose origins are all unrealised (a short
    test period) takes the choice of the block before it. Raises DataError if no classical
    fan is given or no origin has a realised next session."""
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
            chosen = previous or classical[0]
            evidence[key] = {"served": chosen, "n": int(ok.sum()), "reason": "too few origins"}
            methods += [chosen] * (last - block[0] + 1)
            continue
        means = {n: float(np.mean(loss[ok])) for n, loss in losses.items()}
        best = scores.best({n: means[n] for n in classical}) or classical[0]
        chosen, dm = best, None
        if NETWORK in fans:
            dm = scores.dm_less(losses[NETWORK][ok], losses[best][ok], last)
            if dm["p_value"] is not None and dm["p_value"] < significance:
                chosen = NETWORK
        evidence[key] = {
            "served": chosen,
            "best_classical": best,
            "score": {n: scores.finite_or_none(v) for n, v in means.items()},
            "dm": dm,
            "n": int(ok.sum()),
        }
        methods += [chosen] * (last - block[0] + 1)
        previous = chosen
    return tuple(methods), evidence


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
    served method. Raises ModelError if the record serves the network and ``network`` is
    None, or if a quantile is not finite; DataError if an origin has fewer bars before it
    than a served method reads."""
    if horizons > record.horizons:
        raise ModelError(f"the fan reaches {record.horizons} sessions, not {horizons}")
    if record.uses_network and network is None:
        raise ModelError("the fan serves the network's quantiles but the network is missing")
    needed = set(record.methods[:horizons])
    for name in needed - {NETWORK}:
        if len(origins) and methods[name].min_rows > int(np.min(origins)):
            need = methods[name].min_rows
            raise DataError(f"the {name} fan needs {need} bars before a forecast, fewer are stored")
    fits = {name: fit for name, fit in record.fits.items() if name in needed}
    fans = fan_of(fits, methods, ohlcv, origins, horizons, network if NETWORK in needed else None)
    out = np.empty((len(origins), horizons, len(FAN_LEVELS)))
    for h, name in enumerate(record.methods[:horizons]):
        out[:, h] = fans[name][:, h]
    if not np.all(np.isfinite(out)):
        raise ModelError("the served fan is not finite; retrain the model")
    return out


def fit_fan(
    methods: Mapping[str, FanMethod],
    ohlcv: np.ndarray,
    dates: np.ndarray,
    first_test: int,
    fit_rows: int,
    significance: float,
    network: NetworkFan | None = None,
    horizons: int = MAX_HORIZON,
) -> FanRecord:
    """Choose and fit the served fan of bars ``ohlcv`` ``(n, 5)`` with ``dates`` ``(n,)``
    (datetime64[D]): every method fitted on rows ``[0, first_test)`` and scored at the origins
    ``first_test .. n - 1`` (with the network's fan when given, from a network fitted on those
    rows too), chosen by :func:`choose`, then the served classical methods fitted again on
    rows ``[0, fit_rows)``. Raises DataError if no classical fan can be fitted or scored."""
    ohlcv = np.asarray(ohlcv, dtype=np.float64)
    n = len(ohlcv)
    origins = np.arange(first_test, n)
    past = fit_all(methods, ohlcv, first_test, horizons)
    if not len(origins) or not past:
        raise DataError("too few bars to fit and score a fan before the served days")
    fans = fan_of(past, methods, ohlcv, origins, horizons, network)
    actual = realised_targets(ohlcv, origins, horizons)
    served, evidence = choose(fans, actual, ohlcv[origins - 1, 3], significance, horizons)
    day = np.datetime_as_string(np.asarray(dates).astype("datetime64[D]"))
    chosen = {name for name in served if name != NETWORK}
    fits = {}
    for name in sorted(chosen):
        fit = past[name] if fit_rows == first_test else methods[name].fit(ohlcv, fit_rows, horizons)
        fits[name] = FanFit(
            fit.method, fit.horizons, fit.params, fit.tables, str(day[fit_rows - 1])
        )
    choice = {
        "chosen_on": {"start": str(day[first_test]), "end": str(day[n - 1]), "n": len(origins)},
        "blocks": evidence,
        "report_horizons": list(REPORT_HORIZONS),
    }
    return FanRecord(served, fits, choice)
