"""How predict's forecast looks on a terminal: the last close, what shaped the price and the
range, then one row per session (with the fan, the method that served each horizon)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rnnforecast.cli.output import emit_json, say
from rnnforecast.cli.served import served_words, used_dict
from rnnforecast.cli.tables import table
from rnnforecast.errors import UsageError

if TYPE_CHECKING:
    from rnnforecast.data.calendars import Clock
    from rnnforecast.jobs.prediction import Forecast
    from rnnforecast.storage.home import Home


def run(
    home: Home,
    ticker: str,
    which: tuple[str | None, int | None],
    files: tuple[Path | None, Path | None],
    as_json: bool,
    clock: Clock,
) -> None:
    """predict: the one core call (``which``: the run id and horizon), then its picture and
    export (``files``: ``--output`` and ``--plot``), its warnings on stderr, and its JSON or
    table."""
    from rnnforecast import exports, plots
    from rnnforecast.jobs import prediction

    output, plot = files
    if output is not None:
        exports.output_format(output)
    if plot is not None and not plots.is_png(plot):
        raise UsageError(f"--plot writes a PNG file: {plot} does not end in .png")
    history = prediction.PLOT_HISTORY if plot is not None else 0
    result = prediction.predict(home, ticker, *which, clock=clock, history=history)
    if plot is not None:
        plots.save_png(prediction.figure(result), plot)
        say(f"plot written to {plot}")
    # The core's notices name no command; the hint to cure them is the CLI's to give.
    warnings = [f"{n.message}; run `rnnforecast fetch {result.ticker}`" for n in result.notices]
    for warning in warnings:
        say(f"warning: {warning}")
    if output is not None:
        columns = exports.forecast_columns(result.forecasts)
        exports.write_table(
            output, exports.identified(columns, result.ticker, result.run_id, result.level)
        )
        say(f"{len(result.forecasts)} forecasts written to {output}")
    if as_json:
        emit_json({**result.to_dict(), "warnings": warnings})
        return
    forecast(result)


def fan_methods(result: Forecast) -> str:
    """'garch_t at 1 session, log_har at 2-22 sessions' from the forecasts' methods (the
    method alone when one serves every session)."""
    from rnnforecast.risk.fans.choice import describe

    methods = [f["interval_method"] for f in result.forecasts]
    return methods[0] if len(set(methods)) == 1 else describe(methods)


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
            + ([f["interval_method"]] if fan else [])
            for f in result.forecasts
        ],
    )
