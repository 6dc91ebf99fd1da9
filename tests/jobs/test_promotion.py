"""The nightly job's promotion rule on hand-made losses (no training). Every p-value is
recomputed here from the formula of Harvey, Leybourne and Newbold (1997), written out."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import t as student

from rnnforecast.jobs.promotion import Served, decide, record


def hln_statistic(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """DM-HLN statistic for h = 1 written out from Harvey, Leybourne and Newbold (1997) with
    Newey-West's long-run variance: d = a - b, L = floor(4 (n / 100)^(2/9)) lags,
    g_j = sum((d_t - mean)(d_t-j - mean)) / n, V = (g_0 + 2 sum_j (1 - j / (L + 1)) g_j) / n,
    statistic mean(d) / sqrt(V) * sqrt((n - 1) / n); and n."""
    d = a - b
    n = len(d)
    lags = math.floor(4 * (n / 100) ** (2 / 9))
    c = d - d.mean()
    gamma = [float(np.sum(c[j:] * c[: n - j])) / n for j in range(lags + 1)]
    long_run = gamma[0] + 2 * sum((1 - j / (lags + 1)) * gamma[j] for j in range(1, lags + 1))
    return float(d.mean() / math.sqrt(long_run / n) * math.sqrt((n + 1 - 2) / n)), n


def hln_p_greater(a: np.ndarray, b: np.ndarray) -> float:
    """One-sided p-value that ``a``'s loss is greater: Student t, n - 1 degrees of freedom."""
    statistic, n = hln_statistic(a, b)
    return float(student.sf(statistic, n - 1))


def hln_p_less(a: np.ndarray, b: np.ndarray) -> float:
    """One-sided p-value that ``a``'s loss is smaller."""
    statistic, n = hln_statistic(a, b)
    return float(student.cdf(statistic, n - 1))


CHAMPION = "20260101T000000Z-aaaaaa"
BASE = np.array([1.0, 2.0, 0.5, 1.5, 3.0, 0.8, 1.2, 2.2, 0.9, 1.1])
SCORE = np.array([6.0, 9.0, 5.0, 7.0, 14.0, 5.5, 6.5, 10.0, 5.8, 6.2])
COVERED = np.array([True] * 8 + [False] * 2)


def served(interval_score: np.ndarray, abs_error: np.ndarray, covered: np.ndarray) -> Served:
    return Served(interval_score, abs_error, covered, 0.8)


CHAMP = served(SCORE, BASE, COVERED)
UP = np.array([0.6, 0.4, 0.5, 0.7, 0.3, 0.5, 0.6, 0.4, 0.5, 0.6])  # always worse, by a little
NOISE = np.array([0.3, -0.2, 0.1, 0.2, -0.3, 0.25, -0.1, 0.0, 0.15, -0.2])


def test_same_recipe_too_few_days_is_a_tie_won_by_the_newer_model() -> None:
    for n in (0, 1, 2):
        verdict = decide(
            True,
            served(SCORE[:n] + 9, BASE[:n] + 5, COVERED[:n]),
            served(SCORE[:n], BASE[:n], COVERED[:n]),
            CHAMPION,
        )
        assert verdict.promote is True
        assert verdict.p_value is None and verdict.mae_p_value is None and verdict.n == n
        days = f"{n} unseen day" + ("" if n == 1 else "s")
        assert verdict.reason == (
            f"same recipe; a tie: too few days unseen by the current model {CHAMPION} to "
            f"test ({days}): newer model promoted"
        )


def test_same_recipe_identical_losses_are_a_tie() -> None:
    verdict = decide(True, CHAMP, CHAMP, CHAMPION)
    assert verdict.promote is True and verdict.p_value is None
    assert "a tie" in verdict.reason and "(10 unseen days)" in verdict.reason


def test_same_recipe_significantly_worse_intervals_keep_the_current_model() -> None:
    worse = SCORE + UP
    expected = hln_p_greater(worse, SCORE)
    assert expected < 0.05
    verdict = decide(True, served(worse, BASE, COVERED), CHAMP, CHAMPION)
    assert verdict.promote is False
    assert verdict.p_value == pytest.approx(expected, rel=1e-12)
    assert verdict.mae_p_value is None  # identical points
    assert verdict.reason == (
        f"same recipe; significantly worse than the current model {CHAMPION} on the served 80% "
        f"interval score (DM p={expected:.2f} on 10 unseen days): current model kept"
    )


def test_same_recipe_significantly_worse_points_keep_the_current_model() -> None:
    worse = BASE + UP
    expected = hln_p_greater(worse, BASE)
    verdict = decide(True, served(SCORE + NOISE, worse, COVERED), CHAMP, CHAMPION)
    assert verdict.promote is False
    assert verdict.mae_p_value == pytest.approx(expected, rel=1e-12)
    assert verdict.p_value == pytest.approx(hln_p_greater(SCORE + NOISE, SCORE), rel=1e-12)
    assert verdict.reason == (
        f"same recipe; significantly worse than the current model {CHAMPION} on the MAE "
        f"(DM p={expected:.2f} on 10 unseen days): current model kept"
    )


