"""The nightly job's promotion rule: does a challenger replace the current model?

Pure: per-day losses in, a verdict out. Both models are compared on the days the current
model never saw (after its ``seen_through`` day), with the challenger's out-of-sample
forecasts of those days (its scored fit, tested on them).

- Same recipe (identical config): the challenger is the current model brought up to date,
  so it is promoted unless it is significantly worse: one-sided Diebold-Mariano test with
  the Harvey-Leybourne-Newbold correction on the one-day absolute errors, at ``alpha``.
  Too few days to test (fewer than 3, or identical losses) is a tie: the newer model wins.
- Changed recipe: the challenger must win: a lower one-day MAE than the current model on
  at least one unseen day. With no unseen day there is nothing to win on and the current
  model stays (``train`` makes a new recipe current at once when that is wanted).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnforecast.metrics import accuracy

ALPHA = 0.05


@dataclass(frozen=True)
class Verdict:
    """``promote``; ``rule`` (``same recipe`` or ``changed recipe``); ``reason``: one line
    naming the rule and the numbers that decided; ``n`` unseen days; ``p_value``: one-sided,
    that the challenger is worse (same recipe) or better (changed recipe); None when not
    tested."""

    promote: bool
    rule: str
    reason: str
    n: int
    p_value: float | None


def decide(
    same_recipe: bool,
    challenger_loss: np.ndarray,
    champion_loss: np.ndarray,
    champion_id: str,
    alpha: float = ALPHA,
) -> Verdict:
    """The verdict on per-day losses ``(n,)`` of the challenger and the current model
    (``champion_id``) on the same unseen days (absolute errors, price units)."""
    mine = np.asarray(challenger_loss, dtype=np.float64)
    theirs = np.asarray(champion_loss, dtype=np.float64)
    n = len(mine)
    days = f"{n} unseen day" + ("" if n == 1 else "s")
    # same recipe: is the challenger worse? changed recipe: is it better?
    alternative = "greater" if same_recipe else "less"
    _, p_value = (
        accuracy.diebold_mariano(mine, theirs, horizon=1, alternative=alternative)
        if n
        else (None, None)
    )
    shown = "not tested" if p_value is None else f"DM p={p_value:.2f}"
    if same_recipe:
        rule = "same recipe"
        if p_value is not None and p_value < alpha:
            return Verdict(
                False,
                rule,
                f"{rule}; significantly worse than the current model {champion_id} "
                f"({shown} on {days}): current model kept",
                n,
                p_value,
            )
        why = (
            f"not significantly worse than the current model {champion_id} ({shown} on {days})"
            if p_value is not None
            else f"a tie: too few days unseen by the current model {champion_id} to test ({days})"
        )
        return Verdict(True, rule, f"{rule}; {why}: newer model promoted", n, p_value)
    rule = "changed recipe"
    if n == 0:
        return Verdict(
            False,
            rule,
            f"{rule}; no day unseen by the current model {champion_id} to compare on: "
            "current model kept",
            n,
            None,
        )
    mae_mine, mae_theirs = float(mine.mean()), float(theirs.mean())
    wins = mae_mine < mae_theirs
    return Verdict(
        wins,
        rule,
        f"{rule}; one-day MAE {mae_mine:.4f} {'beats' if wins else 'does not beat'} the "
        f"current model's {mae_theirs:.4f} ({champion_id}; {shown} on {days}): "
        + ("challenger promoted" if wins else "current model kept"),
        n,
        p_value,
    )
