"""The nightly job's promotion rule on hand-made losses (no training)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import t as student

from rnnforecast.jobs.promotion import decide


def hln_p_greater(a: np.ndarray, b: np.ndarray) -> float:
    """One-sided ("a's loss is greater") DM-HLN p-value for h = 1, written out from Harvey,
    Leybourne and Newbold (1997) with Newey-West's long-run variance: d = a - b, L =
    floor(4 (n / 100)^(2/9)) lags, g_j = sum((d_t - mean)(d_t-j - mean)) / n, V = (g_0 + 2
    sum_j (1 - j / (L + 1)) g_j) / n, statistic mean(d) / sqrt(V) * sqrt((n - 1) / n),
    Student t with n - 1 degrees of freedom."""
    d = a - b
    n = len(d)
    lags = math.floor(4 * (n / 100) ** (2 / 9))
    c = d - d.mean()
    gamma = [float(np.sum(c[j:] * c[: n - j])) / n for j in range(lags + 1)]
    long_run = gamma[0] + 2 * sum((1 - j / (lags + 1)) * gamma[j] for j in range(1, lags + 1))
    statistic = d.mean() / math.sqrt(long_run / n) * math.sqrt((n + 1 - 2) / n)
    return float(student.sf(statistic, n - 1))


CHAMPION = "20260101T000000Z-aaaaaa"
BASE = np.array([1.0, 2.0, 0.5, 1.5, 3.0, 0.8, 1.2, 2.2, 0.9, 1.1])


def test_same_recipe_too_few_days_is_a_tie_won_by_the_newer_model() -> None:
    for n in (0, 1, 2):
        verdict = decide(True, BASE[:n] + 5.0, BASE[:n], CHAMPION)
        assert verdict.promote is True
        assert verdict.p_value is None and verdict.n == n
        days = f"{n} unseen day" + ("" if n == 1 else "s")
        assert verdict.reason == (
            f"same recipe; a tie: too few days unseen by the current model {CHAMPION} to "
            f"test ({days}): newer model promoted"
        )


def test_same_recipe_identical_losses_are_a_tie() -> None:
    verdict = decide(True, BASE, BASE, CHAMPION)
    assert verdict.promote is True and verdict.p_value is None
    assert "a tie" in verdict.reason and "(10 unseen days)" in verdict.reason


def test_same_recipe_significantly_worse_keeps_the_current_model() -> None:
    worse = BASE + np.array([0.6, 0.4, 0.5, 0.7, 0.3, 0.5, 0.6, 0.4, 0.5, 0.6])
    expected = hln_p_greater(worse, BASE)
    assert expected < 0.05
    verdict = decide(True, worse, BASE, CHAMPION)
    assert verdict.promote is False
    assert verdict.p_value == pytest.approx(expected, rel=1e-12)
    assert verdict.reason == (
        f"same recipe; significantly worse than the current model {CHAMPION} "
        f"(DM p={expected:.2f} on 10 unseen days): current model kept"
    )


def test_same_recipe_a_little_worse_is_still_promoted() -> None:
    noisy = BASE + np.array([0.3, -0.2, 0.1, 0.2, -0.3, 0.25, -0.1, 0.0, 0.15, -0.2])
    expected = hln_p_greater(noisy, BASE)
    assert noisy.mean() > BASE.mean() and expected >= 0.05
    verdict = decide(True, noisy, BASE, CHAMPION)
    assert verdict.promote is True
    assert verdict.reason == (
        f"same recipe; not significantly worse than the current model {CHAMPION} "
        f"(DM p={expected:.2f} on 10 unseen days): newer model promoted"
    )


def test_changed_recipe_must_win() -> None:
    nothing = decide(False, BASE[:0], BASE[:0], CHAMPION)
    assert nothing.promote is False
    assert nothing.reason == (
        f"changed recipe; no day unseen by the current model {CHAMPION} to compare on: "
        "current model kept"
    )
    better = decide(False, BASE * 0.9, BASE, CHAMPION)
    assert better.promote is True and better.rule == "changed recipe"
    assert better.reason.startswith(
        f"changed recipe; one-day MAE {BASE.mean() * 0.9:.4f} beats the current model's "
        f"{BASE.mean():.4f} ({CHAMPION}; DM p="
    )
    assert better.reason.endswith("on 10 unseen days): challenger promoted")
    worse = decide(False, BASE * 1.01, BASE, CHAMPION)
    assert worse.promote is False
    assert worse.reason.endswith("on 10 unseen days): current model kept")
    # one day is enough to win on when the recipe changed (lower MAE, no test possible)
    single = decide(False, BASE[:1] * 0.5, BASE[:1], CHAMPION)
    assert single.promote is True and "(" + CHAMPION + "; not tested on 1 unseen day)" in (
        single.reason
    )
