"""Forecasts from a saved bundle: load it, check it, run it. Fast by design.

``predict`` runs here on the numpy forward pass, reading only the last rows it needs from
the store: no TensorFlow, no pandas, no scikit-learn, so a cron job or a shell user asking
for tomorrow's forecast waits for a fraction of a second, not for a framework to load. A
bundle saved without numpy weights falls back to Keras (and pays TensorFlow's start-up).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnforecast.data import calendars
from rnnforecast.data.bars import CLOSE
from rnnforecast.data.tickers import check_ticker
from rnnforecast.errors import HorizonOutOfRange, ModelError, UsageError
from rnnforecast.forecast.calibration import adaptive_factors
from rnnforecast.forecast.fan_network import FanNetwork
from rnnforecast.forecast.fitted import FittedModel
from rnnforecast.forecast.windows import latest_base
from rnnforecast.nn.fan_forward import read_fan_network
from rnnforecast.risk import adaptive_widths, interval_choice
from rnnforecast.risk.fans import choice, registry
from rnnforecast.risk.fans.choice import FanRecord, NetworkFan
from rnnforecast.risk.fans.interface import FAN_LEVELS, SHOWN_LEVELS, level_index, served_levels
from rnnforecast.risk.interval_choice import IntervalRecord
from rnnforecast.risk.network_use import NetworkUse, network_use
from rnnforecast.storage.home import Home
from rnnforecast.storage.loading import Loaded, load

MAX_RECURSIVE_STEPS = 260


@dataclass(frozen=True)
class Notice:
    """Something a forecast's reader should know. ``kind``: ``stale`` (sessions have closed
    since the last stored bar) or ``calendar`` (forecast dates past the stored sessions are
    guessed); both are cured by fetching the ticker again."""

    kind: str
    message: str


@dataclass(frozen=True)
class Forecast:
    ticker: str
    run_id: str
    as_of: str
    last_close: float
    level: float
    forecasts: list[dict[str, Any]]
    calendar: str = calendars.DEFAULT
    stale_sessions: int = 0  # sessions closed after the last stored bar, by the clock
    notices: tuple[Notice, ...] = ()
    interval_method: str = "conformal"  # who made low/high: see rnnforecast.risk.interval_choice
    # whether the weights shaped close and low/high (rnnforecast.risk.network_use)
    network_used: NetworkUse | None = None
    # the last stored sessions' dates (ISO) and closes, when asked for (a picture's history)
    history: tuple[tuple[str, ...], tuple[float, ...]] = ((), ())

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticker": self.ticker,
            "run_id": self.run_id,
            "as_of": self.as_of,
            "last_close": self.last_close,
            "interval_level": self.level,
            "interval_method": self.interval_method,
            "network_used": None if self.network_used is None else self.network_used.to_dict(),
            "calendar": self.calendar,
            "stale_sessions": self.stale_sessions,
            "forecasts": self.forecasts,
            "warnings": [notice.message for notice in self.notices],
        }


def next_days(after: dt.date, n: int, every_day: bool) -> list[dt.date]:
    """The ``n`` days after ``after``: every day if ``every_day``, else weekdays (Mon-Fri,
    holidays unknown). The fallback when a calendar's sessions are not stored."""
    if every_day:
        return [after + dt.timedelta(days=i) for i in range(1, n + 1)]
    first = np.busday_offset(np.datetime64(after, "D"), 1, roll="forward")
    days = np.busday_offset(first, np.arange(n), roll="forward")
    return [d.item() for d in days]


def forecast_dates(
    home: Home, symbol: str, last_day: dt.date, steps: int, now: dt.datetime
) -> tuple[str, list[dt.date], int, tuple[Notice, ...]]:
    """The ticker's calendar code, the ``steps`` sessions after ``last_day`` (stored by
    fetch; read with sqlite3, no exchange_calendars), how many sessions after ``last_day``
    had closed by ``now``, and the notices for the reader (stale bars, guessed dates).

    That count comes from the stored sessions when they reach from ``last_day`` to ``now``,
    else (a store older than calendars, sessions fetched over two years ago) from
    exchange_calendars, imported only then. Raises UsageError if the stored calendar code
    is unknown to it."""
    code = home.store.calendar(symbol) or calendars.DEFAULT
    dates, closed = home.store.sessions_after(code, last_day, steps, now)
    if not home.store.sessions_reach(code, last_day, now):
        closed = calendars.closed_after(code, last_day, now)
    notices = []
    if closed:
        plural = "" if closed == 1 else "s"
        notices.append(
            Notice("stale", f"{symbol}: last bar {last_day} is {closed} session{plural} old")
        )
    if len(dates) < steps:
        guessed = next_days(
            dates[-1] if dates else last_day, steps - len(dates), code == calendars.ALWAYS_OPEN
        )
        kind = "every day" if code == calendars.ALWAYS_OPEN else "weekdays, holidays not known"
        notices.append(
            Notice(
                "calendar",
                f"{symbol}: the {code} sessions after {dates[-1] if dates else last_day} are "
                f"not stored; forecast dates from {guessed[0]} on are {kind}",
            )
        )
        dates = [*dates, *guessed]
    return code, dates, closed, tuple(notices)


