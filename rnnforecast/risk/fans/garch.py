"""Simulated GARCH(1,1) and GJR-GARCH(1,1) fans with standardized Student-t errors.

Fitted by maximum likelihood in ``arch`` exactly as the one-day baselines are
(:func:`~rnnforecast.risk.baselines.garch.fit_garch`: zero mean, returns x100 for the
optimiser, typical fallback parameters and ``converged`` = 0 when it fails). The fan is the
h-step distribution of the cumulative log return by Monte Carlo simulation of the fitted model,
not the one-step t quantile times sqrt(sum of variances): that rule ignores how the variance
itself moves over the horizon and is too narrow (GOOG, 80% at 5 sessions: 0.763).

Simulation (numpy only): :data:`SIM_PATHS` paths of standardized t shocks
``t(nu) sqrt((nu - 2) / nu)`` (unit variance, as arch's) drawn from ``default_rng(SIM_SEED)``,
the same shocks for every origin (common random numbers: fans are deterministic, and two
origins or two fits differ only by their model, not by their draws). Given the first variance
``s_1`` the recursion ``s_{k+1} = omega + s_k (beta + (alpha + gamma [z_k < 0]) z_k^2)`` is
linear in ``s_1``: ``s_k = s_1 P_k + omega Q_k`` with path factors ``P``, ``Q`` computed once
for all origins, and the paths are simulated only on a lattice of first variances,
interpolated in between (:func:`simulated_fan`, :data:`GRID_STEP`).

Monte Carlo error, measured as the spread over 40 seeds of one GOOG GARCH-t fan (nu 4.2) at
h = 1, 5, 22: with 20,000 paths the standard error of the 2.5% / 97.5% quantiles is 1.1-1.8%
of their value, of the 10% / 90% quantiles 1.0-1.2%; 10,000 paths gave 1.6-2.3% and 1.3-1.8%.
In probability terms 20,000 paths put an 80% interval's end within about 0.002 of its level
(one standard error), small next to the binomial noise of any coverage we can score.
"""

from __future__ import annotations

import math

import numpy as np

from rnnforecast.risk.baselines.garch import (
    SLACK,
    fit_garch,
    garch_params,
    garch_path,
    garch_start,
)
from rnnforecast.risk.baselines.interface import VARIANCE_FLOOR, checked_ohlcv, log_returns
from rnnforecast.risk.fans.common import check_fit, checked_origins, fit_rows
from rnnforecast.risk.fans.interface import (
    FAN_LEVELS,
    FanFit,
    quantiles_of_sorted,
    sorted_quantiles,
)

SIM_PATHS = 20_000
"""Simulated paths per fan (Monte Carlo error: see the module docstring)."""

SIM_SEED = 20261207
"""The seed of the shocks: fixed, so a fan rebuilt from a saved fit is the same fan."""

GARCH_SERVE_ROWS = 1000
"""Rows before an origin the filter runs over, from arch's backcast of the first 75 returns:
at GOOG's persistence (0.995) the backcast's weight after 925 steps is below 1%."""

GRID_STEP = 0.05
"""Spacing in log first variance of the simulated lattice (standard deviations 2.5% apart).
The interpolation error, measured on GOOG's GARCH-t and GJR-t fans, is below 0.1% of the
fan's largest quantile, against a Monte Carlo error near 1%."""


