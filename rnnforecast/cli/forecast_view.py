"""How predict's forecast looks on a terminal: the last close, what shaped the price and the
range, then one row per session (with the fan, the method that served each horizon)."""

from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING

from rnnforecast.cli.output import say
from rnnforecast.cli.served import served_words, used_dict
from rnnforecast.cli.tables import table

if TYPE_CHECKING:
    from rnnforecast.jobs.prediction import Forecast


def fan_methods(result: Forecast) -> str:
    """'garch_t at 1 session, log_har at 2-22' from the forecasts' per-horizon methods."""
    runs, start = [], 1
    for method, group in groupby(f["interval_method"] for f in result.forecasts):
        end = start + len(list(group)) - 1
        span = f"{start}" if start == end else f"{start}-{end}"
        runs.append(f"{method} at {span} session{'' if start == end == 1 else 's'}")
        start = end + 1
    return ", ".join(runs)


def forecast(result: Forecast) -> None:
    """predict: the last close, then one row per forecast day."""
    fan = bool(result.forecasts) and "interval_method" in result.forecasts[0]
    source = fan_methods(result) if fan else result.interval_method
    say(
        f"{result.ticker} run {result.run_id}; last close {result.last_close:.2f} on "
        f"{result.as_of}; {result.level:.0%} intervals from {source}"
    )
    say(served_words(source, used_dict(result.network_used)))
    table(
        f"{result.ticker} forecast ({result.level:.0%} interval)",
        ["date", "close", "low", "high"] + ["from"] * fan,
        [
            [f["date"], *(f"{f[k]:.2f}" for k in ("close", "low", "high"))]
            + [f["interval_method"]] * fan
            for f in result.forecasts
        ],
    )
