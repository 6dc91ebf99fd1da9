"""Classical volatility baselines for the next day's close-to-close log return.

What a risk analyst would put next to the network's 80% intervals: GARCH(1,1) and GJR-GARCH(1,1)
with Student-t errors (fitted by maximum likelihood in the maintained ``arch`` package, imported
inside the call because it is heavy), RiskMetrics EWMA, a 50-day historical volatility, the
empirical quantiles of the last 250 returns, and HAR on a range-based daily variance.

Every baseline forecasts r_t = ln(close[t] / close[t-1]) for each test row t from rows < t only:
parameters are fitted once on the rows before the test span, then the model is filtered forward
day by day with those parameters (no refit). All forecasts are centred on a zero mean, which is
the naive point forecast (tomorrow's close = today's close). Pure numpy apart from ``arch``.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from rnnforecast.data.bars import CLOSE
from rnnforecast.errors import DataError, UsageError

BASELINES: tuple[str, ...] = ("garch_t", "gjr_t", "ewma", "hist50", "emp250", "har")

# Returns (not rows) each baseline needs before the first test row. GARCH's four parameters
# need a few hundred returns to be estimated with any precision; 100 is the least we accept.
MIN_RETURNS: dict[str, int] = {
    "garch_t": 100,
    "gjr_t": 100,
    "ewma": 20,
    "hist50": 50,
    "emp250": 250,
    "har": 52,  # 22 lags for the monthly term, then at least 30 regression rows
}

# The least variance any forecast or proxy may take (a daily volatility of 0.01%): a zero or
# negative variance would make interval widths degenerate and QLIKE infinite.
VARIANCE_FLOOR = 1e-8

EWMA_LAMBDA = 0.94  # RiskMetrics (1996) for daily data
HIST_WINDOW = 50
EMP_WINDOW = 250
HAR_LAGS = (1, 5, 22)  # daily, weekly and monthly averages of the variance proxy (Corsi 2009)

# Used only when the arch optimiser fails: a typical daily equity GARCH (persistence 0.95) whose
# omega is set so the unconditional variance equals the sample variance of the fitting returns.
_FALLBACK_ALPHA, _FALLBACK_GAMMA, _FALLBACK_BETA, _FALLBACK_NU = 0.05, 0.0, 0.90, 8.0

# arch is fitted on returns in percent: its optimiser is tuned for values of order 1.
_ARCH_SCALE = 100.0


@dataclass(frozen=True)
class BaselineForecast:
    """One baseline's forecasts for the m test rows.

    ``variance`` (m,) is the forecast variance of the next day's close-to-close log return
    (log-return units squared, not percent); ``quantiles`` (m, len(levels)) are forecast quantiles
    of that log return, ascending along each row, at ``levels`` (ascending, each in (0, 1));
    ``params`` holds the fitted parameters as finite floats (variances in log-return units).
    """

    name: str
    variance: np.ndarray
    quantiles: np.ndarray
    levels: tuple[float, ...]
    params: dict[str, float]


def forecast_baselines(
    ohlcv: np.ndarray,
    first_test: int,
    levels: Sequence[float],
    names: Sequence[str] = BASELINES,
) -> dict[str, BaselineForecast]:
    """Forecast every row t in [first_test, n) with each baseline in ``names``.

    ``ohlcv`` (n, 5) float64 rows in date order: open, high, low, close, volume (volume unused).
    The target is ln(close[t] / close[t-1]), forecast from rows < t only. Parameters are fitted
    once on rows < first_test, then each model is filtered forward day by day without refitting.
    Returns {name: BaselineForecast} with m = n - first_test rows each, centred on a zero mean.

    Raises UsageError for an unknown name or levels not strictly ascending inside (0, 1);
    DataError if ``ohlcv`` is not (n, 5) with finite positive prices, if first_test is outside
    [1, n], or if a requested baseline has too few returns before first_test (the message says
    how many rows it needs; ``MIN_RETURNS`` + 1 rows).
    """
    unknown = [name for name in names if name not in BASELINES]
    if unknown:
        raise UsageError(f"unknown baseline {unknown[0]!r}; choose from {', '.join(BASELINES)}")
    levels_t = _checked_levels(levels)
    ohlcv = _checked_ohlcv(ohlcv)
    n = ohlcv.shape[0]
    if not 1 <= first_test <= n:
        raise DataError(f"the first test row must be in [1, {n}], got {first_test}")
    for name in names:
        need = MIN_RETURNS[name] + 1
        if first_test < need:
            raise DataError(
                f"baseline {name} needs at least {need} rows before the test span "
                f"({MIN_RETURNS[name]} returns), got {first_test}"
            )
    returns = np.diff(np.log(ohlcv[:, CLOSE]))  # returns[j] is the return of row j + 1
    result = {}
    for name in names:
        if name in ("garch_t", "gjr_t"):
            variance, quantiles, params = _garch(
                returns, first_test, levels_t, asym=name == "gjr_t"
            )
        elif name == "ewma":
            variance, params = _ewma(returns, first_test)
            quantiles = _gaussian(variance, levels_t)
        elif name == "hist50":
            variance, params = _hist(returns, first_test)
            quantiles = _gaussian(variance, levels_t)
        elif name == "emp250":
            variance, quantiles, params = _empirical(returns, first_test, levels_t)
        else:
            variance, quantiles, params = _har(range_variance(ohlcv), returns, first_test, levels_t)
        result[name] = BaselineForecast(name, variance, quantiles, levels_t, params)
    return result


def baselines_for(first_test: int) -> tuple[str, ...]:
    """The baselines (in BASELINES order) with enough rows before ``first_test`` to be fitted:
    a short series can still be scored against the others instead of raising DataError."""
    return tuple(name for name in BASELINES if first_test >= MIN_RETURNS[name] + 1)


def range_variance(ohlcv: np.ndarray) -> np.ndarray:
    """A daily close-to-close variance proxy from the bars: (n,) in log-return units squared.

    Garman-Klass (1980) on the day's open/high/low/close, 0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2,
    plus the squared overnight gap ln(O_t / C_{t-1})^2, so it targets the close-to-close return
    that the forecasts are for (a pure range estimator ignores the night). Row 0 has no previous
    close and gets the intraday part only. High and low are widened to cover open and close
    (data vendors sometimes disagree by a cent), and the result is floored at VARIANCE_FLOOR.
    Raises DataError if ``ohlcv`` is not (n, 5) with finite positive prices.
    """
    ohlcv = _checked_ohlcv(ohlcv)
    open_, high, low, close = (ohlcv[:, i] for i in range(4))
    high = np.maximum.reduce([high, open_, close])
    low = np.minimum.reduce([low, open_, close])
    hl = np.log(high / low)
    co = np.log(close / open_)
    intraday = 0.5 * hl**2 - (2 * math.log(2) - 1) * co**2
    gap = np.zeros_like(close)
    gap[1:] = np.log(open_[1:] / close[:-1]) ** 2
    variance: np.ndarray = np.maximum(intraday + gap, VARIANCE_FLOOR)
    return variance


def _checked_levels(levels: Sequence[float]) -> tuple[float, ...]:
    values = tuple(float(level) for level in levels)
    if not values or not all(0.0 < v < 1.0 for v in values):
        raise UsageError(f"quantile levels must each be in (0, 1), got {list(values)}")
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise UsageError(f"quantile levels must be strictly ascending, got {list(values)}")
    return values


def _checked_ohlcv(ohlcv: np.ndarray) -> np.ndarray:
    array = np.asarray(ohlcv, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 5:
        raise DataError(
            f"expected bars of shape (n, 5): open, high, low, close, volume; got {array.shape}"
        )
    prices = array[:, :4]
    if not np.all(np.isfinite(prices)) or not np.all(prices > 0):
        raise DataError("prices must be finite and positive for the volatility baselines")
    return array


def _gaussian(variance: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
    z = np.array([NormalDist().inv_cdf(level) for level in levels])
    quantiles: np.ndarray = np.sqrt(variance)[:, None] * z[None, :]
    return quantiles


def _ewma(returns: np.ndarray, first_test: int) -> tuple[np.ndarray, dict[str, float]]:
    """RiskMetrics: s_t = lam s_{t-1} + (1 - lam) r_{t-1}^2, run over the whole history.

    The seed s_1 (the variance of row 1's return) is the zero-mean sample variance, mean(r^2), of
    the returns before first_test: zero mean because every baseline is centred on zero.
    """
    seed = float(np.mean(returns[: first_test - 1] ** 2))
    lam = EWMA_LAMBDA
    # s[j] forecasts returns[j] (row j + 1); the loop is over at most a few thousand days.
    s = np.empty(returns.size + 1)
    s[0] = seed
    for j in range(returns.size):
        s[j + 1] = lam * s[j] + (1 - lam) * returns[j] ** 2
    variance = np.maximum(s[first_test - 1 : -1], VARIANCE_FLOOR)
    return variance, {"lambda": lam, "seed_variance": seed}


def _hist(returns: np.ndarray, first_test: int) -> tuple[np.ndarray, dict[str, float]]:
    """Sample variance (ddof 1, around the window's mean) of the 50 returns before each row."""
    windows = _trailing(returns, first_test, HIST_WINDOW)
    variance = np.maximum(np.var(windows, axis=1, ddof=1), VARIANCE_FLOOR)
    return variance, {"window": float(HIST_WINDOW)}


def _empirical(
    returns: np.ndarray, first_test: int, levels: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Empirical quantiles (numpy's default linear interpolation) of the last 250 returns,
    demeaned so the forecast is centred on zero like the others; variance = their sample
    variance (ddof 1)."""
    windows = _trailing(returns, first_test, EMP_WINDOW)
    centred = windows - windows.mean(axis=1, keepdims=True)
    quantiles = np.quantile(centred, levels, axis=1).T
    variance = np.maximum(np.var(windows, axis=1, ddof=1), VARIANCE_FLOOR)
    return variance, np.ascontiguousarray(quantiles), {"window": float(EMP_WINDOW)}


def _trailing(returns: np.ndarray, first_test: int, width: int) -> np.ndarray:
    """(m, width): for each row t >= first_test, the returns of rows t - width .. t - 1."""
    view = np.lib.stride_tricks.sliding_window_view(returns, width)
    # view[k] holds returns[k : k + width], i.e. rows k + 1 .. k + width;
    # row t needs k = t - 1 - width.
    n_rows = returns.size + 1
    return view[first_test - 1 - width : n_rows - 1 - width]


def _har(
    proxy: np.ndarray, returns: np.ndarray, first_test: int, levels: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """HAR-RV (Corsi 2009) on the range_variance proxy, fitted by OLS on rows < first_test.

    RV_t = b0 + b1 RV_{t-1} + b5 mean(RV_{t-5..t-1}) + b22 mean(RV_{t-22..t-1}); row 0 is left
    out because its proxy lacks the overnight gap. Forecasts h_t are floored at VARIANCE_FLOOR
    (OLS can go negative after a calm spell). Quantiles are filtered historical simulation:
    sqrt(h_t) times the empirical quantiles of the in-sample standardized returns r_t / sqrt(h_t),
    which corrects both the proxy's level and the Gaussian's thin tails.
    """
    n = proxy.size
    longest = HAR_LAGS[-1]
    # Regressors for every row t in [1 + longest, n): means of the proxy over the lags before t.
    csum = np.concatenate([[0.0], np.cumsum(proxy)])
    rows = np.arange(1 + longest, n)
    design = np.column_stack(
        [np.ones(rows.size)] + [(csum[rows] - csum[rows - lag]) / lag for lag in HAR_LAGS]
    )
    fit = rows < first_test
    coef, *_ = np.linalg.lstsq(design[fit], proxy[rows[fit]], rcond=None)
    fitted = np.maximum(design @ coef, VARIANCE_FLOOR)
    standardized = returns[rows[fit] - 1] / np.sqrt(fitted[fit])  # returns[t - 1] is row t's
    z = np.quantile(standardized, levels)
    variance = fitted[~fit]
    quantiles = np.sqrt(variance)[:, None] * z[None, :]
    params = {"b0": float(coef[0]), "b1": float(coef[1]), "b5": float(coef[2])}
    params["b22"] = float(coef[3])
    params.update({f"z@{level:g}": float(value) for level, value in zip(levels, z, strict=True)})
    return variance, quantiles, params


def _garch(
    returns: np.ndarray, first_test: int, levels: tuple[float, ...], *, asym: bool
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """GARCH(1,1) (GJR-GARCH(1,1) if ``asym``) with standardized Student-t errors, by arch.

    Fitted by maximum likelihood on the returns before first_test (``last_obs``), then filtered
    forward over the whole series with those parameters (``forecast(start=...)``). If the
    optimiser fails, falls back to fixed typical parameters and records converged = 0.
    """
    from arch import arch_model

    scaled = returns * _ARCH_SCALE
    n_fit = first_test - 1  # returns of rows 1 .. first_test - 1
    model = arch_model(scaled, mean="Zero", vol="GARCH", p=1, o=int(asym), q=1, dist="t")
    # arch warns about scaling and optimiser exit codes; the flag is checked below instead.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            result = model.fit(disp="off", last_obs=n_fit, show_warning=False)
            fitted = np.asarray(result.params, dtype=np.float64)
            converged = result.convergence_flag == 0 and bool(np.all(np.isfinite(fitted)))
        except (ValueError, ArithmeticError):  # numpy's LinAlgError is a ValueError
            converged = False
        if not converged:
            sample = float(np.mean(scaled[:n_fit] ** 2))
            gamma = (_FALLBACK_GAMMA,) if asym else ()
            persistence = _FALLBACK_ALPHA + _FALLBACK_BETA + _FALLBACK_GAMMA / 2
            omega = sample * (1 - persistence)
            fitted = np.array([omega, _FALLBACK_ALPHA, *gamma, _FALLBACK_BETA, _FALLBACK_NU])
        # Origin j uses returns[:j + 1] and forecasts returns[j + 1], i.e. row j + 2; the first
        # test row needs origin first_test - 2, and the last origin forecasts past the data.
        fixed = model.fix(fitted, last_obs=n_fit)  # the same filter for fitted and fallback
        forecast = fixed.forecast(horizon=1, start=first_test - 2, reindex=False)
        variance_pct = np.asarray(forecast.variance, dtype=np.float64)[:-1, 0]
        z = model.distribution.ppf(list(levels), [fitted[-1]])
    variance = np.maximum(variance_pct / _ARCH_SCALE**2, VARIANCE_FLOOR)
    quantiles = np.sqrt(variance)[:, None] * np.asarray(z)[None, :]
    names = ["omega", "alpha", "gamma", "beta", "nu"] if asym else ["omega", "alpha", "beta", "nu"]
    params = {name: float(value) for name, value in zip(names, fitted, strict=True)}
    params["omega"] /= _ARCH_SCALE**2
    params["converged"] = float(converged)
    return variance, quantiles, params


def garch_path(
    returns: np.ndarray, omega: float, alpha: float, gamma: float, beta: float
) -> np.ndarray:
    """GJR-GARCH(1,1) (GARCH when ``gamma`` is 0) variances ``(T + 1,)`` along ``returns``
    ``(T,)``, filtered as arch filters them: entry ``j`` is the variance of ``returns[j]``
    given ``returns[:j]`` (entry ``T``: the day after), starting from arch's backcast (the
    0.94-weighted mean of the first 75 squared returns). Units: those of ``returns`` squared.
    Not floored. Pure numpy: predict rebuilds a served GARCH with it."""
    r = np.asarray(returns, dtype=np.float64)
    tau = min(75, r.size)
    w = 0.94 ** np.arange(tau)
    backcast = float(np.sum(r[:tau] ** 2 * (w / w.sum())))
    out = np.empty(r.size + 1)
    out[0] = sigma2 = omega + (alpha + 0.5 * gamma + beta) * backcast
    # A Python loop: SERVE_ROWS iterations cost well under a millisecond.
    for j, value in enumerate(r.tolist(), start=1):
        sigma2 = omega + (alpha + gamma * (value < 0)) * value * value + beta * sigma2
        out[j] = sigma2
    return out
