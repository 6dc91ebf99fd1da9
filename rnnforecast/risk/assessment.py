"""Distribution scores of a saved model's one-step forecasts next to volatility baselines.

The glue between a bundle's forecasts on its test period, :mod:`rnnforecast.risk.baselines` and
the scores of :mod:`rnnforecast.metrics.probabilistic`; evaluate puts the result under ``risk``. No
TensorFlow here.

Every forecaster is scored on the same test days ``t`` (one step ahead), in price units
unless said otherwise:

- the model: its point forecast with the intervals it serves (at the bundle's level, 80%
  by default: the calibrated width, adapted if the bundle adapts); other levels (90%, 95%):
  the split-conformal width at that level of the *validation* windows' normalised scores,
  recomputed from the bundle (the calibration keeps one width), adapted by the same scheme
  at that level. Its
  quantiles: 5/95% from the 90% interval, 10/90% from the 80% one, 50% the point. Its
  distribution is the conformal one its intervals come from: the log move plus or minus a
  validation score ``S`` (equally likely signs), scaled so that its quantile at the served
  level is the served half-width (``mult = halfwidth / S_(served level)``, the conformal
  rank of :func:`model_forecasts`). Its variance is that distribution's,
  ``mult^2 * mean(S^2)`` in log-return units squared (not the 80% half-width read as a
  Gaussian's, which overstated QLIKE for heavy-tailed returns).
- each baseline: centred on the naive forecast (the last close), its log-return quantiles
  mapped to prices by ``last_close * exp(q)``; fitted on the rows before the test period and
  filtered forward over it; its variance is its own forecast.

``crps`` scores each forecaster's own distribution of the log return, times the last close
(price units to first order): the Gaussian closed form for EWMA and hist50, the Student-t
closed form (:func:`rnnforecast.metrics.probabilistic.crps_student_t`, scale
``sqrt(variance (nu - 2) / nu)``) for GARCH-t and GJR-t, and the quantile form
(:func:`rnnforecast.metrics.probabilistic.crps_quantiles` at 100 levels) for the empirical
ones (emp250, HAR's filtered historical simulation) and the model's conformal quantiles.
``qlike`` compares each variance forecast with the range-based proxy of
:func:`rnnforecast.risk.baselines.range_variance`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rnnforecast.data.bars import CLOSE
from rnnforecast.forecast.conformal import factors as adaptive_factors
from rnnforecast.forecast.fitted import FittedModel
from rnnforecast.forecast.windows import Dataset
from rnnforecast.metrics import accuracy, probabilistic
from rnnforecast.risk.baselines.interface import BaselineForecast
from rnnforecast.risk.network_use import NAIVE_CONFORMAL, network_use, own_interval_name

# Quantile levels asked of the baselines: the 80%, 90% and 95% intervals' ends and the median.
_LEVELS = (0.025, 0.05, 0.10, 0.50, 0.90, 0.95, 0.975)
_GRID = probabilistic.crps_levels()
# Everything asked of a baseline in one call (a GARCH fit is the slow part): the levels above
# and the CRPS grid, rounded so that 0.025 and 2.5 / 100 are one level.
_ASKED = tuple(sorted({round(v, 12) for v in (*_LEVELS, *_GRID)}))
_COLUMN = {level: j for j, level in enumerate(_ASKED)}

BaselineFn = Callable[
    [np.ndarray, int, Sequence[float], Sequence[str]], Mapping[str, BaselineForecast]
]
"""``forecast_baselines(ohlcv, first_test, levels, names)`` of
:mod:`rnnforecast.risk.baselines.registry`, or a fake of it in tests."""


@dataclass(frozen=True)
class DayForecasts:
    """One forecaster's one-step forecasts of ``m`` days, price units: ``bounds[level]`` is
    ``(low, high)`` ``(m,)`` for levels 0.8, 0.9, 0.95; ``median`` ``(m,)``; ``log_mean`` and
    ``variance`` ``(m,)`` of the log return from the last close. ``distribution``: the
    family the CRPS reads, ``"gaussian"`` (``log_mean``, ``variance``), ``"student_t"``
    (``log_mean``, ``variance``, ``df`` degrees of freedom) or ``"quantiles"``: ``grid``
    ``(m, 100)``, the log-return quantiles at
    :func:`rnnforecast.metrics.probabilistic.crps_levels`."""

    bounds: dict[float, tuple[np.ndarray, np.ndarray]]
    median: np.ndarray
    log_mean: np.ndarray
    variance: np.ndarray
    distribution: str = "gaussian"
    df: float | None = None
    grid: np.ndarray | None = None

    def crps(self, log_actual: np.ndarray) -> np.ndarray:
        """CRPS per day ``(m,)`` of the log returns ``log_actual`` ``(m,)``, log-return units.
        Raises ValueError for a family without what it needs (``df``, ``grid``)."""
        if self.distribution == "gaussian":
            sd = np.sqrt(self.variance)
            return probabilistic.crps_gaussian(log_actual, self.log_mean, sd)
        if self.distribution == "student_t" and self.df is not None:
            scale = np.sqrt(self.variance * (self.df - 2.0) / self.df)
            return probabilistic.crps_student_t(log_actual, self.log_mean, scale, self.df)
        if self.distribution == "quantiles" and self.grid is not None:
            return probabilistic.crps_quantiles(log_actual, self.grid)
        raise ValueError(f"no CRPS for a {self.distribution!r} forecast without its parameters")

    def quantiles(self) -> np.ndarray:
        """``(m, 5)`` at :data:`rnnforecast.metrics.probabilistic.QUANTILE_LEVELS` (5, 10, 50, 90,
        95%)."""
        (lo90, hi90), (lo80, hi80) = self.bounds[0.9], self.bounds[0.8]
        return np.stack([lo90, lo80, self.median, hi80, hi90], axis=1)


@dataclass(frozen=True)
class DayLosses:
    """One forecaster's figures per test day ``(m,)``: its 80% interval score (price units)
    and whether the close fell outside its 80% and its 95% interval (bool); its 80% interval
    score of the log close against the log bounds (log-return units: the same for a price
    series and that series times any constant)."""

    interval_score_80: np.ndarray
    outside_80: np.ndarray
    outside_95: np.ndarray
    log_interval_score_80: np.ndarray


@dataclass(frozen=True)
class RiskReport:
    """Scores of the model and the baselines on the same test days; see :func:`scores`.
    ``model`` is None when the weights shape none of the bundle's own interval: its scores
    are then the baseline ``naive_conformal``'s (:func:`as_baseline`)."""

    model: dict[str, float | None] | None
    baselines: dict[str, dict[str, float | None] | None]
    best_baseline: str | None
    beats_best_baseline: bool | None
    dm: dict[str, float | None]
    served_intervals: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def finite_or_none(value: float | None) -> float | None:
    """``value`` as a float, or None when it is NaN or infinite: JSON has neither, so such
    a score is reported as null."""
    return None if value is None or not math.isfinite(value) else float(value)


