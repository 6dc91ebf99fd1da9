"""Scores of interval and distribution forecasts: pure functions on numpy arrays.

Interval and quantile scores are in the units of their inputs (price units in evaluate);
``qlike`` is unitless. A *hit* is a day whose actual value falls outside the interval (a
value-at-risk exception); the coverage tests take the boolean hit sequence.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

QUANTILE_LEVELS = (0.05, 0.10, 0.50, 0.90, 0.95)
"""Levels at which evaluate scores quantile forecasts with the pinball loss."""

_SQRT_PI = math.sqrt(math.pi)


def interval_score(
    actual: np.ndarray, low: np.ndarray, high: np.ndarray, level: float
) -> np.ndarray:
    """Winkler / Gneiting-Raftery interval score per day ``(m,)``, in the units of the inputs.

    ``(high - low) + (2 / alpha) * (low - y) * [y < low] + (2 / alpha) * (y - high) * [y > high]``
    with ``alpha = 1 - level``: the width, plus a penalty for each miss that grows with its
    distance. Lower is better. Raises ValueError if ``level`` is not in (0, 1).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    y = np.asarray(actual, dtype=np.float64)
    lo = np.asarray(low, dtype=np.float64)
    hi = np.asarray(high, dtype=np.float64)
    alpha = 1.0 - level
    below = np.maximum(lo - y, 0.0)
    above = np.maximum(y - hi, 0.0)
    return (hi - lo) + (2.0 / alpha) * (below + above)


