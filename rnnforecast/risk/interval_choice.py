"""The intervals a bundle serves: the network's, or the best classical baseline's.

At train time :func:`pick_and_fit` scores the scored fit's intervals on its test period next
to the baselines (:mod:`rnnforecast.risk.assessment`) and applies the rule
(:func:`pick_method`): the network's intervals are served only if their 80% interval score
beats the best baseline's with a one-sided DM-HLN p-value below ``calibration.significance``;
otherwise the baseline with the lowest 80% interval score is served (``calibration.intervals``
pins a method instead). The chosen baseline is fitted once more (:func:`fit_record`) and saved
in the bundle as an :class:`IntervalRecord` (``intervals.json``); :func:`record_for_training`
is that whole step for one training run.

At predict time :func:`bounds` rebuilds the baseline's forecast from the stored parameters by a
numpy recursion over the last :data:`SERVE_ROWS` bars: no arch, scipy, pandas or TensorFlow.
A multi-step interval is the one-step standardized quantile times the standard deviation of
the cumulative log return to step ``h`` (per baseline, found by name in
:data:`rnnforecast.risk.baselines.registry.REGISTRY`: :func:`cumulative_quantiles`; the
approximation and its direction are in docs/reports/served-intervals.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rnnforecast.errors import DataError, ModelError
from rnnforecast.forecast.conformal import DEFAULT, Adaptive
from rnnforecast.jsonsafe import read_record
from rnnforecast.risk.baselines.registry import BASELINES, REGISTRY, forecast_baselines
from rnnforecast.risk.fans.interface import finite
from rnnforecast.risk.network_use import NAIVE_CONFORMAL, own_interval_name

if TYPE_CHECKING:  # riskreport pulls in the forecaster; only its types are needed here
    from rnnforecast.config import Config
    from rnnforecast.forecast.calibration import Calibration
    from rnnforecast.forecast.fitted import FittedModel
    from rnnforecast.forecast.windows import Dataset
    from rnnforecast.risk.assessment import RiskReport

INTERVALS_FILE = "intervals.json"
MODEL = "model"
OWN = (MODEL, NAIVE_CONFORMAL)
"""Records serving the bundle's own conformal interval: ``model`` (chosen as the network's, or
saved before the label existed) or ``naive_conformal`` (chosen as a baseline when the weights
shaped none of it); :func:`served_name` names it by what its calibration makes it."""
METHODS: tuple[str, ...] = (*OWN, *BASELINES)
"""What a bundle can serve: its own conformal intervals or one baseline's."""

SERVE_ROWS = 500
"""Bars predict reads for a baseline (why 500: docs/reports/served-intervals.md; more:
served_adaptive)."""

_SCHEMA = 2  # 2: the adaptive scheme (a schema 1 record loads with fixed widths)