def scores(
    actual: np.ndarray, last: np.ndarray, day: DayForecasts, proxy: np.ndarray
) -> tuple[dict[str, float | None], DayLosses]:
    """The score dict of one forecaster on ``m`` days, and its per-day figures.

    ``actual`` ``(m,)`` closes, ``last`` ``(m,)`` the closes before them, ``proxy`` ``(m,)``
    the range-based variance of each day's return.
    """
    out: dict[str, float | None] = {}
    per_day: dict[str, np.ndarray] = {}
    for level, tag in ((0.8, "80"), (0.95, "95")):
        low, high = day.bounds[level]
        per_day[f"interval_score_{tag}"] = probabilistic.interval_score(actual, low, high, level)
        hits = per_day[f"outside_{tag}"] = probabilistic.outside(actual, low, high)
        out[f"interval_score_{tag}"] = float(np.mean(per_day[f"interval_score_{tag}"]))
        out[f"coverage_{tag}"] = 1.0 - float(np.mean(hits))
        out[f"kupiec_p_{tag}"] = probabilistic.kupiec_p(hits, level)
        out[f"christoffersen_p_{tag}"] = probabilistic.christoffersen_p(hits)
        out[f"christoffersen_cc_p_{tag}"] = probabilistic.christoffersen_cc_p(hits, level)
    out["pinball"] = probabilistic.pinball(actual, day.quantiles(), probabilistic.QUANTILE_LEVELS)
    out["crps"] = float(np.mean(last * day.crps(np.log(actual / last))))
    out["qlike"] = probabilistic.qlike(day.variance, proxy)
    low, high = day.bounds[0.8]
    log_score = probabilistic.interval_score(np.log(actual), np.log(low), np.log(high), 0.8)
    days = DayLosses(
        per_day["interval_score_80"], per_day["outside_80"], per_day["outside_95"], log_score
    )
    return {k: finite_or_none(v) for k, v in out.items()}, days