def predict(
    home: Home,
    ticker: str,
    run_id: str | None = None,
    horizon: int | None = None,
    clock: calendars.Clock = calendars.system_clock,
    history: int = 0,
) -> Forecast:
    """Forecast the close of the next ``horizon`` sessions after the last stored bar.

    ``horizon`` defaults to the model's. A bundle with a fan (:mod:`rnnforecast.risk.fans`)
    reaches :data:`~rnnforecast.risk.fans.interface.MAX_HORIZON` sessions whatever its
    network's horizon: each forecast then has the fan's ``quantiles`` (price units, keyed by
    level), its ``low``/``high`` at the calibrated level and the ``interval_method`` that
    served that horizon; past the network's own horizon the point is the last close. Without
    a fan a direct model forecasts at most its trained horizon, a recursive one up to 260
    steps, each with ``low``/``high`` from the network's or the served baseline's interval
    (:mod:`rnnforecast.risk.interval_choice`). Dates follow the ticker's exchange calendar;
    the result notes when sessions have closed after the last stored bar (by ``clock()``),
    and holds the dates and closes of the last ``history`` stored bars (for a picture).
    Raises HorizonOutOfRange (a UsageError), NoModel or ModelError (no or bad bundle),
    NoStoredData or DataError (no or too few stored bars).
    """
    loaded = load(home, ticker, run_id)
    data = loaded.config.data
    manifest = loaded.bundle.manifest
    # A global model's manifest names its group and lists the tickers it serves.
    symbol = check_ticker(ticker) if manifest.members is not None else manifest.ticker
    if manifest.members is not None and symbol not in manifest.members:
        raise UsageError(f"{symbol} is not one of the tickers run {manifest.run_id} serves")
    member = symbol if manifest.members is not None else None
    fan = choice.load(loaded.bundle.path, registry.REGISTRY, member)
    steps = horizon or data.horizon
    limit = data.horizon if data.strategy == "direct" else MAX_RECURSIVE_STEPS
    limit = limit if fan is None else max(limit, fan.horizons)
    if not 1 <= steps <= limit:
        raise HorizonOutOfRange(limit, data.strategy, data.horizon)
    served = interval_choice.load(loaded.bundle.path, symbol)
    fan = fan if fan is not None and steps <= fan.horizons else None  # a recursive model's 30
    network = read_fan_network(loaded.bundle.path) if fan and fan.uses_network else None
    need, adaptive_history = rows_to_read(loaded, served, fan, network)
    dates, all_rows = home.store.read_last(symbol, max(need, history))
    past = last_closes(dates, all_rows, history)
    all_rows, dates = all_rows[-need:], dates[-need:]
    rows = all_rows[-(data.lookback + adaptive_history) :]
    model = loaded.fitted("served")
    own = min(steps, data.horizon) if data.strategy == "direct" and fan else steps
    result = model.forecast(
        latest_base(rows, data), own, recent_width_factor(model, rows) if adaptive_history else 1.0
    )
    last_close = float(rows[-1, CLOSE])
    point = np.concatenate([result.point[0], np.full(steps - own, last_close)])
    code, days, closed, notices = forecast_dates(home, symbol, dates[-1].item(), steps, clock())
    level = served.level if served is not None else loaded.calibration.level
    if fan is not None:
        bound = None if network is None else network.bound(all_rows, dates)
        forecasts = fan_forecasts(fan, all_rows, days, point, level, bound)
        method, use = fan.methods[0], fan_use(loaded, fan, own)
    else:
        low, high = interval_bounds(loaded, served, symbol, all_rows, result)
        forecasts = [
            {"date": str(d), "close": float(c), "low": float(lo), "high": float(hi)}
            for d, c, lo, hi in zip(days, point, low, high, strict=True)
        ]
        method, use = one_day_words(loaded, served, len(all_rows), steps)
    return Forecast(
        symbol,
        loaded.bundle.run_id,
        str(dates[-1].item()),
        last_close,
        level,
        forecasts,
        code,
        closed,
        notices,
        method,
        use,
        past,
    )