@dataclass(frozen=True)
class IntervalRecord:
    """What predict needs to serve a bundle's intervals, saved as ``intervals.json``.

    ``method``: ``model`` (the network's conformal intervals) or a baseline name;
    ``level``: the interval's coverage in (0, 1); ``params``: the baseline's fitted parameters
    (variances in log-return units squared; empty for ``model``); ``z``: the standardized
    quantiles of the one-day log return at ``(1 - level) / 2`` and ``(1 + level) / 2`` (None for
    ``model`` and emp250, whose quantiles come from the bars); ``fitted_through``: the date of
    the last bar the parameters were fitted on (None for ``model``); ``choice``: why this
    method (``pinned``, ``best_baseline``, ``p_value``, ``significance``, ``reason``).
    """

    method: str
    level: float
    params: dict[str, float] = field(default_factory=dict)
    z: tuple[float, float] | None = None
    fitted_through: str | None = None
    choice: dict[str, Any] = field(default_factory=dict)
    adaptive: Adaptive | None = None  # a baseline's widths rescaled (served_adaptive); None: fixed

    @property
    def serves_baseline(self) -> bool:
        """Whether a registry baseline's interval is served (not the bundle's own)."""
        return self.method not in OWN

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": _SCHEMA,
            "method": self.method,
            "level": self.level,
            "params": dict(self.params),
            "z": None if self.z is None else list(self.z),
            "fitted_through": self.fitted_through,
            "choice": dict(self.choice),
            "adaptive": None if self.adaptive is None else self.adaptive.to_dict(),
        }

    @classmethod
    def from_json(cls, raw: Any) -> IntervalRecord:
        """Check and build a record. Raises ValueError naming what is wrong."""
        if not isinstance(raw, dict) or raw.get("schema") not in (1, _SCHEMA):
            raise ValueError(f"not an intervals record of schema 1 or {_SCHEMA}")
        method = raw.get("method")
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}")
        level = finite(raw.get("level"), "level")
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level}")
        params_raw = raw.get("params")
        if not isinstance(params_raw, dict):
            raise ValueError("params must be an object")
        params = {str(k): finite(v, f"params.{k}") for k, v in params_raw.items()}
        baseline = REGISTRY.get(method)  # None: the network's own intervals
        missing = [k for k in (baseline.params if baseline else ()) if k not in params]
        if missing:
            raise ValueError(f"{method} needs params {', '.join(missing)}")
        if baseline is not None:
            baseline.check_params(params)
        z_raw = raw.get("z")
        z = None
        if baseline is None or not baseline.uses_z:
            if z_raw is not None:
                raise ValueError(f"{method} takes no z")
        else:
            if not isinstance(z_raw, list) or len(z_raw) != 2:
                raise ValueError("z must be two numbers")
            z = (finite(z_raw[0], "z[0]"), finite(z_raw[1], "z[1]"))
            if not z[0] < 0 < z[1]:
                raise ValueError(f"z must be a negative then a positive quantile, got {list(z)}")
        through = raw.get("fitted_through")
        if through is not None and not isinstance(through, str):
            raise ValueError("fitted_through must be a date or null")
        choice = raw.get("choice", {})
        if not isinstance(choice, dict):
            raise ValueError("choice must be an object")
        scheme = None if raw.get("adaptive") is None else Adaptive.from_dict(raw["adaptive"])
        return cls(method, level, params, z, through, choice, scheme)


# --- saving and loading ----------------------------------------------------------------------


def file_name(member: str | None = None) -> str:
    """``intervals.json``; a global model's member ``T`` has its own ``intervals.T.json``."""
    return INTERVALS_FILE if member is None else f"intervals.{member}.json"


def save(folder: Path, record: IntervalRecord, member: str | None = None) -> None:
    """Write ``record`` to ``folder/intervals.json`` (``intervals.MEMBER.json`` for a global
    model's member), inside a bundle being saved, so the bundle's checksums cover it."""
    text = json.dumps(record.to_json(), indent=2, allow_nan=False)
    (Path(folder) / file_name(member)).write_text(text + "\n", encoding="utf-8")


def load(folder: Path, member: str | None = None) -> IntervalRecord | None:
    """The record of the bundle in ``folder`` (``member``'s own, if the bundle is a global
    model's with one), or None for a bundle saved without one (it serves the network's
    intervals). Raises ModelError (with the path) if the file is unreadable or not a valid
    record."""
    path = Path(folder) / file_name(member)
    if member is not None and not path.is_file():
        path = Path(folder) / INTERVALS_FILE
    return read_record(path, IntervalRecord.from_json, "intervals record")


ROLLING = "+rolling"
"""The suffix of a served baseline whose widths the rolling scheme rescales."""

_RENAMED = {"adaptive_conformal": "rolling_conformal", "+adaptive": ROLLING}


def served_name(record: IntervalRecord | None, calibration: Calibration) -> str:
    """The served method's name: a baseline's (``+rolling`` if the rolling scheme of
    :mod:`rnnforecast.forecast.conformal` rescales its widths), else the bundle's own
    interval named by what shapes it under the served ``calibration``
    (:func:`rnnforecast.risk.network_use.own_interval_name`): the network's ``conformal``
    (``rolling_conformal`` with that scheme) or ``naive_conformal``. A stored ``model`` or
    ``naive_conformal`` is mapped here, on read, so old bundles are never rewritten.

    The scheme was called adaptive conformal; with its small step and restarts it keeps the
    miss rate target within 0.18-0.22 and is in effect a 100-day rolling conformal quantile,
    without ACI's guarantee, so the names say rolling (see :func:`current_name`)."""
    if record is not None and record.serves_baseline:
        return record.method + (ROLLING if record.adaptive else "")
    return own_interval_name(calibration)


def current_name(method: str) -> str:
    """A served method's name as recorded by an older release, in today's words:
    ``adaptive_conformal`` is ``rolling_conformal``, ``NAME+adaptive`` is ``NAME+rolling``;
    any other name is returned as it is."""
    for old, new in _RENAMED.items():
        if method.endswith(old):
            return method.removesuffix(old) + new
    return method