def model_forecasts(
    point: np.ndarray,
    last: np.ndarray,
    scale: np.ndarray,
    served: tuple[float, np.ndarray],
    all_scores: np.ndarray,
    validation: np.ndarray,
    test: np.ndarray,
    adaptive: Any,
) -> DayForecasts:
    """The model's forecasts of the test days.

    ``point`` ``(m,)`` of the test windows and ``scale`` ``(m,)`` their volatility scale;
    ``served``: the level and log half-widths ``(m,)`` of the intervals the bundle serves;
    ``all_scores`` ``(M,)`` the normalised one-step scores of every window, ``validation``
    and ``test`` ``(M,)`` masks; ``adaptive``: the bundle's scheme or None. The other levels
    are split conformal on the validation scores, adapted by the same scheme. The
    distribution (CRPS grid and variance) is the conformal one of the module's docstring.
    Raises ValueError without validation windows.
    """
    val_scores = np.sort(all_scores[validation])
    if len(val_scores) == 0:
        raise ValueError("no validation windows to calibrate the intervals on")
    bounds = {}
    for level in (0.8, 0.9, 0.95):
        if math.isclose(level, served[0]):
            spread = served[1]
        else:
            width = _conformal_score(val_scores, level)
            factor = adaptive_factors(all_scores, level, adaptive, width)[:-1][test]
            spread = width * scale * factor
        bounds[level] = (point * np.exp(-spread), point * np.exp(spread))
    # the served day's multiplier of the validation scores, for every level of the grid
    mult = served[1] / _conformal_score(val_scores, served[0])
    move = np.log(point / last)
    tau = np.asarray(_GRID)
    central = np.array([_conformal_score(val_scores, abs(2 * t - 1)) for t in tau])
    grid = move[:, None] + np.sign(tau - 0.5)[None, :] * mult[:, None] * central[None, :]
    variance = mult**2 * float(np.mean(val_scores**2))
    return DayForecasts(bounds, point, move, variance, "quantiles", None, grid)


def _conformal_score(ordered: np.ndarray, level: float) -> float:
    """The split-conformal quantile at ``level`` of ascending scores ``(n,)``: the
    ``ceil((n + 1) level)``-th smallest, clipped to ``[1, n]``."""
    k = min(max(math.ceil((len(ordered) + 1) * level), 1), len(ordered))
    return float(ordered[k - 1])


def baseline_forecasts(
    ohlcv: np.ndarray, first_test: int, last_test: int, names: Sequence[str], fn: BaselineFn
) -> dict[str, DayForecasts]:
    """Each baseline's forecasts of rows ``first_test..last_test`` of ``ohlcv`` ``(n, 5)``,
    fitted on rows before ``first_test`` and centred on the last close."""
    rows = ohlcv[: last_test + 1]
    last = rows[first_test - 1 : last_test, CLOSE]
    out = {}
    for name, fc in fn(rows, first_test, _ASKED, names).items():
        log_q = np.asarray(fc.quantiles, dtype=np.float64)

        def at(level: float, log_q: np.ndarray = log_q) -> np.ndarray:
            column: np.ndarray = log_q[:, _COLUMN[round(level, 12)]]
            return column

        q = {level: last * np.exp(at(level)) for level in _LEVELS}
        bounds = {0.8: (q[0.10], q[0.90]), 0.9: (q[0.05], q[0.95]), 0.95: (q[0.025], q[0.975])}
        grid = np.stack([at(level) for level in _GRID], axis=1)
        family = "quantiles" if fc.distribution == "empirical" else fc.distribution
        df = fc.params.get("nu") if family == "student_t" else None
        out[name] = DayForecasts(
            bounds, q[0.50], np.zeros(len(last)), np.asarray(fc.variance), family, df, grid
        )
    return out


