"""The intervals a bundle serves: the network's, or the best classical baseline's.

At train time :func:`select` scores the scored fit's intervals on its test period next to the
baselines (:mod:`rnnforecast.risk.assessment`) and applies the rule: the network's intervals are
served only if their 80% interval score beats the best baseline's with a one-sided DM-HLN
p-value below ``calibration.significance``; otherwise the baseline with the lowest 80% interval
score is served (``calibration.intervals`` pins a method instead). The chosen baseline is fitted
once more (:func:`fit`) and saved in the bundle as an :class:`IntervalRecord` (``intervals.json``).

At predict time :func:`bounds` rebuilds the baseline's forecast from the stored parameters by a
numpy recursion over the last :data:`SERVE_ROWS` bars: no arch, scipy, pandas or TensorFlow.
A multi-step interval is the one-step standardized quantile times the standard deviation of
the cumulative log return to step ``h`` (per method: :func:`cumulative_quantiles`; the
approximation and its direction are in docs/served-intervals.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rnnforecast.errors import DataError, ModelError
from rnnforecast.forecast.conformal import DEFAULT, Adaptive
from rnnforecast.risk.baselines import (
    BASELINES,
    EMP_WINDOW,
    HAR_LAGS,
    HIST_WINDOW,
    VARIANCE_FLOOR,
    garch_path,
    range_variance,
)

if TYPE_CHECKING:  # riskreport pulls in the forecaster; only its types are needed here
    from rnnforecast.config import Config
    from rnnforecast.forecast.fitted import FittedModel
    from rnnforecast.forecast.windows import Dataset
    from rnnforecast.risk.assessment import RiskReport

INTERVALS_FILE = "intervals.json"
MODEL = "model"
METHODS: tuple[str, ...] = (MODEL, *BASELINES)
"""What a bundle can serve: the network's conformal intervals or one baseline's."""

SERVE_ROWS = 500
"""Bars predict reads for a baseline (why 500: docs/served-intervals.md; more: served_adaptive)."""

_PARAMS: dict[str, tuple[str, ...]] = {
    "garch_t": ("omega", "alpha", "beta", "nu"),
    "gjr_t": ("omega", "alpha", "gamma", "beta", "nu"),
    "ewma": ("lambda", "seed_variance"),
    "hist50": ("window",),
    "emp250": ("window",),
    "har": ("b0", "b1", "b5", "b22"),
}
_SCHEMA = 2  # 2: the adaptive scheme (a schema 1 record loads with fixed widths)
_WINDOWS = {"hist50": HIST_WINDOW, "emp250": EMP_WINDOW}
_SLACK = 1e-6
"""How far a fitted GARCH may sit past its constraints (alpha + gamma >= 0, persistence <= 1):
arch's optimiser meets them only to its tolerance (a fitted gamma of -alpha - 1e-12 is usual),
and a persistence of 1 + 1e-6 grows a variance by 0.03% over 260 steps."""


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
        return self.method != MODEL

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
        level = _number(raw.get("level"), "level")
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level}")
        params_raw = raw.get("params")
        if not isinstance(params_raw, dict):
            raise ValueError("params must be an object")
        params = {str(k): _number(v, f"params.{k}") for k, v in params_raw.items()}
        needed = _PARAMS.get(method, ())
        missing = [k for k in needed if k not in params]
        if missing:
            raise ValueError(f"{method} needs params {', '.join(missing)}")
        _check_params(method, params)
        z_raw = raw.get("z")
        z = None
        if method in (MODEL, "emp250"):
            if z_raw is not None:
                raise ValueError(f"{method} takes no z")
        else:
            if not isinstance(z_raw, list) or len(z_raw) != 2:
                raise ValueError("z must be two numbers")
            z = (_number(z_raw[0], "z[0]"), _number(z_raw[1], "z[1]"))
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


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _check_params(method: str, p: Mapping[str, float]) -> None:
    """Ranges the recursions need: positive variances, a stationary-enough GARCH."""
    if method in ("garch_t", "gjr_t"):
        gamma = p.get("gamma", 0.0)
        if not (p["omega"] > 0 and p["alpha"] >= 0 and p["beta"] >= 0 and p["nu"] > 2):
            raise ValueError(f"{method} params out of range: {dict(p)}")
        if p["alpha"] + gamma < -_SLACK or p["alpha"] + gamma / 2 + p["beta"] > 1 + _SLACK:
            raise ValueError(f"{method} params are not stationary: {dict(p)}")
    elif method == "ewma":
        if not (0 < p["lambda"] < 1 and p["seed_variance"] > 0):
            raise ValueError(f"ewma params out of range: {dict(p)}")
    elif method in _WINDOWS and p["window"] != _WINDOWS[method]:
        raise ValueError(f"{method} window must be {_WINDOWS[method]}, got {p['window']}")


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
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: unreadable ({exc})") from None
    try:
        return IntervalRecord.from_json(json.loads(text))
    except (ValueError, TypeError, KeyError, RecursionError) as exc:  # JSONDecodeError too
        raise ModelError(f"{path}: not a valid intervals record ({exc})") from None


def served_name(record: IntervalRecord | None, adaptive: bool) -> str:
    """The served method's name: a baseline's (``+adaptive`` if its widths adapt), else the
    network's ``conformal`` (``adaptive_conformal`` with an adaptive scheme)."""
    if record is not None and record.serves_baseline:
        return record.method + ("+adaptive" if record.adaptive else "")
    return "adaptive_conformal" if adaptive else "conformal"