class GarchFan:
    """``garch_t``: a simulated GARCH(1,1)-t fan. Params (log-return units): omega, alpha,
    beta, nu, converged (1.0 or 0.0); no tables."""

    name = "garch_t"
    min_rows = 101  # 100 returns, as the one-day baseline
    serve_rows = GARCH_SERVE_ROWS
    asymmetric = False
    param_names: tuple[str, ...] = ("omega", "alpha", "beta", "nu")

    def fit(self, ohlcv: np.ndarray, through: int, horizons: int) -> FanFit:
        """Fitted on the returns of rows ``[0, through)`` by :func:`fit_garch` (arch). Raises
        DataError if ``through`` < :attr:`min_rows` or past the rows, ValueError for horizons
        outside ``[1, MAX_HORIZON]``."""
        fit_rows(self.name, ohlcv, through, horizons, self.min_rows)
        returns = log_returns(checked_ohlcv(ohlcv)[:through])
        fitted, converged = fit_garch(returns, self.asymmetric)
        params = garch_params(fitted, converged, self.asymmetric)
        return FanFit(self.name, horizons, params, {"z1": unit_t_quantiles(params["nu"])})

    def check(self, fit: FanFit) -> None:
        """Raise ValueError unless the params are there, finite, omega > 0, alpha, beta >= 0,
        nu > 2, alpha + gamma >= 0 and alpha + gamma / 2 + beta <= 1 (each to the baselines'
        :data:`SLACK`), converged 0 or 1."""
        check_fit(self.name, fit, (*self.param_names, "converged"), {"z1": (len(FAN_LEVELS),)})
        if np.any(np.diff(fit.tables["z1"]) <= 0):
            raise ValueError(f"{self.name} z1 must be ascending")
        p = fit.params
        gamma = p.get("gamma", 0.0) if self.asymmetric else 0.0
        if not (p["omega"] > 0 and p["alpha"] >= 0 and p["beta"] >= 0 and p["nu"] > 2):
            raise ValueError(f"{self.name} params out of range: {p}")
        if p["alpha"] + gamma < -SLACK or p["alpha"] + gamma / 2 + p["beta"] > 1 + SLACK:
            raise ValueError(f"{self.name} params are not stationary: {p}")
        if p["converged"] not in (0.0, 1.0):
            raise ValueError(f"{self.name} converged must be 0 or 1, got {p['converged']}")

    def fan(self, fit: FanFit, ohlcv: np.ndarray, origins: np.ndarray, horizons: int) -> np.ndarray:
        """``(m, horizons, len(FAN_LEVELS))`` simulated quantiles of the cumulative log return.
        The first variance at origin ``o`` is :func:`garch_path` over the returns of the bars
        ``[o - serve_rows, o)`` (every bar before ``o`` when there are fewer; its last entry:
        the variance of row ``o``'s return), so predict, which reads the last ``serve_rows``
        bars, draws the fan a score drew. Raises ValueError for origins outside
        ``[min_rows, n]`` or horizons past the fit's."""
        bars = checked_ohlcv(ohlcv)
        o = checked_origins(self.name, origins, bars.shape[0], self.min_rows, fit, horizons)
        p = fit.params
        gamma = p.get("gamma", 0.0) if self.asymmetric else 0.0
        close_returns = log_returns(bars)  # entry j is row j + 1's
        gjr = (p["omega"], p["alpha"], gamma, p["beta"])
        first = last_variances(close_returns, o, self.serve_rows, *gjr)
        shocks = self.shocks(fit, horizons)
        fan = simulated_fan(first, p["omega"], p["alpha"], gamma, p["beta"], shocks)
        # one session ahead the distribution is known: the t's own quantiles, not a simulation's
        fan[:, 0, :] = np.sqrt(np.maximum(first, VARIANCE_FLOOR))[:, None] * fit.tables["z1"]
        return fan

    def shocks(self, fit: FanFit, horizons: int) -> np.ndarray:
        """The simulation's unit-variance shocks ``(SIM_PATHS, horizons)``: standardized t
        draws with the fit's ``nu`` (:func:`standardized_t`)."""
        return standardized_t(fit.params["nu"], SIM_PATHS, horizons)


class GjrFan(GarchFan):
    """``gjr_t``: a simulated GJR-GARCH(1,1)-t fan (a negative return adds ``gamma r^2`` to the
    next variance). Params: omega, alpha, gamma, beta, nu, converged."""

    name = "gjr_t"
    asymmetric = True
    param_names: tuple[str, ...] = ("omega", "alpha", "gamma", "beta", "nu")


def last_variances(
    returns: np.ndarray,
    origins: np.ndarray,
    serve_rows: int,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
) -> np.ndarray:
    """``(m,)``: for each origin ``t`` of ``origins`` ``(m,)``, the last entry of
    :func:`garch_path` over ``returns[max(0, t - serve_rows) : t - 1]`` (``returns[j]``: row
    ``j + 1``'s return). Origins with a full window run the filter together, one step for all
    of them at a time, with the scalar filter's operations in its order: the same numbers."""
    out = np.empty(len(origins))
    full = origins >= serve_rows
    for i in np.flatnonzero(~full).tolist():
        out[i] = garch_path(returns[: origins[i] - 1], omega, alpha, gamma, beta)[-1]
    if full.any():
        view = np.lib.stride_tricks.sliding_window_view(returns, serve_rows - 1)
        windows = view[origins[full] - serve_rows]  # (k, serve_rows - 1)
        sigma2 = np.array([garch_start(w, omega, alpha, gamma, beta) for w in windows])
        for value in np.ascontiguousarray(windows.T):
            sigma2 = omega + (alpha + gamma * (value < 0)) * value * value + beta * sigma2
        out[full] = sigma2
    return out