# --- choosing and fitting at train time ------------------------------------------------------


def pick_method(
    report: RiskReport | None, pinned: str, significance: float
) -> tuple[str, dict[str, Any]]:
    """The method to serve, and why. ``pinned``: ``auto`` or a method of :data:`METHODS`.

    ``auto``: ``model`` only if ``report.dm`` (one-sided DM-HLN of the per-day 80% interval
    scores, model vs best baseline) has a p-value below ``significance``; otherwise the best
    baseline (lowest 80% interval score); ``model`` when no baseline could be scored. A report
    without a network row (``report.model`` None: the weights shaped no interval, which then
    competes as the baseline ``naive_conformal``) serves its best baseline, with no test.
    """
    best = None if report is None else report.best_baseline
    p_value = None if report is None else report.dm.get("p_value")
    choice: dict[str, Any] = {"pinned": pinned != "auto", "best_baseline": best}
    choice.update(p_value=p_value, significance=significance)
    if pinned != "auto":
        return pinned, {**choice, "reason": "pinned by the recipe"}
    if best is None:
        return MODEL, {**choice, "reason": "no baseline could be scored on the test period"}
    if report is not None and report.model is None:
        reason = f"the network shapes no interval; {best} has the lowest 80% interval score"
        return best, {**choice, "reason": reason}
    if p_value is not None and p_value < significance:
        reason = f"the network's 80% interval score beats {best}'s (p {p_value:.3g})"
        return MODEL, {**choice, "reason": reason}
    shown = "none" if p_value is None else f"{p_value:.3g}"
    reason = f"the network does not beat {best} significantly (p {shown}); {best} is served"
    return best, {**choice, "reason": reason}


def fit_record(
    method: str,
    ohlcv: np.ndarray,
    through: int,
    level: float,
    last_date: str,
    choice: Mapping[str, Any] | None = None,
) -> IntervalRecord:
    """Fit the record of ``method`` (one of :data:`OWN` or a baseline's name) on rows
    ``[0, through)`` of ``ohlcv`` ``(n, 5)`` for intervals at ``level``: the parameters of
    :func:`rnnforecast.risk.baselines.forecast_baselines` and the standardized quantiles of its
    forecast of the day after row ``through - 1``. ``last_date``: that row's date. Raises
    DataError if there are too few rows for ``method``, or if the fitted record would fail
    :meth:`IntervalRecord.from_json` (closes that never move give GARCH, EWMA and HAR no
    variance), so that predict can read what train saves.
    """
    if method in OWN:
        return IntervalRecord(method, level, choice=dict(choice or {}))
    rows = np.asarray(ohlcv, dtype=np.float64)[:through]
    # One copy of the last bar stands for the day after: forecast_baselines fits on rows before
    # its first test row and forecasts that row from the rows before it only.
    extended = np.vstack([rows, rows[-1:]])
    tails = ((1 - level) / 2, (1 + level) / 2)
    fc = forecast_baselines(extended, through, tails, [method])[method]
    params = dict(fc.params)  # with GARCH's "converged" (0: arch failed, typical values used)
    z = None
    if REGISTRY[method].uses_z:
        sd = math.sqrt(float(fc.variance[0]))
        z = (float(fc.quantiles[0, 0]) / sd, float(fc.quantiles[0, 1]) / sd)
    record = IntervalRecord(method, level, params, z, last_date, dict(choice or {}))
    try:
        IntervalRecord.from_json(record.to_json())
    except ValueError as exc:
        raise DataError(f"{method} intervals cannot be served for these bars ({exc})") from None
    return record


def pick_and_fit(
    pinned: str,
    significance: float,
    level: float,
    ohlcv: np.ndarray,
    dates: Sequence[str] | np.ndarray,
    fit_rows: int,
    assess: Callable[[], RiskReport],
) -> tuple[IntervalRecord, RiskReport | None]:
    """Pick (:func:`pick_method`) and fit (:func:`fit_record` on rows ``[0, fit_rows)``) what a
    bundle serves. ``assess()`` returns the scored fit's RiskReport on its test period (called only
    for ``auto``; a ValueError or DataError from it means no baseline could be scored).
    ``dates`` ``(n,)`` ISO dates of ``ohlcv``'s rows. Raises DataError if a pinned baseline
    has too few rows."""
    report = None
    if pinned == "auto":
        try:
            report = assess()
        except (ValueError, DataError):
            report = None
    method, choice = pick_method(report, pinned, significance)
    try:
        record = fit_record(method, ohlcv, fit_rows, level, str(dates[fit_rows - 1]), choice)
    except DataError as exc:
        if pinned != "auto":
            raise
        # the test period was scored but the fitting rows are too few (or cannot be served,
        # as constant closes): keep the network
        record = fit_record(MODEL, ohlcv, fit_rows, level, "", {**choice, "reason": str(exc)})
    return record, report