# --- choosing and fitting at train time ------------------------------------------------------


def choose(
    report: RiskReport | None, pinned: str, significance: float
) -> tuple[str, dict[str, Any]]:
    """The method to serve, and why. ``pinned``: ``auto`` or a method of :data:`METHODS`.

    ``auto``: ``model`` only if ``report.dm`` (one-sided DM-HLN of the per-day 80% interval
    scores, model vs best baseline) has a p-value below ``significance``; otherwise the best
    baseline (lowest 80% interval score); ``model`` when no baseline could be scored.
    """
    best = None if report is None else report.best_baseline
    p_value = None if report is None else report.dm.get("p_value")
    choice: dict[str, Any] = {"pinned": pinned != "auto", "best_baseline": best}
    choice.update(p_value=p_value, significance=significance)
    if pinned != "auto":
        return pinned, {**choice, "reason": "pinned by the recipe"}
    if best is None:
        return MODEL, {**choice, "reason": "no baseline could be scored on the test period"}
    if p_value is not None and p_value < significance:
        reason = f"the network's 80% interval score beats {best}'s (p {p_value:.3g})"
        return MODEL, {**choice, "reason": reason}
    shown = "none" if p_value is None else f"{p_value:.3g}"
    reason = f"the network does not beat {best} significantly (p {shown}); {best} is served"
    return best, {**choice, "reason": reason}


def fit(
    method: str,
    ohlcv: np.ndarray,
    through: int,
    level: float,
    last_date: str,
    choice: Mapping[str, Any] | None = None,
) -> IntervalRecord:
    """Fit ``method`` on rows ``[0, through)`` of ``ohlcv`` ``(n, 5)`` for intervals at
    ``level``: the parameters of :func:`rnnforecast.risk.baselines.forecast_baselines` and the
    standardized quantiles of its forecast of the day after row ``through - 1``.
    ``last_date``: that row's date. Raises DataError if there are too few rows for ``method``,
    or if the fitted record would fail :meth:`IntervalRecord.from_json` (closes that never
    move give GARCH, EWMA and HAR no variance), so that predict can read what train saves.
    """
    if method == MODEL:
        return IntervalRecord(MODEL, level, choice=dict(choice or {}))
    from rnnforecast.risk.baselines import forecast_baselines

    rows = np.asarray(ohlcv, dtype=np.float64)[:through]
    # One copy of the last bar stands for the day after: forecast_baselines fits on rows before
    # its first test row and forecasts that row from the rows before it only.
    extended = np.vstack([rows, rows[-1:]])
    tails = ((1 - level) / 2, (1 + level) / 2)
    fc = forecast_baselines(extended, through, tails, [method])[method]
    params = dict(fc.params)  # with GARCH's "converged" (0: arch failed, typical values used)
    z = None
    if method != "emp250":
        sd = math.sqrt(float(fc.variance[0]))
        z = (float(fc.quantiles[0, 0]) / sd, float(fc.quantiles[0, 1]) / sd)
    record = IntervalRecord(method, level, params, z, last_date, dict(choice or {}))
    try:
        IntervalRecord.from_json(record.to_json())
    except ValueError as exc:
        raise DataError(f"{method} intervals cannot be served for these bars ({exc})") from None
    return record