def dm_less(loss: np.ndarray, baseline_loss: np.ndarray) -> dict[str, float | None]:
    """One-sided Diebold-Mariano-HLN test (:func:`rnnforecast.metrics.accuracy.diebold_mariano`)
    that ``loss`` is smaller on average (per-day losses ``(n,)``, one step ahead), with
    Newey-West weights over :func:`rnnforecast.metrics.accuracy.hac_lag` lags: daily interval
    scores follow volatility, so their differentials are serially correlated. ``lag``: the
    lags used (None with the test)."""
    statistic, p_value = accuracy.diebold_mariano(loss, baseline_loss, 1, alternative="less")
    if statistic is None or p_value is None:
        return {"statistic": None, "p_value": None, "lag": None}
    return {
        "statistic": finite_or_none(statistic),
        "p_value": finite_or_none(p_value),
        "lag": accuracy.hac_lag(len(np.ravel(loss)), 1),
    }


def compare(
    ohlcv: np.ndarray,
    first_test: int,
    model: DayForecasts,
    served: str,
    forecast_baselines: BaselineFn | None = None,
    names: Sequence[str] | None = None,
) -> RiskReport:
    """Score ``model``'s forecasts of rows ``first_test..first_test + m - 1`` of ``ohlcv``
    ``(n, 5)`` next to the baselines on the same days.

    ``forecast_baselines`` and ``names`` default to :mod:`rnnforecast.risk.baselines` and every
    baseline with enough rows before the test period (the others are null). ``best_baseline``
    has the lowest mean 80% interval score; ``beats_best_baseline``: the model's is lower;
    ``dm``: one-sided Diebold-Mariano test of the per-day 80% interval scores, model vs
    best baseline (a small p-value: the model's are smaller).
    """
    return compare_days(ohlcv, first_test, model, served, forecast_baselines, names)[0]


def compare_days(
    ohlcv: np.ndarray,
    first_test: int,
    model: DayForecasts,
    served: str,
    forecast_baselines: BaselineFn | None = None,
    names: Sequence[str] | None = None,
) -> tuple[RiskReport, dict[str, DayLosses]]:
    """:func:`compare`, and the per-day figures behind it: ``"model"``'s and every scored
    baseline's :class:`DayLosses` (a global model pools them over its members)."""
    from rnnforecast.risk import baselines

    fn = forecast_baselines or baselines.forecast_baselines
    usable = baselines.baselines_for(first_test) if names is None else tuple(names)
    m = len(model.median)
    last_test = first_test + m - 1
    actual = ohlcv[first_test : last_test + 1, CLOSE]
    last = ohlcv[first_test - 1 : last_test, CLOSE]
    proxy = baselines.range_variance(ohlcv[: last_test + 1])[first_test:]
    model_scores, model_days = scores(actual, last, model, proxy)
    table: dict[str, dict[str, float | None] | None] = dict.fromkeys(baselines.BASELINES)
    per_day: dict[str, DayLosses] = {}
    if usable:
        for name, day in baseline_forecasts(ohlcv, first_test, last_test, usable, fn).items():
            table[name], per_day[name] = scores(actual, last, day, proxy)
    best = min(per_day, key=lambda k: float(np.mean(per_day[k].interval_score_80)), default=None)
    beats = None
    dm: dict[str, float | None] = {"statistic": None, "p_value": None, "lag": None}
    if best is not None:
        model_is, best_is = model_days.interval_score_80, per_day[best].interval_score_80
        beats = bool(np.mean(model_is) < np.mean(best_is))
        dm = dm_less(model_is, best_is)
    report = RiskReport(model_scores, table, best, beats, dm, served)
    return report, {"model": model_days, **per_day}