def record_for_training(
    config: Config,
    scored: FittedModel,
    dataset: Dataset,
    val: slice | np.ndarray,
    test: slice | np.ndarray,
    ohlcv: np.ndarray,
    dates: np.ndarray,
    on_every_bar: bool,
) -> IntervalRecord:
    """What a bundle trained by ``config`` serves: :func:`pick_and_fit` with the ``scored`` fit
    (over every window of ``dataset``, split into ``val`` and ``test``) assessed on its test
    period. ``ohlcv`` ``(n, 5)`` and ``dates`` ``(n,)`` datetime64 are the bars the windows
    were cut from. The baseline is fitted ``on_every_bar`` (what train asks when a refit up
    to the last bar was asked for, whether or not the network is then refitted), else on the
    bars before the test period, as the scored network was. Raises DataError if a pinned
    baseline has too few rows."""
    data = config.data
    index = np.arange(len(dataset))
    val_mask, test_mask = np.isin(index, index[val]), np.isin(index, index[test])
    first_test = int(index[test][0]) + data.lookback if test_mask.any() else len(ohlcv)

    def assess() -> RiskReport:
        from rnnforecast.risk import assessment

        return assessment.assess(scored, dataset, ohlcv, val_mask, test_mask)

    record, _ = pick_and_fit(
        config.calibration.intervals,
        config.calibration.significance,
        config.calibration.interval_level,
        ohlcv,
        np.datetime_as_string(np.asarray(dates).astype("datetime64[D]")),
        len(ohlcv) if on_every_bar else first_test,
        assess,
    )
    on = config.calibration.adaptive_baseline and record.serves_baseline
    return replace(record, adaptive=DEFAULT) if on else record


# --- serving: numpy only ---------------------------------------------------------------------


def cumulative_quantiles(record: IntervalRecord, rows: np.ndarray, steps: int) -> np.ndarray:
    """Quantiles ``(steps, 2)`` of the cumulative log return from the last of ``rows``
    ``(k, 5)`` (OHLCV, oldest first) to each of the next ``steps`` days, at the record's
    ``(1 - level) / 2`` and ``(1 + level) / 2``: the served baseline's
    :meth:`~rnnforecast.risk.baselines.interface.Baseline.cumulative_quantiles` (GARCH/GJR sum
    the 1..h-step variances, EWMA and hist50 take h times one step's, HAR iterates its
    recursion, emp250 scales by sqrt(h)). Raises DataError if ``rows`` are too few for the
    method, ModelError for a ``model`` record."""
    baseline = REGISTRY.get(record.method)
    if baseline is None:
        raise ModelError(f"the {record.method} record serves no baseline")
    rows = np.asarray(rows, dtype=np.float64)
    need = baseline.serve_returns
    if len(rows) - 1 < need:
        raise DataError(
            f"{record.method} intervals need {need + 1} stored bars, {len(rows)} are stored"
        )
    return baseline.cumulative_quantiles(record.params, record.z, record.level, rows, steps)


def bounds(
    record: IntervalRecord, rows: np.ndarray, centre: np.ndarray, factor: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` ``(steps,)`` price bounds around the served point forecasts ``centre``
    ``(steps,)``: ``centre * exp(factor * q)``, ``q`` of :func:`cumulative_quantiles`, ``factor``
    served_adaptive's. Raises ModelError if a bound is not finite: parameters that pass the
    record's checks can still be absurd (an omega of 1e300, a HAR that explodes when iterated)."""
    centre = np.asarray(centre, dtype=np.float64)
    # overflow is checked below, as one error instead of numpy's warnings
    with np.errstate(over="ignore", invalid="ignore"):
        q = factor * cumulative_quantiles(record, rows, len(centre))
        low, high = centre * np.exp(q[:, 0]), centre * np.exp(q[:, 1])
    bad = ~(np.isfinite(low) & np.isfinite(high))
    if bad.any():
        step = int(np.flatnonzero(bad)[0]) + 1
        raise ModelError(f"the {record.method} interval is not finite from step {step} on")
    return low, high