def test_same_recipe_a_little_worse_is_still_promoted() -> None:
    noisy = served(SCORE + NOISE, BASE + NOISE, COVERED)
    p_score, p_mae = hln_p_greater(SCORE + NOISE, SCORE), hln_p_greater(BASE + NOISE, BASE)
    assert NOISE.mean() > 0 and min(p_score, p_mae) >= 0.05
    verdict = decide(True, noisy, CHAMP, CHAMPION)
    assert verdict.promote is True
    assert verdict.reason == (
        f"same recipe; not significantly worse than the current model {CHAMPION} (served 80% "
        f"interval score DM p={p_score:.2f}, MAE DM p={p_mae:.2f} on 10 unseen days): newer "
        "model promoted"
    )


def test_changed_recipe_with_nothing_to_compare_on_keeps_the_current_model() -> None:
    nothing = decide(
        False,
        served(SCORE[:0], BASE[:0], COVERED[:0]),
        served(SCORE[:0], BASE[:0], COVERED[:0]),
        CHAMPION,
    )
    assert nothing.promote is False and nothing.p_value is None
    assert nothing.reason == (
        f"changed recipe; no day unseen by the current model {CHAMPION} to compare on: "
        "current model kept"
    )


def test_changed_intervals_on_the_same_points_are_promoted_when_significantly_better() -> None:
    """The issue's case: both sides serve the naive point (identical errors, MAE untestable),
    only the intervals differ."""
    better = SCORE - UP
    expected = hln_p_less(better, SCORE)
    assert expected < 0.05
    verdict = decide(False, served(better, BASE, COVERED), CHAMP, CHAMPION)
    assert verdict.promote is True and verdict.rule == "changed recipe"
    assert verdict.p_value == pytest.approx(expected, rel=1e-12) and verdict.mae_p_value is None
    assert verdict.reason == (
        f"changed recipe; served 80% interval score {better.mean():.4f} (coverage 80%) "
        f"significantly beats the current model's {SCORE.mean():.4f} (80%; {CHAMPION}; "
        f"DM p={expected:.2f} on 10 unseen days), one-day MAE {BASE.mean():.4f} vs "
        f"{BASE.mean():.4f} not significantly worse (not tested): challenger promoted"
    )


def test_a_changed_recipe_a_little_better_is_not_enough() -> None:
    """No flip-flop: a lower mean interval score that is not significant keeps the champion."""
    slightly = SCORE - NOISE
    expected = hln_p_less(slightly, SCORE)
    assert slightly.mean() < SCORE.mean() and expected >= 0.05
    verdict = decide(False, served(slightly, BASE, COVERED), CHAMP, CHAMPION)
    assert verdict.promote is False
    assert verdict.p_value == pytest.approx(expected, rel=1e-12)
    assert "does not significantly beat the current model's" in verdict.reason
    assert verdict.reason.endswith(": current model kept")


def test_a_changed_recipe_with_better_intervals_but_worse_points_is_kept() -> None:
    verdict = decide(False, served(SCORE - UP, BASE + UP, COVERED), CHAMP, CHAMPION)
    assert verdict.p_value == pytest.approx(hln_p_less(SCORE - UP, SCORE), rel=1e-12)
    assert verdict.mae_p_value == pytest.approx(hln_p_greater(BASE + UP, BASE), rel=1e-12)
    assert verdict.p_value < 0.05 and verdict.mae_p_value < 0.05
    assert verdict.promote is False
    assert "significantly beats" in verdict.reason
    assert f"one-day MAE {(BASE + UP).mean():.4f} vs {BASE.mean():.4f} significantly worse" in (
        verdict.reason
    )


def test_the_record_gives_each_side_by_hand() -> None:
    better = served(SCORE - UP, BASE, ~COVERED)
    verdict = decide(False, better, CHAMP, CHAMPION)
    out = record(verdict, better, CHAMP)
    assert out == {
        "days": 10,
        "champion": {
            "interval_score_80": pytest.approx(sum(SCORE) / 10, rel=1e-12),
            "coverage_80": 0.8,
            "mae": pytest.approx(sum(BASE) / 10, rel=1e-12),
        },
        "challenger": {
            "interval_score_80": pytest.approx(sum(SCORE - UP) / 10, rel=1e-12),
            "coverage_80": 0.2,
            "mae": pytest.approx(sum(BASE) / 10, rel=1e-12),
        },
        "p_value": pytest.approx(hln_p_less(SCORE - UP, SCORE), rel=1e-12),
        "mae_p_value": None,
        "decision": "promoted",
        "rule": "changed recipe",
        "reason": verdict.reason,
    }
    empty = served(SCORE[:0], BASE[:0], COVERED[:0])
    nothing = record(decide(False, empty, empty, CHAMPION), empty, empty)
    assert nothing["champion"] == {"interval_score_80": None, "coverage_80": None, "mae": None}
    assert nothing["decision"] == "kept" and nothing["days"] == 0
