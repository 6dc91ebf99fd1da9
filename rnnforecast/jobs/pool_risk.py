"""The ``risk`` objects of a global model's evaluate: each member's, as a per-ticker evaluate
gives it, and one pooled over the members.

Each member's report is :func:`rnnforecast.jobs.evaluation.risk_days` on that member's test period
(the scored fit's one-step intervals next to the volatility baselines fitted on the member's
own bars), naming the intervals predict serves that member (its ``intervals.T.json``).

The pool puts members of different price levels on one scale by scoring the 80% intervals
on log prices (log-return units, ``DayLosses.log_interval_score_80``): a member whose prices
are 100 times another's, with the same returns, has the same scores, and no scale estimated
on some other period is needed. (Dividing price-unit scores by each member's training-period
naive MAE, as before, let the members whose price rose most since training dominate; a
test-period naive MAE would divide by a figure of the very days scored.) Pooled figures are
means over every member-day; the one-sided DM-HLN test compares per-calendar-day means over
the members (the members' moves on one day are correlated, so one day is one observation).
Never prints or exits; no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rnnforecast.errors import DataError
from rnnforecast.risk.assessment import DayLosses, RiskReport, dm_less, finite_or_none
from rnnforecast.risk.baselines import BASELINES
from rnnforecast.risk.network_use import NAIVE_CONFORMAL, network_use

if TYPE_CHECKING:
    import pandas as pd

    from rnnforecast.forecast.fitted import FittedModel
    from rnnforecast.storage.loading import Loaded
    from rnnforecast.storage.manifest import Member

UNIT = "log_return"
"""The unit of the pooled interval scores: 80% interval scores of log prices."""


@dataclass(frozen=True)
class MemberDays:
    """One member's per-day figures on its ``m`` test days: ``dates`` ``(m,)`` datetime64
    and, per forecaster (``"model"`` and every baseline scored), its :class:`DayLosses`."""

    dates: np.ndarray
    losses: dict[str, DayLosses]


@dataclass(frozen=True)
class PooledRisk:
    """The members' one-step interval scores pooled (see the module's docstring).

    ``model`` and each of ``baselines`` (None unless scored for every pooled member):
    ``interval_score_80`` (mean 80% interval score of log prices, unit :data:`UNIT`),
    ``coverage_80``, ``coverage_95`` (shares of member-days inside), and for a baseline
    ``model_ratio`` (the model's pooled ``interval_score_80`` over the baseline's: below 1,
    the model's intervals score better). ``n``: member-days, ``days``: calendar days.
    """

    unit: str
    members: list[str]
    n: int
    days: int
    model: dict[str, float | None] | None  # None: see as_baseline
    baselines: dict[str, dict[str, float | None] | None]
    best_baseline: str | None
    beats_best_baseline: bool | None
    dm: dict[str, float | None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "members": self.members,
            "n": self.n,
            "days": self.days,
            "model": self.model,
            "baselines": self.baselines,
            "best_baseline": self.best_baseline,
            "beats_best_baseline": self.beats_best_baseline,
            "dm": self.dm,
        }


def member_risk(
    loaded: Loaded, frame: pd.DataFrame, scored: FittedModel, symbol: str, record: Member
) -> tuple[RiskReport, MemberDays]:
    """Member ``symbol``'s risk report on its recorded test period, forecast by the scored
    fit, and its per-day figures. ``frame``: its stored bars. Raises ValueError (no
    validation or test window), DataError (bad bars), ModelError (a bad intervals file)."""
    from rnnforecast.jobs import evaluation

    if record.test is None:
        raise ValueError(f"member {symbol} has no test period")
    report, losses, dates = evaluation.risk_days(loaded, frame, scored, record.test, symbol)
    return report, MemberDays(dates, losses)


def assess(
    loaded: Loaded, frames: Mapping[str, pd.DataFrame], scored: FittedModel
) -> tuple[dict[str, RiskReport | None], PooledRisk | None, list[str]]:
    """Every member's risk report (None where it cannot be scored), the pool's, and a
    warning for each member left out. ``frames``: each member's stored bars."""
    members = loaded.bundle.manifest.members or {}
    reports: dict[str, RiskReport | None] = {}
    days: dict[str, MemberDays] = {}
    warnings: list[str] = []
    for symbol, record in members.items():
        try:
            reports[symbol], days[symbol] = member_risk(
                loaded, frames[symbol], scored, symbol, record
            )
        except (ValueError, DataError) as exc:
            reports[symbol] = None
            warnings.append(f"{symbol}: no distribution scores next to the baselines: {exc}")
    pooled = pool(days)
    shaped = network_use(scored.calibration).intervals
    return reports, pooled if pooled is None or shaped else as_baseline(pooled), warnings


def as_baseline(pooled: PooledRisk) -> PooledRisk:
    """``pooled`` for a fit whose weights shape none of its own interval: its model row
    becomes the baseline ``naive_conformal`` (listed first, in the contest for the best
    baseline), and with no network to compare, ``model``, every ``model_ratio``,
    ``beats_best_baseline`` and ``dm`` are None (as
    :func:`rnnforecast.risk.assessment.as_baseline` does for one member)."""
    rows = {NAIVE_CONFORMAL: pooled.model, **pooled.baselines}
    baselines = {k: None if v is None else {**v, "model_ratio": None} for k, v in rows.items()}
    scores = {k: v["interval_score_80"] for k, v in baselines.items() if v is not None}
    ranked = [k for k, v in scores.items() if v is not None]
    best = min(ranked, key=lambda k: float(scores[k] or 0.0), default=None)
    none: dict[str, float | None] = {"statistic": None, "p_value": None, "lag": None}
    kept = (pooled.unit, pooled.members, pooled.n, pooled.days)
    return PooledRisk(*kept, None, baselines, best, None, none)


def pool(days: Mapping[str, MemberDays]) -> PooledRisk | None:
    """The members' per-day figures pooled (see :class:`PooledRisk`); None without members."""
    if not days:
        return None
    dates = np.concatenate([d.dates for d in days.values()]).astype("datetime64[D]")
    calendar, day_of = np.unique(dates, return_inverse=True)
    per_member_day: dict[str, np.ndarray] = {}
    table: dict[str, dict[str, float | None] | None] = dict.fromkeys(BASELINES)
    model: dict[str, float | None] = {}
    for name in ("model", *BASELINES):
        if not all(name in d.losses for d in days.values()):
            continue
        scaled = np.concatenate([d.losses[name].log_interval_score_80 for d in days.values()])
        per_member_day[name] = scaled
        figures = {
            "interval_score_80": finite_or_none(float(np.mean(scaled))),
            "coverage_80": _coverage(days, name, "outside_80"),
            "coverage_95": _coverage(days, name, "outside_95"),
        }
        if name == "model":
            model = figures
        else:
            ratio = float(np.mean(per_member_day["model"]) / np.mean(scaled))
            table[name] = {**figures, "model_ratio": finite_or_none(ratio)}
    scored = [k for k in per_member_day if k != "model"]
    best = min(scored, key=lambda k: float(np.mean(per_member_day[k])), default=None)
    beats = None
    dm: dict[str, float | None] = {"statistic": None, "p_value": None, "lag": None}
    if best is not None:
        beats = bool(np.mean(per_member_day["model"]) < np.mean(per_member_day[best]))
        counts = np.bincount(day_of, minlength=len(calendar))

        def by_day(values: np.ndarray) -> np.ndarray:
            return np.bincount(day_of, weights=values, minlength=len(calendar)) / counts

        dm = dm_less(by_day(per_member_day["model"]), by_day(per_member_day[best]))
    return PooledRisk(UNIT, list(days), len(dates), len(calendar), model, table, best, beats, dm)


def _coverage(days: Mapping[str, MemberDays], name: str, which: str) -> float | None:
    """Share of every member-day inside ``name``'s interval (``which``: the misses)."""
    misses = np.concatenate([getattr(d.losses[name], which) for d in days.values()])
    return finite_or_none(1.0 - float(np.mean(misses)))
