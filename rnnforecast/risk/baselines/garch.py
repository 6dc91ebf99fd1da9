"""GARCH(1,1) and GJR-GARCH(1,1) with standardized Student-t errors.

Fitted by maximum likelihood in the maintained ``arch`` package, imported inside
:meth:`GarchT.forecast` because it is heavy; served at predict time by :func:`garch_path`, a
numpy copy of arch's filter (equal to arch's forecast to 1e-10).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping

import numpy as np

from rnnforecast.risk.baselines.interface import (
    VARIANCE_FLOOR,
    BaselineForecast,
    log_returns,
    scaled_by_z,
)

# Used only when the arch optimiser fails: a typical daily equity GARCH (persistence 0.95) whose
# omega is set so the unconditional variance equals the sample variance of the fitting returns.
_FALLBACK_ALPHA, _FALLBACK_GAMMA, _FALLBACK_BETA, _FALLBACK_NU = 0.05, 0.0, 0.90, 8.0

# arch is fitted on returns in percent: its optimiser is tuned for values of order 1.
_ARCH_SCALE = 100.0

SLACK = 1e-6
"""How far a fitted GARCH may sit past its constraints (alpha + gamma >= 0, persistence <= 1):
arch's optimiser meets them only to its tolerance (a fitted gamma of -alpha - 1e-12 is usual),
and a persistence of 1 + 1e-6 grows a variance by 0.03% over 260 steps."""


class GarchT:
    """GARCH(1,1) with standardized Student-t errors (``garch_t``)."""

    name = "garch_t"
    # GARCH's four parameters need a few hundred returns to be estimated with any precision;
    # 100 is the least we accept.
    min_returns = 100
    params: tuple[str, ...] = ("omega", "alpha", "beta", "nu")
    uses_z = True
    serve_returns = 2
    asymmetric = False

    def forecast(
        self, ohlcv: np.ndarray, first_test: int, levels: tuple[float, ...]
    ) -> BaselineForecast:
        """Fitted by maximum likelihood on the returns before first_test (:func:`fit_garch`), then
        filtered forward over the whole series with those parameters (``forecast(start=...)``).
        If the optimiser fails, falls back to fixed typical parameters and records
        ``converged`` = 0 (1 otherwise) next to the parameters."""
        from arch import arch_model

        asym = self.asymmetric
        returns = log_returns(ohlcv)
        scaled = returns * _ARCH_SCALE
        n_fit = first_test - 1  # returns of rows 1 .. first_test - 1
        fitted, converged = fit_garch(returns[:n_fit], asym)
        model = arch_model(scaled, mean="Zero", vol="GARCH", p=1, o=int(asym), q=1, dist="t")
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            # Origin j uses returns[:j + 1] and forecasts returns[j + 1], i.e. row j + 2; the
            # first test row needs origin first_test - 2, and the last origin forecasts past
            # the data.
            fixed = model.fix(fitted, last_obs=n_fit)  # the same filter for fitted and fallback
            forecast = fixed.forecast(horizon=1, start=first_test - 2, reindex=False)
            variance_pct = np.asarray(forecast.variance, dtype=np.float64)[:-1, 0]
            z = model.distribution.ppf(list(levels), [fitted[-1]])
        variance = np.maximum(variance_pct / _ARCH_SCALE**2, VARIANCE_FLOOR)
        quantiles = np.sqrt(variance)[:, None] * np.asarray(z)[None, :]
        params = garch_params(fitted, converged, asym)
        # arch's t has unit variance: ``variance`` is the forecast's variance, its t scale is
        # sqrt(variance (nu - 2) / nu)
        return BaselineForecast(self.name, variance, quantiles, levels, params, "student_t")

    def check_params(self, params: Mapping[str, float]) -> None:
        """Positive omega, non-negative alpha and beta, nu > 2, and stationary to
        :data:`SLACK`: alpha + gamma >= 0, alpha + gamma / 2 + beta <= 1."""
        p = params
        gamma = p.get("gamma", 0.0)
        if not (p["omega"] > 0 and p["alpha"] >= 0 and p["beta"] >= 0 and p["nu"] > 2):
            raise ValueError(f"{self.name} params out of range: {dict(p)}")
        if p["alpha"] + gamma < -SLACK or p["alpha"] + gamma / 2 + p["beta"] > 1 + SLACK:
            raise ValueError(f"{self.name} params are not stationary: {dict(p)}")

    def cumulative_quantiles(
        self,
        params: Mapping[str, float],
        z: tuple[float, float] | None,
        level: float,
        rows: np.ndarray,
        steps: int,
    ) -> np.ndarray:
        """The 1..h-step variances summed (each floored), times ``z``."""
        p = params
        per_step = garch_variances(
            log_returns(rows), p["omega"], p["alpha"], p.get("gamma", 0.0), p["beta"], steps
        )
        return scaled_by_z(np.cumsum(np.maximum(per_step, VARIANCE_FLOOR)), z)

    def one_step_scales(
        self, params: Mapping[str, float], level: float, rows: np.ndarray
    ) -> np.ndarray:
        """The square root of the floored :func:`garch_path` along the rows' returns."""
        p = params
        gjr = (p["omega"], p["alpha"], p.get("gamma", 0.0), p["beta"])
        scales: np.ndarray = np.sqrt(
            np.maximum(garch_path(log_returns(rows), *gjr), VARIANCE_FLOOR)
        )
        return scales