def select(
    pinned: str,
    significance: float,
    level: float,
    ohlcv: np.ndarray,
    dates: Sequence[str] | np.ndarray,
    fit_rows: int,
    assess: Any,
) -> tuple[IntervalRecord, RiskReport | None]:
    """Choose (:func:`choose`) and fit (:func:`fit` on rows ``[0, fit_rows)``) what a bundle
    serves. ``assess()`` returns the scored fit's RiskReport on its test period (called only
    for ``auto``; a ValueError or DataError from it means no baseline could be scored).
    ``dates`` ``(n,)`` ISO dates of ``ohlcv``'s rows. Raises DataError if a pinned baseline
    has too few rows."""
    report = None
    if pinned == "auto":
        try:
            report = assess()
        except (ValueError, DataError):
            report = None
    method, choice = choose(report, pinned, significance)
    try:
        record = fit(method, ohlcv, fit_rows, level, str(dates[fit_rows - 1]), choice)
    except DataError as exc:
        if pinned != "auto":
            raise
        # the test period was scored but the fitting rows are too few (or cannot be served,
        # as constant closes): keep the network
        record = fit(MODEL, ohlcv, fit_rows, level, "", {**choice, "reason": str(exc)})
    return record, report


def for_fit(
    config: Config,
    scored: FittedModel,
    dataset: Dataset,
    val: slice | np.ndarray,
    test: slice | np.ndarray,
    ohlcv: np.ndarray,
    dates: np.ndarray,
    refitted: bool,
) -> IntervalRecord:
    """What a bundle trained by ``config`` serves: :func:`select` with the ``scored`` fit
    (over every window of ``dataset``, split into ``val`` and ``test``) assessed on its test
    period. ``ohlcv`` ``(n, 5)`` and ``dates``
    ``(n,)`` datetime64 are the bars the windows were cut from. The baseline is fitted on
    every bar when the served network was ``refitted``, else on the bars before the test
    period, as the network was. Raises DataError if a pinned baseline has too few rows."""
    data = config.data
    index = np.arange(len(dataset))
    val_mask, test_mask = np.isin(index, index[val]), np.isin(index, index[test])
    first_test = int(index[test][0]) + data.lookback if test_mask.any() else len(ohlcv)

    def assess() -> RiskReport:
        from rnnforecast.risk import assessment

        return assessment.assess(scored, dataset, ohlcv, val_mask, test_mask)

    record, _ = select(
        config.calibration.intervals,
        config.calibration.significance,
        config.calibration.interval_level,
        ohlcv,
        np.datetime_as_string(np.asarray(dates).astype("datetime64[D]")),
        len(ohlcv) if refitted else first_test,
        assess,
    )
    on = config.calibration.adaptive_baseline and record.serves_baseline
    return replace(record, adaptive=DEFAULT) if on else record


# --- serving: numpy only ---------------------------------------------------------------------