def outside(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Hits ``(m,)`` bool: the days where ``actual`` falls outside ``[low, high]``."""
    y = np.asarray(actual, dtype=np.float64)
    return (y < np.asarray(low, dtype=np.float64)) | (y > np.asarray(high, dtype=np.float64))


def coverage(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Share of days with ``low <= actual <= high``. Raises ValueError on no days."""
    hits = outside(actual, low, high)
    if hits.size == 0:
        raise ValueError("no values to score")
    return float(1.0 - np.mean(hits))


def _xlogy(x: float, y: float) -> float:
    """``x * ln(y)`` with ``0 * ln(0) = 0``: the limit the likelihoods below need."""
    return 0.0 if x == 0 else x * math.log(y)


def _chi2_1_sf(statistic: float) -> float:
    """Upper tail of the chi-squared distribution with one degree of freedom."""
    return math.erfc(math.sqrt(max(statistic, 0.0) / 2.0))


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")


def kupiec_lr(hits: np.ndarray, level: float) -> float | None:
    """Kupiec's likelihood ratio (see :func:`kupiec_p`); None for an empty sequence."""
    _check_level(level)
    h = np.asarray(hits, dtype=bool)
    n, x = int(h.size), int(np.sum(h))
    if n == 0:
        return None
    p, rate = 1.0 - level, x / n
    null = _xlogy(n - x, 1.0 - p) + _xlogy(x, p)
    fitted = _xlogy(n - x, 1.0 - rate) + _xlogy(x, rate)
    return max(-2.0 * (null - fitted), 0.0)


def kupiec_p(hits: np.ndarray, level: float) -> float | None:
    """Kupiec (1995) proportion-of-failures test: p-value that the hit rate is ``1 - level``.

    ``LR = -2 ln[(1-p)^(n-x) p^x] + 2 ln[(1-x/n)^(n-x) (x/n)^x]`` with ``p = 1 - level``,
    ``x`` hits in ``n`` days, against chi-squared(1). No hits or all hits are defined cases
    (``0 ln 0 = 0``): e.g. no hit in 250 days at 99% gives LR 5.03, p 0.025. Returns None
    only for an empty sequence. Raises ValueError if ``level`` is not in (0, 1).
    """
    statistic = kupiec_lr(hits, level)
    return None if statistic is None else _chi2_1_sf(statistic)


def christoffersen_lr(hits: np.ndarray) -> float | None:
    """Christoffersen's independence likelihood ratio (see :func:`christoffersen_p`);
    None where that test is undefined."""
    h = np.asarray(hits, dtype=bool)
    if h.size < 2:
        return None
    prev, nxt = h[:-1], h[1:]
    n00 = int(np.sum(~prev & ~nxt))
    n01 = int(np.sum(~prev & nxt))
    n10 = int(np.sum(prev & ~nxt))
    n11 = int(np.sum(prev & nxt))
    if n00 + n01 == 0 or n10 + n11 == 0:
        return None
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    pi01, pi11 = n01 / (n00 + n01), n11 / (n10 + n11)
    null = _xlogy(n00 + n10, 1.0 - pi) + _xlogy(n01 + n11, pi)
    markov = (
        _xlogy(n00, 1.0 - pi01) + _xlogy(n01, pi01) + _xlogy(n10, 1.0 - pi11) + _xlogy(n11, pi11)
    )
    return max(-2.0 * (null - markov), 0.0)


def christoffersen_p(hits: np.ndarray) -> float | None:
    """Christoffersen (1998) independence test: p-value that a hit today does not change
    the chance of a hit tomorrow (first-order Markov alternative, chi-squared(1)).

    From the transition counts ``n_ij`` (state ``i`` then ``j``, 1 = hit):
    ``LR = -2 ln[(1-pi)^(n00+n10) pi^(n01+n11)] + 2 ln[(1-pi01)^n00 pi01^n01 (1-pi11)^n10
    pi11^n11]``. Returns None when there is nothing to test: fewer than two days, or no
    hit or no non-hit among the days that have a successor (no transitions out of one of
    the states, so both models fit the same).
    """
    statistic = christoffersen_lr(hits)
    return None if statistic is None else _chi2_1_sf(statistic)


def christoffersen_cc_p(hits: np.ndarray, level: float) -> float | None:
    """Christoffersen (1998) conditional-coverage test: p-value that the hits are
    independent *and* occur at rate ``1 - level``: ``LR_cc = LR_uc + LR_ind`` (Kupiec's
    :func:`kupiec_lr` on all ``n`` days plus :func:`christoffersen_lr` on the ``n - 1``
    transitions, as Jorion's textbook and R's ``rugarch::VaRTest`` add them) against
    chi-squared(2), whose upper tail is ``exp(-LR / 2)``. Where the independence test is
    undefined (no transition out of one state) its ratio is 0, both models fitting the
    same, so the test is Kupiec's ratio read on 2 degrees of freedom. Returns None for
    fewer than two days. Raises ValueError if ``level`` is not in (0, 1).
    """
    unconditional = kupiec_lr(hits, level)
    if unconditional is None or np.asarray(hits).size < 2:
        return None
    independence = christoffersen_lr(hits)
    return math.exp(-(unconditional + (independence or 0.0)) / 2.0)


def pinball_per_day(
    actual: np.ndarray, quantiles: np.ndarray, levels: tuple[float, ...]
) -> np.ndarray:
    """Quantile (pinball) loss per day ``(m,)``, averaged over ``levels``.

    ``quantiles`` ``(m, len(levels))``; loss at level ``tau``: ``tau * (y - q)`` if
    ``y >= q`` else ``(1 - tau) * (q - y)``. Raises ValueError on mismatched shapes.
    """
    y = np.asarray(actual, dtype=np.float64)
    q = np.asarray(quantiles, dtype=np.float64)
    tau = np.asarray(levels, dtype=np.float64)
    if q.ndim != 2 or q.shape != (len(y), len(tau)):
        raise ValueError(f"quantiles {q.shape} do not fit {len(y)} days x {len(tau)} levels")
    diff = y[:, None] - q
    per_day: np.ndarray = np.mean(np.maximum(tau * diff, (tau - 1.0) * diff), axis=1)
    return per_day


def pinball(actual: np.ndarray, quantiles: np.ndarray, levels: tuple[float, ...]) -> float:
    """Mean pinball loss over days and ``levels``, in the units of the inputs."""
    return float(np.mean(pinball_per_day(actual, quantiles, levels)))


def crps_gaussian(actual: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """CRPS per day ``(m,)`` of Gaussian forecasts (closed form, Gneiting et al. 2005):
    ``sd * (z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi))``, ``z = (y - mean) / sd``; in the
    units of ``actual``. Raises ValueError if any ``sd`` is not positive."""
    s = np.asarray(sd, dtype=np.float64)
    if np.any(~(s > 0)):
        raise ValueError("standard deviations must be positive")
    z = (np.asarray(actual, dtype=np.float64) - np.asarray(mean, dtype=np.float64)) / s
    cdf = 0.5 * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    crps: np.ndarray = s * (z * (2.0 * cdf - 1.0) + 2.0 * pdf - 1.0 / _SQRT_PI)
    return crps


def crps_student_t(actual: np.ndarray, loc: np.ndarray, scale: np.ndarray, df: float) -> np.ndarray:
    """CRPS per day ``(m,)`` of location-scale Student-t forecasts with ``df > 1`` degrees of
    freedom (closed form, Jordan, Krueger and Lerch 2019, scoringRules' ``crps_t``):
    ``scale * (z (2 F(z) - 1) + 2 f(z) (df + z^2) / (df - 1) - 2 sqrt(df) B(1/2, df - 1/2) /
    ((df - 1) B(1/2, df / 2)^2))`` with ``z = (y - loc) / scale`` and ``F``, ``f`` the
    standard t(df) distribution and density; in the units of ``actual``. ``scale`` is the
    t's scale, not its standard deviation (that is ``scale sqrt(df / (df - 2))``). Raises
    ValueError if any ``scale`` is not positive or ``df`` is not above 1.
    """
    s = np.asarray(scale, dtype=np.float64)
    if np.any(~(s > 0)) or not df > 1:
        raise ValueError("scales must be positive and the degrees of freedom above 1")
    # scipy is slow to import: only when a score is computed (never by predict)
    from scipy.special import beta
    from scipy.stats import t as student

    z = (np.asarray(actual, dtype=np.float64) - np.asarray(loc, dtype=np.float64)) / s
    tail = 2.0 * math.sqrt(df) * beta(0.5, df - 0.5) / ((df - 1.0) * beta(0.5, df / 2.0) ** 2)
    body = z * (2.0 * student.cdf(z, df) - 1.0) + 2.0 * student.pdf(z, df) * (df + z * z) / (
        df - 1.0
    )
    crps: np.ndarray = s * (body - tail)
    return crps


def crps_levels(k: int = 100) -> tuple[float, ...]:
    """The ``k`` equally spaced levels ``(j - 1/2) / k``, ``j = 1..k``, at which
    :func:`crps_quantiles` reads a forecast's quantiles."""
    return tuple((j + 0.5) / k for j in range(k))


def crps_quantiles(actual: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """CRPS per day ``(m,)`` of forecasts given as ``k`` quantiles ``(m, k)`` at
    :func:`crps_levels` ``(k)``, in the units of the inputs.

    The quantile-score form ``CRPS = 2 int_0^1 QS_tau dtau`` (Laio and Tamea 2007; Gneiting
    and Ranjan 2011) by the midpoint rule: ``2 / k * sum_j pinball_tau_j``. With the 100
    levels used here it is within 0.05% of the exact CRPS of a Gaussian or a t(5) (tests
    against ``scipy.integrate.quad``); it needs only quantiles, so it scores empirical and
    conformal forecasts by their own distribution. Raises ValueError on mismatched shapes.
    """
    q = np.asarray(quantiles, dtype=np.float64)
    if q.ndim != 2:
        raise ValueError(f"quantiles must be (m, k), got {q.shape}")
    per_day: np.ndarray = 2.0 * pinball_per_day(actual, q, crps_levels(q.shape[1]))
    return per_day


def qlike_per_day(variance: np.ndarray, proxy: np.ndarray) -> np.ndarray:
    """Patton (2011) QLIKE loss per day: ``proxy / variance - ln(proxy / variance) - 1``.

    Zero when the forecast equals the proxy, robust to a noisy unbiased proxy. Raises
    ValueError if any variance or proxy is not positive (the log would not be defined).
    """
    v = np.asarray(variance, dtype=np.float64)
    p = np.asarray(proxy, dtype=np.float64)
    if np.any(~(v > 0)) or np.any(~(p > 0)):
        raise ValueError("variances and proxies must be positive")
    ratio = p / v
    return ratio - np.log(ratio) - 1.0


def qlike(variance: np.ndarray, proxy: np.ndarray) -> float:
    """Mean QLIKE loss (see :func:`qlike_per_day`); lower is better."""
    return float(np.mean(qlike_per_day(variance, proxy)))


def normal_quantile(level: float) -> float:
    """The standard normal quantile at ``level`` in (0, 1)."""
    return NormalDist().inv_cdf(level)