class GjrT(GarchT):
    """GJR-GARCH(1,1) with standardized Student-t errors (``gjr_t``): a negative return adds
    ``gamma r^2`` to the next variance."""

    name = "gjr_t"
    params: tuple[str, ...] = ("omega", "alpha", "gamma", "beta", "nu")
    asymmetric = True


def fit_garch(returns: np.ndarray, asymmetric: bool) -> tuple[np.ndarray, bool]:
    """Fit a zero-mean GARCH(1,1) (GJR-GARCH(1,1) if ``asymmetric``) with standardized
    Student-t errors to ``returns`` ``(T,)`` (log returns) by maximum likelihood in ``arch``
    (imported here), on the returns times 100 (arch's optimiser is tuned for percent).

    Returns ``(fitted, converged)``: ``fitted`` in arch's order and percent scale, ``(omega,
    alpha, [gamma,] beta, nu)`` (omega in percent squared); if the optimiser fails or gives a
    value that is not finite, the fixed typical parameters (persistence 0.95, nu 8) with omega
    set so the unconditional variance is the sample mean of the squared returns, and
    ``converged`` False. Raises nothing for a failed fit; arch's warnings are silenced.

    The same returns are fitted once per process: train fits GARCH on the bars before the
    test period for the one-day baselines and again for the fans (the same array), so the
    result is kept for the last few distinct inputs (:func:`fit_garch_once`)."""
    fitted, converged = fit_garch_once(
        np.ascontiguousarray(returns, dtype=np.float64).tobytes(), asymmetric
    )
    return np.array(fitted), converged


@functools.lru_cache(maxsize=8)
def fit_garch_once(returns: bytes, asymmetric: bool) -> tuple[tuple[float, ...], bool]:
    """:func:`fit_garch` of the float64 returns whose bytes are ``returns``, remembered for the
    last 8 inputs (arch's fit is deterministic); the parameters as a tuple, so that no caller
    can change a remembered result."""
    from arch import arch_model

    scaled = np.frombuffer(returns, dtype=np.float64) * _ARCH_SCALE
    model = arch_model(scaled, mean="Zero", vol="GARCH", p=1, o=int(asymmetric), q=1, dist="t")
    # arch warns about scaling and optimiser exit codes; the flag is checked below instead.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            result = model.fit(disp="off", show_warning=False)
            fitted = np.asarray(result.params, dtype=np.float64)
            converged = result.convergence_flag == 0 and bool(np.all(np.isfinite(fitted)))
        except (ValueError, ArithmeticError):  # numpy's LinAlgError is a ValueError
            converged = False
    if not converged:
        sample = float(np.mean(scaled**2))
        gamma = (_FALLBACK_GAMMA,) if asymmetric else ()
        persistence = _FALLBACK_ALPHA + _FALLBACK_BETA + _FALLBACK_GAMMA / 2
        omega = sample * (1 - persistence)
        fitted = np.array([omega, _FALLBACK_ALPHA, *gamma, _FALLBACK_BETA, _FALLBACK_NU])
    return tuple(float(v) for v in fitted), converged


def garch_params(fitted: np.ndarray, converged: bool, asymmetric: bool) -> dict[str, float]:
    """The named parameters of :func:`fit_garch`'s ``fitted`` in log-return units (omega
    divided by 100^2), with ``converged`` as 1.0 or 0.0."""
    names = ("omega", "alpha", "gamma", "beta", "nu") if asymmetric else GarchT.params
    params = {name: float(value) for name, value in zip(names, fitted, strict=True)}
    params["omega"] /= _ARCH_SCALE**2
    params["converged"] = float(converged)
    return params


def garch_path(
    returns: np.ndarray, omega: float, alpha: float, gamma: float, beta: float
) -> np.ndarray:
    """GJR-GARCH(1,1) (GARCH when ``gamma`` is 0) variances ``(T + 1,)`` along ``returns``
    ``(T,)``, filtered as arch filters them: entry ``j`` is the variance of ``returns[j]``
    given ``returns[:j]`` (entry ``T``: the day after), starting from arch's backcast (the
    0.94-weighted mean of the first 75 squared returns). Units: those of ``returns`` squared.
    Not floored. Pure numpy: predict rebuilds a served GARCH with it."""
    r = np.asarray(returns, dtype=np.float64)
    out = np.empty(r.size + 1)
    out[0] = sigma2 = garch_start(r, omega, alpha, gamma, beta)
    # A Python loop: SERVE_ROWS iterations cost well under a millisecond.
    for j, value in enumerate(r.tolist(), start=1):
        sigma2 = omega + (alpha + gamma * (value < 0)) * value * value + beta * sigma2
        out[j] = sigma2
    return out


def garch_start(
    returns: np.ndarray, omega: float, alpha: float, gamma: float, beta: float
) -> float:
    """The first entry of :func:`garch_path` along float64 ``returns`` ``(T,)``: from arch's
    backcast, the 0.94-weighted mean of the first 75 squared returns."""
    tau = min(75, returns.size)
    w = 0.94 ** np.arange(tau)
    backcast = float(np.sum(returns[:tau] ** 2 * (w / w.sum())))
    return omega + (alpha + 0.5 * gamma + beta) * backcast


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
