"""The nightly job's promotion rule: does a challenger replace the current model?

Pure: per-day losses in, a verdict out. Both models are judged on what ``predict`` serves,
on the same days: the days the current model never saw (after its ``seen_through`` day),
each side's served one-day point and served interval for each of them
(:mod:`rnnforecast.jobs.hindcast`; the challenger's from its scored fit, out of sample
there). Two per-day losses: the Winkler interval score of the served interval (at its
level, 80% by default) and the absolute error of the served point. Each comparison is a
one-sided Diebold-Mariano test with the Harvey-Leybourne-Newbold correction at ``alpha``.

- Same recipe (identical config): the challenger is the current model brought up to date,
  so it is promoted unless it is significantly worse on the interval score or on the MAE.
  Too few days to test (fewer than 3, or identical losses) is a tie: the newer model wins.
- Changed recipe: the challenger must be significantly better on the served interval score
  (p < ``alpha``) and not significantly worse on the MAE. The interval score decides
  because it judges the whole served forecast (a badly centred interval pays for its
  misses too) and because, with the default naive point (shrink 0), two recipes serve the
  same point and differ only in their intervals: an MAE rule could never tell them apart.
  Requiring significance is the hysteresis that stops flip-flopping: recipe B replaces A
  only when it is clearly better, and going back to A then needs A to be clearly better
  than B, which noise alone rarely gives. Untestable (no unseen day, fewer than 3, or
  identical losses) keeps the current model (``train`` makes a new recipe current at once
  when that is wanted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnforecast.metrics import accuracy

ALPHA = 0.05


@dataclass(frozen=True)
class Served:
    """What one side served on the ``n`` unseen days, per day ``(n,)``: ``interval_score``
    (Winkler, of the served interval at ``level``), ``abs_error`` of the served point, and
    ``covered`` (bool: the close fell inside). Scores in price units (a global model's are
    divided by each member's naive scale)."""

    interval_score: np.ndarray
    abs_error: np.ndarray
    covered: np.ndarray
    level: float = 0.8

    def summary(self) -> dict[str, float | None]:
        """Means over the days (None with no day): ``interval_score_80`` (the Winkler score
        of the served interval), ``coverage_80`` (share of days inside), ``mae``; named for
        the default 80% level, at the served ``level``."""
        n = len(self.abs_error)
        return {
            "interval_score_80": float(np.mean(self.interval_score)) if n else None,
            "coverage_80": float(np.mean(self.covered)) if n else None,
            "mae": float(np.mean(self.abs_error)) if n else None,
        }


@dataclass(frozen=True)
class Verdict:
    """``promote``; ``rule`` (``same recipe`` or ``changed recipe``); ``reason``: one line
    naming the rule and the numbers that decided; ``n`` unseen days; ``p_value``: one-sided
    DM-HLN on the interval scores, that the challenger is worse (same recipe) or better
    (changed recipe); ``mae_p_value``: one-sided, that its absolute errors are worse (both
    rules); None when not tested."""

    promote: bool
    rule: str
    reason: str
    n: int
    p_value: float | None
    mae_p_value: float | None


def record(verdict: Verdict, challenger: Served, champion: Served) -> dict[str, Any]:
    """The ``promotion`` record of ``run --json``: days, each side's summary, the p-values,
    the decision (``promoted`` or ``kept``), the rule and the reason."""
    return {
        "days": verdict.n,
        "champion": champion.summary(),
        "challenger": challenger.summary(),
        "p_value": verdict.p_value,
        "mae_p_value": verdict.mae_p_value,
        "decision": "promoted" if verdict.promote else "kept",
        "rule": verdict.rule,
        "reason": verdict.reason,
    }


def _p(mine: np.ndarray, theirs: np.ndarray, alternative: str) -> float | None:
    if not len(mine):
        return None
    return accuracy.diebold_mariano(mine, theirs, horizon=1, alternative=alternative)[1]


def _shown(p_value: float | None) -> str:
    return "not tested" if p_value is None else f"DM p={p_value:.2f}"


def decide(
    same_recipe: bool,
    challenger: Served,
    champion: Served,
    champion_id: str,
    alpha: float = ALPHA,
) -> Verdict:
    """The verdict on what the challenger and the current model (``champion_id``) served on
    the same unseen days (each side's losses ``(n,)``, in the same day order)."""
    n = len(challenger.abs_error)
    days = f"{n} unseen day" + ("" if n == 1 else "s")
    mae_worse = _p(challenger.abs_error, champion.abs_error, "greater")
    level = f"{challenger.level:.0%}"
    if same_recipe:
        rule = "same recipe"
        worse = _p(challenger.interval_score, champion.interval_score, "greater")
        for p_value, what in ((worse, f"served {level} interval score"), (mae_worse, "MAE")):
            if p_value is not None and p_value < alpha:
                return Verdict(
                    False,
                    rule,
                    f"{rule}; significantly worse than the current model {champion_id} on the "
                    f"{what} ({_shown(p_value)} on {days}): current model kept",
                    n,
                    worse,
                    mae_worse,
                )
        untested = "too few days" if n < 3 else "the same served forecasts"
        why = (
            f"a tie: {untested} unseen by the current model {champion_id} to test ({days})"
            if worse is None and mae_worse is None
            else f"not significantly worse than the current model {champion_id} (served "
            f"{level} interval score {_shown(worse)}, MAE {_shown(mae_worse)} on {days})"
        )
        return Verdict(True, rule, f"{rule}; {why}: newer model promoted", n, worse, mae_worse)
    rule = "changed recipe"
    if n == 0:
        return Verdict(
            False,
            rule,
            f"{rule}; no day unseen by the current model {champion_id} to compare on: "
            "current model kept",
            n,
            None,
            None,
        )
    better = _p(challenger.interval_score, champion.interval_score, "less")
    mine, theirs = challenger.summary(), champion.summary()
    wins = better is not None and better < alpha
    guard = mae_worse is not None and mae_worse < alpha
    scores = (
        f"served {level} interval score {mine['interval_score_80']:.4f} (coverage "
        f"{mine['coverage_80']:.0%}) "
        f"{'significantly beats' if wins else 'does not significantly beat'} the current "
        f"model's {theirs['interval_score_80']:.4f} ({theirs['coverage_80']:.0%}; "
        f"{champion_id}; {_shown(better)} on {days})"
    )
    mae = (
        f"one-day MAE {mine['mae']:.4f} vs {theirs['mae']:.4f} "
        f"{'significantly worse' if guard else 'not significantly worse'} ({_shown(mae_worse)})"
    )
    promote = wins and not guard
    return Verdict(
        promote,
        rule,
        f"{rule}; {scores}, {mae}: " + ("challenger promoted" if promote else "current model kept"),
        n,
        better,
        mae_worse,
    )