def last_closes(
    dates: np.ndarray, rows: np.ndarray, k: int
) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The ISO dates and closes of the last ``k`` of ``rows`` ``(n, 5)`` (none for 0)."""
    if not k:
        return (), ()
    days = tuple(str(d) for d in dates[-k:].astype("datetime64[D]"))
    return days, tuple(float(c) for c in rows[-k:, CLOSE])


PLOT_HISTORY = 252
"""Stored sessions drawn before the fan: about a year."""


def figure(result: Forecast) -> Any:
    """The forecast's picture (a matplotlib Figure): the closes of ``result.history``, then
    the fan's quantiles (or the interval, for a bundle without a fan) over the forecast
    sessions."""
    from rnnforecast import plots

    dates, closes = result.history
    days = np.array([f["date"] for f in result.forecasts], dtype="datetime64[D]")
    if result.forecasts and "quantiles" in result.forecasts[0]:
        keys = result.forecasts[0]["quantiles"]
        bands = {k: np.array([f["quantiles"][k] for f in result.forecasts]) for k in keys}
    else:
        lo, hi = (1 - result.level) / 2, (1 + result.level) / 2
        bands = {
            f"{lo:g}": np.array([f["low"] for f in result.forecasts]),
            f"{hi:g}": np.array([f["high"] for f in result.forecasts]),
        }
    return plots.fan_figure(
        result.ticker,
        np.array(dates, dtype="datetime64[D]"),
        np.array(closes, dtype=np.float64),
        days,
        bands,
        result.level,
    )


def one_day_words(
    loaded: Loaded, served: IntervalRecord | None, rows: int, steps: int
) -> tuple[str, NetworkUse]:
    """The name of the one-day intervals served from ``rows`` stored bars (no ``+rolling``
    when they were too few for the scheme) and what the weights shape in ``steps`` steps."""
    shown = adaptive_widths.as_served(served, rows)
    name = interval_choice.served_name(shown, loaded.calibration)
    return name, network_use(loaded.calibration, served, steps)


def fan_use(loaded: Loaded, fan: FanRecord, own: int) -> NetworkUse:
    """What the weights shape when a ``fan`` serves the ranges: the price as the served
    network's first ``own`` steps make it, the range only where the fan serves the fan
    network."""
    return NetworkUse(network_use(loaded.calibration, None, own).price, fan.uses_network)


def rows_to_read(
    loaded: Loaded,
    served: IntervalRecord | None,
    fan: FanRecord | None,
    network: FanNetwork | None = None,
) -> tuple[int, int]:
    """How many of the last stored bars predict reads (the network's window and its adaptive
    history, the served baseline's or the served fan's history, the fan network's), and the
    network's adaptive history (0 when a baseline or a fan serves the intervals)."""
    data, adaptive = loaded.config.data, loaded.calibration.adaptive
    baseline = served is not None and served.serves_baseline
    history = 0 if adaptive is None or baseline or fan is not None else adaptive.history
    need = max(data.lookback + history, adaptive_widths.rows_needed(served))
    if fan is not None:
        need = max(need, *(registry.REGISTRY[name].serve_rows + 1 for name in fan.fits))
    return max(need, 0 if network is None else network.exact_rows), history


def fan_forecasts(
    fan: FanRecord,
    rows: np.ndarray,
    days: list[dt.date],
    point: np.ndarray,
    level: float,
    network: NetworkFan | None = None,
) -> list[dict[str, Any]]:
    """One forecast per day of ``days`` from the served ``fan`` after the last of ``rows``
    ``(k, 5)``: the ``point`` close, the fan's interval at ``level`` (the 80% one when the fan
    holds no interval at ``level``), its quantiles in price units and the method that served
    that horizon (``network``: the fan network's fan of ``rows``, where it serves). Raises
    ModelError if the fan is not finite."""
    steps, origin = len(days), np.array([len(rows)])
    quantiles = choice.served_fan(fan, registry.REGISTRY, rows, origin, steps, network)[0]
    prices = float(rows[-1, CLOSE]) * np.exp(quantiles)
    lo, hi = served_levels(level)
    shown = [level_index(q) for q in SHOWN_LEVELS]
    return [
        {
            "date": str(day),
            "close": float(point[h]),
            "low": float(prices[h, lo]),
            "high": float(prices[h, hi]),
            "quantiles": {f"{FAN_LEVELS[i]:g}": float(prices[h, i]) for i in shown},
            "interval_method": fan.methods[h],
        }
        for h, day in enumerate(days)
    ]


def interval_bounds(
    loaded: Loaded,
    served: IntervalRecord | None,
    symbol: str,
    all_rows: np.ndarray,
    result: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` ``(steps,)`` of a bundle without a fan: the network's own interval
    (``result``'s) or the served baseline's around the network's point. Raises ModelError
    (with the record's path) if the baseline's interval is not finite."""
    if served is None or not served.serves_baseline:
        return result.low[0], result.high[0]
    try:
        factor = adaptive_widths.factor(served, all_rows)  # 1.0 for fixed widths
        return interval_choice.bounds(served, all_rows, result.point[0], factor)
    except ModelError as exc:
        member = symbol if loaded.bundle.manifest.members else None
        path = loaded.bundle.path / interval_choice.file_name(member)
        raise ModelError(f"{path}: {exc}") from None


def recent_width_factor(model: FittedModel, rows: np.ndarray) -> float:
    """The adaptive width factor for the day after OHLCV ``rows`` ``(n, 5)``: the model's
    one-step scores on every window of ``rows`` that has a next close, then the scheme of
    :mod:`rnnforecast.forecast.conformal` (1.0 when fewer bars are stored than it needs)."""
    lookback = model.data.lookback
    if len(rows) <= lookback:
        return 1.0
    windows = np.lib.stride_tricks.sliding_window_view(rows, (lookback, rows.shape[1]))[:-1, 0]
    scores = model.one_step_scores(windows, rows[lookback:, CLOSE])
    return float(adaptive_factors(scores, model.calibration)[-1])