def served_forecasts(
    model: FittedModel, dataset: Dataset, validation: np.ndarray, test: np.ndarray
) -> DayForecasts:
    """``model``'s one-step forecasts of its ``test`` windows, as a bundle serves them
    (adapted widths if its calibration is adaptive), with the other levels of
    :func:`model_forecasts`.

    ``dataset``: every window of one ticker's bars; ``validation`` and ``test`` ``(M,)``
    masks over its windows. Raises ValueError without validation or test windows.
    """
    if not test.any():
        raise ValueError("no test windows to score")
    calibration = model.calibration
    all_scores = model.one_step_scores(dataset.base, dataset.actual[:, 0])
    factor = adaptive_factors(
        all_scores, calibration.level, calibration.adaptive, calibration.halfwidth[0]
    )[:-1]
    part = dataset.select(test)
    served = model.forecast(part.base, 1, factor[test])
    point = served.point[:, 0]
    return model_forecasts(
        point,
        part.last_close,
        model.forecast_scale(part.base, 1)[1][:, 0],
        (calibration.level, np.log(served.high[:, 0] / point)),
        all_scores,
        validation,
        test,
        calibration.adaptive,
    )


def assess(
    model: FittedModel,
    dataset: Dataset,
    ohlcv: np.ndarray,
    validation: np.ndarray,
    test: np.ndarray,
    forecast_baselines: BaselineFn | None = None,
) -> RiskReport:
    """Distribution scores of ``model``'s one-step forecasts of its ``test`` windows.

    ``dataset``: every window of the bars ``ohlcv`` ``(n, 5)`` (window ``j``'s target is row
    ``j + data.lookback``); ``validation`` and ``test`` ``(M,)`` masks over its windows,
    each one contiguous span. Raises ValueError without validation or test windows, and
    DataError from the baselines (e.g. bad bars).
    """
    return assess_days(model, dataset, ohlcv, validation, test, forecast_baselines)[0]


def assess_days(
    model: FittedModel,
    dataset: Dataset,
    ohlcv: np.ndarray,
    validation: np.ndarray,
    test: np.ndarray,
    forecast_baselines: BaselineFn | None = None,
) -> tuple[RiskReport, dict[str, DayLosses]]:
    """:func:`assess`, and the per-day figures of :func:`compare_days` (one per ``test``
    window, in order)."""
    days = served_forecasts(model, dataset, validation, test)
    first_test = int(np.argmax(test)) + model.data.lookback
    calibration = model.calibration
    name = own_interval_name(calibration)
    report, per_day = compare_days(ohlcv, first_test, days, name, forecast_baselines)
    shaped = network_use(calibration).intervals
    return (report if shaped else as_baseline(report, per_day)), per_day


def as_baseline(report: RiskReport, days: Mapping[str, DayLosses]) -> RiskReport:
    """``report`` with its model row moved to the baselines as ``naive_conformal`` (listed
    first): for a bundle whose own interval the weights do not shape (no network row, so
    no comparison with the network: ``beats_best_baseline`` and ``dm`` None). The best
    baseline is chosen again, ``naive_conformal`` included; ``days``: the per-day figures of
    :func:`compare_days` (its ``"model"`` entry is ``naive_conformal``'s)."""
    baselines = {NAIVE_CONFORMAL: report.model, **report.baselines}
    scored = {"model": NAIVE_CONFORMAL, **{k: k for k in report.baselines if k in days}}
    key = min(scored, key=lambda k: float(np.mean(days[k].interval_score_80)))
    none: dict[str, float | None] = {"statistic": None, "p_value": None, "lag": None}
    return RiskReport(None, baselines, scored[key], None, none, report.served_intervals)
