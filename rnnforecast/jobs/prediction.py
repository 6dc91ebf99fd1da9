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
from rnnforecast.forecast.fitted import FittedModel
from rnnforecast.forecast.windows import latest_base
from rnnforecast.risk import adaptive_widths, interval_choice
from rnnforecast.risk.network_use import NetworkUse, network_use
from rnnforecast.storage.home import Home
from rnnforecast.storage.loading import load

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
) -> Forecast:
    """Forecast the close of the next ``horizon`` sessions after the last stored bar.

    ``horizon`` defaults to the model's; a direct model forecasts at most its trained
    horizon, a recursive one up to 260 steps. Each forecast has ``low``/``high`` bounds at
    the calibrated interval level (the network's, or the baseline's the bundle serves: see
    :mod:`rnnforecast.risk.interval_choice`), and is dated by the ticker's exchange calendar. The
    result notes when sessions have closed after the last stored bar (by ``clock()``).
    Raises HorizonOutOfRange (a UsageError), NoModel or ModelError (no or bad bundle),
    NoStoredData or DataError (no or too few stored bars).
    """
    loaded = load(home, ticker, run_id)
    data = loaded.config.data
    steps = horizon or data.horizon
    limit = data.horizon if data.strategy == "direct" else MAX_RECURSIVE_STEPS
    if not 1 <= steps <= limit:
        raise HorizonOutOfRange(limit, data.strategy, data.horizon)
    manifest = loaded.bundle.manifest
    # A global model's manifest names its group and lists the tickers it serves.
    symbol = check_ticker(ticker) if manifest.members is not None else manifest.ticker
    if manifest.members is not None and symbol not in manifest.members:
        raise UsageError(f"{symbol} is not one of the tickers run {manifest.run_id} serves")
    adaptive = loaded.calibration.adaptive
    served = interval_choice.load(loaded.bundle.path, symbol)
    baseline = served is not None and served.serves_baseline
    # a served baseline needs no network factor (its own is served_adaptive's), but a long
    # history for its filter
    history = 0 if adaptive is None or baseline else adaptive.history
    need = data.lookback + history
    dates, all_rows = home.store.read_last(symbol, max(need, adaptive_widths.rows_needed(served)))
    rows = all_rows[-need:]
    model = loaded.fitted("served")
    result = model.forecast(
        latest_base(rows, data), steps, recent_width_factor(model, rows) if history else 1.0
    )
    low, high = result.low[0], result.high[0]
    if baseline and served is not None:
        try:
            factor = adaptive_widths.factor(served, all_rows)  # 1.0 for fixed widths
            low, high = interval_choice.bounds(served, all_rows, result.point[0], factor)
        except ModelError as exc:
            path = loaded.bundle.path / interval_choice.file_name(
                symbol if manifest.members else None
            )
            raise ModelError(f"{path}: {exc}") from None
    last_day = dates[-1].item()
    code, days, closed, notices = forecast_dates(home, symbol, last_day, steps, clock())
    return Forecast(
        symbol,
        loaded.bundle.run_id,
        str(last_day),
        float(rows[-1, CLOSE]),
        served.level if served is not None else loaded.calibration.level,
        [
            {"date": str(d), "close": float(c), "low": float(lo), "high": float(hi)}
            for d, c, lo, hi in zip(days, result.point[0], low, high, strict=True)
        ],
        code,
        closed,
        notices,
        # named by what was served: no +rolling when too few bars were stored for the scheme
        interval_choice.served_name(
            adaptive_widths.as_served(served, len(all_rows)), loaded.calibration
        ),
        network_use(loaded.calibration, served, steps),
    )


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