def garch_variances(
    returns: np.ndarray, omega: float, alpha: float, gamma: float, beta: float, steps: int
) -> np.ndarray:
    """GJR-GARCH(1,1) (GARCH when ``gamma`` is 0) variance forecasts ``(steps,)`` of the
    ``steps`` returns after ``returns`` ``(T,)``, as arch computes them: the filter starts from
    arch's backcast (0.94-weighted mean of the first 75 squared returns); step 1 is
    ``omega + (alpha + gamma [r_T < 0]) r_T^2 + beta s_T``; step ``h > 1`` is
    ``omega + (alpha + gamma / 2 + beta)`` times step ``h - 1``. Units: those of ``returns``
    squared. Not floored."""
    out = np.empty(steps)
    out[0] = garch_path(returns, omega, alpha, gamma, beta)[-1]
    persistence = alpha + 0.5 * gamma + beta
    for h in range(1, steps):
        out[h] = omega + persistence * out[h - 1]
    return out


def _har_variances(proxy: np.ndarray, p: Mapping[str, float], steps: int) -> np.ndarray:
    """HAR forecasts ``(steps,)`` after the proxy ``(T,)``, each fed back as the next day's."""
    history = list(np.asarray(proxy, dtype=np.float64)[-HAR_LAGS[-1] :])
    out = np.empty(steps)
    coef = [p["b1"], p["b5"], p["b22"]]
    for h in range(steps):
        means = [float(np.mean(history[-lag:])) for lag in HAR_LAGS]
        value = max(p["b0"] + float(np.dot(coef, means)), VARIANCE_FLOOR)
        out[h] = value
        history.append(value)
    return out


def cumulative_quantiles(record: IntervalRecord, rows: np.ndarray, steps: int) -> np.ndarray:
    """Quantiles ``(steps, 2)`` of the cumulative log return from the last of ``rows``
    ``(k, 5)`` (OHLCV, oldest first) to each of the next ``steps`` days, at the record's
    ``(1 - level) / 2`` and ``(1 + level) / 2``: GARCH/GJR sum the 1..h-step variances, EWMA and
    hist50 take h times one step's, HAR iterates its recursion, emp250 scales by sqrt(h).
    Raises DataError if ``rows`` are too few for the method, ModelError for a ``model`` record."""
    method, p = record.method, record.params
    rows = np.asarray(rows, dtype=np.float64)
    returns = np.diff(np.log(rows[:, 3]))
    need = {"hist50": HIST_WINDOW, "emp250": EMP_WINDOW, "har": HAR_LAGS[-1] + 1}.get(method, 2)
    if returns.size < need:
        raise DataError(f"{method} intervals need {need + 1} stored bars, {len(rows)} are stored")
    h = np.arange(1, steps + 1, dtype=np.float64)
    if method == "emp250":
        window = returns[-EMP_WINDOW:]
        tails = ((1 - record.level) / 2, (1 + record.level) / 2)
        q = np.quantile(window - window.mean(), tails)
        scaled: np.ndarray = np.sqrt(h)[:, None] * q[None, :]
        return scaled
    if method in ("garch_t", "gjr_t"):
        per_step = garch_variances(
            returns, p["omega"], p["alpha"], p.get("gamma", 0.0), p["beta"], steps
        )
        variance = np.cumsum(np.maximum(per_step, VARIANCE_FLOOR))
    elif method == "ewma":
        lam, s = p["lambda"], p["seed_variance"]
        for value in returns.tolist():
            s = lam * s + (1 - lam) * value * value
        variance = h * max(s, VARIANCE_FLOOR)
    elif method == "hist50":
        variance = h * max(float(np.var(returns[-HIST_WINDOW:], ddof=1)), VARIANCE_FLOOR)
    elif method == "har":
        variance = np.cumsum(_har_variances(range_variance(rows), p, steps))
    else:
        raise ModelError(f"the {method} record serves no baseline")
    assert record.z is not None  # checked by from_json for every method but model and emp250
    quantiles: np.ndarray = np.sqrt(variance)[:, None] * np.asarray(record.z)[None, :]
    return quantiles


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