def standardized_t(nu: float, paths: int, steps: int) -> np.ndarray:
    """``(paths, steps)`` Student-t(``nu``) draws scaled to unit variance by
    ``sqrt((nu - 2) / nu)``, from ``default_rng(SIM_SEED)``: the same numbers on every call.
    Requires ``nu`` > 2."""
    rng = np.random.default_rng(SIM_SEED)
    draws: np.ndarray = rng.standard_t(nu, size=(paths, steps)) * math.sqrt((nu - 2.0) / nu)
    return draws


def unit_t_quantiles(nu: float) -> np.ndarray:
    """``(len(FAN_LEVELS),)`` quantiles of the unit-variance Student t with ``nu`` degrees of
    freedom, as arch computes them for the one-day baseline (arch, hence scipy, imported here:
    at fit time only)."""
    from arch.univariate import StudentsT

    z: np.ndarray = np.asarray(StudentsT().ppf(list(FAN_LEVELS), [nu]), dtype=np.float64)
    return z


def simulated_fan(
    first: np.ndarray,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    shocks: np.ndarray,
) -> np.ndarray:
    """Quantiles ``(m, H, len(FAN_LEVELS))`` (numpy's default linear interpolation) of the
    cumulative return ``sum_{k <= h} sqrt(s_k) z_k`` over the paths of ``shocks`` ``(N, H)``,
    for each first variance ``first`` ``(m,)`` (log-return units squared, floored at
    VARIANCE_FLOOR), where ``s_{k+1} = omega + (alpha + gamma [z_k < 0]) s_k z_k^2 + beta s_k``.

    Simulated exactly at the lattice of first variances ``exp(GRID_STEP k)``, k integer, that
    bracket ``first``; in between, the quantiles divided by ``sqrt(first)`` are interpolated
    linearly in ``log first`` (exact at h = 1, where they do not depend on it). A fan thus
    depends on its own first variance only, never on the other origins asked for, and 500
    origins cost a few dozen simulations."""
    start = np.log(np.maximum(np.asarray(first, dtype=np.float64), VARIANCE_FLOOR))
    below = np.floor(start / GRID_STEP).astype(np.int64)
    nodes = np.unique(np.concatenate([below, below + 1]))
    at_nodes = simulated_at(np.exp(nodes * GRID_STEP), omega, alpha, gamma, beta, shocks)
    scaled = at_nodes / np.exp(nodes * GRID_STEP / 2)[:, None, None]
    lo = np.searchsorted(nodes, below)
    weight = (start / GRID_STEP - below)[:, None, None]
    mixed = (1 - weight) * scaled[lo] + weight * scaled[lo + 1]
    return sorted_quantiles(np.exp(start / 2)[:, None, None] * mixed)


def simulated_at(
    first: np.ndarray,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    shocks: np.ndarray,
) -> np.ndarray:
    """:func:`simulated_fan` without the lattice: each first variance of ``first`` ``(m,)``
    simulated, ``(m, H, len(FAN_LEVELS))``."""
    steps = shocks.shape[1]
    z = np.ascontiguousarray(shocks.T)  # (H, N): the quantiles are taken along contiguous rows
    growth = beta + (alpha + gamma * (z < 0)) * z**2  # s_{k+1} = omega + s_k growth_k
    slope, intercept = np.ones_like(z), np.zeros_like(z)
    for k in range(1, steps):
        slope[k] = slope[k - 1] * growth[k - 1]
        intercept[k] = intercept[k - 1] * growth[k - 1] + 1.0
    out = np.empty((first.size, steps, len(FAN_LEVELS)))
    for i, s1 in enumerate(first.tolist()):
        variance = np.maximum(s1 * slope + omega * intercept, VARIANCE_FLOOR)
        cumulative = np.sqrt(variance) * z
        for k in range(1, steps):  # np.cumsum's sums, in its order, without its strided pass
            cumulative[k] += cumulative[k - 1]
        # np.quantile's numbers (numpy's sort is the fast part: a partition of every row at
        # the 18 positions of nine levels costs five times as much)
        cumulative.sort(axis=1)
        out[i] = quantiles_of_sorted(cumulative, FAN_LEVELS)
    return out
