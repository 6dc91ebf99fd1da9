"""Evaluating a saved bundle: its scored fit on its own test period, next to the naive and
drift forecasts and the volatility baselines, optionally with a walk-forward backtest.
Never prints or exits.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rnnforecast.errors import DataError
from rnnforecast.exports import DailyForecasts
from rnnforecast.forecast.fitted import FittedModel
from rnnforecast.forecast.windows import Dataset, base_matrix, build_dataset, fingerprint
from rnnforecast.metrics.report import Report
from rnnforecast.risk.network_use import NetworkUse
from rnnforecast.storage import loading
from rnnforecast.storage.home import Home
from rnnforecast.storage.manifest import Period
from rnnforecast.training.fitting import in_sample_naive_scale, summarise_period, walk_forward

if TYPE_CHECKING:  # training imports TensorFlow: only its type is needed here
    from rnnforecast.forecast.calibration import Calibration
    from rnnforecast.nn.keras_training import Progress
    from rnnforecast.risk.assessment import DayLosses, RiskReport


@dataclass(frozen=True)
class EvaluationResult:
    ticker: str
    run_id: str
    test: dict[str, Any]
    report: Report
    folds: list[dict[str, Any]] | None = None
    warnings: list[str] = field(default_factory=list)
    # One-day-ahead forecasts per test day (walk-forward folds' days with ``folds``).
    days: DailyForecasts | None = None
    fit: dict[str, Any] = field(default_factory=dict)
    risk: RiskReport | None = None
    # what the weights shape in the scored fit's forecasts, as the bundle serves them
    network_used: NetworkUse | None = None
    # the fans 1, 5 and 22 sessions ahead on the test period (rnnforecast.risk.fans.report)
    horizons: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "ticker": self.ticker,
            "run_id": self.run_id,
            # which of the bundle's fits the scores are of: always the scored one
            "fit": "scored",
            "trained_through": self.fit.get("trained_through"),
            "calibrated_through": self.fit.get("calibrated_through"),
            "network_used": None if self.network_used is None else self.network_used.to_dict(),
            "test": self.test,
            **self.report.to_dict(),
            "risk": self._risk(),
            "warnings": self.warnings,
        }
        if self.folds is not None:
            out["folds"] = self.folds
            out["aggregate"] = _aggregate(self.folds)
        return out

    def _risk(self) -> dict[str, Any] | None:
        """The risk report with the per-horizon fans under ``horizons``."""
        if self.risk is None and self.horizons is None:
            return None
        out = {} if self.risk is None else self.risk.to_dict()
        out["horizons"] = self.horizons
        return out


_RATIOS = ("rel_mae", "mase")
"""Fold metrics that are ratios: aggregated by geometric mean, since a ratio of 0.5 and one
of 2 are equally far from 1 and their arithmetic mean (1.25) says the model is worse."""


def _aggregate(folds: list[dict[str, Any]]) -> dict[str, Any]:
    """Every fold metric over the folds (those a fold could not compute are left out):
    ratios by geometric mean and geometric standard deviation (``exp`` of the standard
    deviation of the logs), the rest by mean and standard deviation; and how many folds
    beat naive. A statistic that cannot be computed (no values, a ratio of 0 or inf) is
    None."""
    out: dict[str, Any] = {"folds": len(folds), "beats_naive": sum(f["beats_naive"] for f in folds)}
    for side in ("model", "naive"):
        out[side] = {}
        for name in folds[0][side]:
            values = np.array([f[side][name] for f in folds if f[side][name] is not None])
            if name in _RATIOS:
                finite = len(values) > 0 and bool(np.all((values > 0) & np.isfinite(values)))
                logs = np.log(values) if finite else None
                out[side][name] = {
                    "geometric_mean": float(np.exp(logs.mean())) if logs is not None else None,
                    "geometric_std": float(np.exp(logs.std())) if logs is not None else None,
                }
            else:
                out[side][name] = {
                    "mean": float(np.mean(values)) if len(values) else None,
                    "std": float(np.std(values)) if len(values) else None,
                }
    return out


def evaluate(
    home: Home,
    ticker: str,
    run_id: str | None = None,
    *,
    folds: int = 0,
    progress: Progress | None = None,
    plot: Path | None = None,
) -> EvaluationResult:
    """Score a saved model on its own held-out test period, next to naive and drift forecasts.

    The scores are those of the bundle's scored fit (trained before the test period; see
    :mod:`rnnforecast.storage.fit_records`), never of a refit that has seen the test period. The
    test
    period is the one recorded in the manifest, taken from the bars stored now.
    With ``folds`` > 0, also a walk-forward backtest: the model's recipe is re-trained on
    expanding windows and tested on ``folds`` consecutive periods covering the test period
    (scalers and calibration refitted inside each fold). ``plot`` writes a PNG of the test
    period. Raises ModelError (no or bad bundle), DataError (test period no longer stored).
    """
    loaded = loading.load(home, ticker, run_id)
    manifest, config = loaded.bundle.manifest, loaded.config
    frame = home.store.read(manifest.ticker)
    test = manifest.period("test")
    scored = loaded.fitted("scored")
    scale_rows = frame.loc[: manifest.period("scaler_rows").end]
    scale = in_sample_naive_scale(scale_rows, len(scale_rows))
    part, rep, factors = assess_period(loaded, frame, scored, test.start, test.end, scale)
    warnings = []
    risk_report = None
    try:
        risk_report = _risk_report(loaded, frame, scored)
    except (ValueError, DataError) as exc:
        warnings.append(f"no distribution scores next to the baselines: {exc}")
    horizons = None
    try:
        horizons = fan_horizons(loaded, frame, test)
    except DataError as exc:
        warnings.append(f"no scores of the fans 1 to 22 sessions ahead: {exc}")
    trained = frame.loc[manifest.data.first : manifest.data.last]
    if fingerprint(trained) != manifest.data.fingerprint:
        warnings.append(
            "the stored bars of the training period changed since this model was trained "
            "(re-fetched or replaced): scores are on the bars stored now"
        )
    days = scored.daily(part, factors)
    fold_results = None
    fold_days: list[DailyForecasts] = []
    if folds:
        trained_frame = frame.loc[: manifest.data.last]
        fold_results = walk_forward(trained_frame, config, folds, progress, days=fold_days)
    if plot is not None:
        from rnnforecast import plots

        plots.save_png(period_figure(loaded, days), plot)
    return EvaluationResult(
        manifest.ticker,
        manifest.run_id,
        summarise_period(part.target_dates[:, 0]),
        rep,
        fold_results,
        warnings,
        days=DailyForecasts.concat(fold_days) if folds else days,
        fit=manifest.scored.dates(),
        risk=risk_report,
        network_used=scored_network_use(loaded, scored.calibration),
        horizons=horizons,
    )


def fan_horizons(loaded: loading.Loaded, frame: pd.DataFrame, test: Period) -> dict[str, Any]:
    """Every classical fan, and the served fan, scored 1, 5 and 22 sessions ahead from the
    origins of the test period ``test`` (targets inside it only), each method fitted on the
    bars before it (:mod:`rnnforecast.risk.fans.report`). The served fan applies the bundle's
    per-horizon choice (``served_choice``: made on these same days, so its score flatters it;
    ``evaluate --replay`` scores choices made on the past); the fan network it serves, trained
    before the test period, is scored too. Raises DataError if the bars before the test
    period are too few for any fan."""
    from rnnforecast.risk.fans import choice, registry, report
    from rnnforecast.risk.fans.interface import MAX_HORIZON

    methods = registry.REGISTRY
    record = choice.load(loaded.bundle.path, methods)
    index = pd.DatetimeIndex(frame.index)
    first = int(index.searchsorted(pd.Timestamp(test.start)))
    last = int(index.searchsorted(pd.Timestamp(test.end), side="right"))
    ohlcv = base_matrix(frame)[:last]
    fits = choice.fit_all(methods, ohlcv, first, MAX_HORIZON)
    if not fits or first >= last:
        raise DataError("too few bars before the test period for any fan")
    origins = np.arange(first, last)
    network = None
    if record is not None and record.uses_network:
        from rnnforecast.nn.fan_forward import read_fan_network

        days = frame.index.to_numpy().astype("datetime64[D]")[:last]
        network = read_fan_network(loaded.bundle.path).bound(ohlcv, days)
    fans = choice.fan_of(fits, methods, ohlcv, origins, MAX_HORIZON, network)
    served = names = None
    if record is not None and all(m in (*fans, choice.BLEND) for m in record.methods):
        # the bundle's choice and spread factors, drawn from the fits made before the test
        past = dataclasses.replace(record, fits=fits)
        served = choice.served_fan(past, methods, ohlcv, origins, record.horizons, network)
        names = np.tile(np.asarray(record.methods), (len(origins), 1))
    out = report.report(ohlcv, origins, fans, served, names)
    for scores in out.values():
        scores["served_choice"] = "made on these days" if served is not None else None
    return out


def scored_network_use(
    loaded: loading.Loaded, calibration: Calibration, member: str | None = None
) -> NetworkUse:
    """What the weights shape in forecasts of the scored fit (``calibration``) served as
    predict serves one session (``member``'s, for a global model). Raises ModelError for a
    bad intervals or fan file."""
    return served_range(loaded, calibration, member)[1]


def served_range(
    loaded: loading.Loaded, calibration: Calibration, member: str | None = None
) -> tuple[str, NetworkUse]:
    """What predict serves at one session from the bundle (``member``'s records, for a
    global model) with a fit of ``calibration``: the range's method (its fan's, or its
    one-day intervals') and what the weights shape
    (:func:`rnnforecast.training.per_ticker.served_range`). Raises ModelError for a bad
    intervals or fan file."""
    from rnnforecast.risk import interval_choice
    from rnnforecast.risk.fans import choice, registry
    from rnnforecast.training import per_ticker

    fan = choice.load(loaded.bundle.path, registry.REGISTRY, member)
    record = interval_choice.load(loaded.bundle.path, member)
    return per_ticker.served_range(calibration, record, fan)


def _risk_report(loaded: loading.Loaded, frame: pd.DataFrame, scored: FittedModel) -> RiskReport:
    """Distribution scores of the bundle's test period, forecast by its scored fit, next to
    the volatility baselines (:mod:`rnnforecast.risk.assessment`), on the validation and test
    periods of its manifest."""
    return risk_days(loaded, frame, scored, loaded.bundle.manifest.period("test"))[0]


def risk_days(
    loaded: loading.Loaded,
    frame: pd.DataFrame,
    scored: FittedModel,
    test: Period,
    member: str | None = None,
) -> tuple[RiskReport, dict[str, DayLosses], np.ndarray]:
    """:func:`_risk_report` of the windows whose first target day is in ``test`` of the bars
    ``frame`` (a global model's ``member``, whose own served intervals it names), with the
    per-day figures of :func:`rnnforecast.risk.assessment.assess_days` and those days ``(m,)``
    (datetime64). Raises ValueError (no validation or test window), DataError (bad bars)."""
    from rnnforecast.risk import assessment

    data = loaded.config.data
    dataset = build_dataset(frame, data)
    first_target = dataset.target_dates[:, 0]

    def within(period: Period) -> np.ndarray:
        start, end = np.datetime64(period.start), np.datetime64(period.end)
        return np.asarray((first_target >= start) & (first_target <= end))

    report, days = assessment.assess_days(
        scored,
        dataset,
        base_matrix(frame),
        within(loaded.bundle.manifest.period("validation")),
        within(test),
    )
    # the bundle may serve a baseline's intervals (rnnforecast.risk.interval_choice), not its
    # network's, or its fan's one-session interval (what predict serves and names)
    name = served_range(loaded, loaded.calibration, member)[0]
    return dataclasses.replace(report, served_intervals=name), days, first_target[within(test)]


def period_figure(loaded: loading.Loaded, days: DailyForecasts) -> Any:
    """The test-period picture (a matplotlib Figure) of a bundle's one-day-ahead ``days``
    (forecast by its scored fit, whose calibration the title reports)."""
    from rnnforecast import plots

    manifest = loaded.bundle.manifest
    calibration = loaded.calibration_of("scored")
    return plots.test_period_figure(
        manifest.ticker,
        days.dates,
        days.actual,
        days.point,
        days.low,
        days.high,
        days.naive,
        manifest.training,
        calibration.level,
        calibration.shrink[0],
    )


def select_period(
    loaded: loading.Loaded, frame: pd.DataFrame, start: str, end: str, after: str | None = None
) -> Dataset:
    """The windows (of the bundle's recipe) whose first target falls in [start, end] and,
    with ``after``, after that day; possibly none."""
    dataset = build_dataset(frame, loaded.config.data)
    first_target = pd.DatetimeIndex(dataset.target_dates[:, 0])
    mask = (first_target >= pd.Timestamp(start)) & (first_target <= pd.Timestamp(end))
    if after is not None:
        mask &= first_target > pd.Timestamp(after)
    return dataset.select(np.asarray(mask))


def assess_period(
    loaded: loading.Loaded,
    frame: pd.DataFrame,
    model: FittedModel,
    start: str,
    end: str,
    scale: float | None = None,
) -> tuple[Dataset, Report, np.ndarray]:
    """``model``'s forecasts (one of the bundle's fits) of the windows of the bars ``frame``
    whose first target falls in [start, end] (YYYY-MM-DD): the windows, their report (MASE
    divided by ``scale``, price units) and their adaptive interval width factors ``(m,)``.

    Raises DataError if the stored bars no longer cover that period.
    """
    part = select_period(loaded, frame, start, end)
    if not len(part):
        manifest = loaded.bundle.manifest
        raise DataError(
            f"the stored bars of {manifest.ticker} no longer cover the period {start} to "
            f"{end} (run {manifest.run_id})"
        )
    # Adaptive widths of a day depend on the days before it: score the whole stored history.
    dataset = build_dataset(frame, loaded.config.data)
    first = int(np.searchsorted(dataset.target_dates[:, 0], part.target_dates[0, 0]))
    factors = model.width_factors(dataset)[first : first + len(part)]
    rep = model.assess(part, scale, factors)
    return part, rep, factors
