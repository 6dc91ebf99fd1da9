"""The command line's options and arguments, declared once: name, type, bounds, help text;
and the root options' meaning (:class:`Settings`, :func:`clock`).

:mod:`rnnforecast.cli.commands` annotates each command's parameters with these, so a
command reads as its options, one core call and its rendering. The flag's name comes from
the parameter's name where none is given (``epochs`` -> ``--epochs``); docs/cli.md is
generated from these help texts (``python tools/gen_cli_docs.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rnnforecast.data.throttle import MAX_CONCURRENCY, MAX_PER_SECOND
from rnnforecast.errors import EXIT_CODES, UsageError
from rnnforecast.version import __version__

if TYPE_CHECKING:
    from rnnforecast.data.sources import Source
    from rnnforecast.data.throttle import WaitClock
    from rnnforecast.data.yahoo import YahooDownloader
    from rnnforecast.data.yahoo_source import YahooSource

HOME_ENV = "RNNFORECAST_HOME"

EXIT_HELP = (
    "Exit codes: "
    + "; ".join(f"{code} {text.split(' (')[0]}" for code, text in EXIT_CODES.items())
    + "."
)


class ExecutorName(StrEnum):
    """Where train runs one job per ticker (the names :data:`rnnforecast.jobs.executors.EXECUTORS`
    accepts; the enum lives here so that parsing the options imports no worker pools)."""

    local = "local"
    ray = "ray"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"rnnforecast {__version__}")
        raise typer.Exit()


def clock(now: str | None) -> Callable[[], dt.datetime]:
    """The system clock, or one stopped at ``now``. Raises UsageError for a bad instant."""
    if now is None:
        return lambda: dt.datetime.now(dt.UTC)
    try:
        instant = dt.datetime.fromisoformat(now)
    except ValueError:
        raise UsageError(f"--now {now!r} is not an ISO 8601 instant") from None
    if instant.tzinfo is None:
        raise UsageError(f"--now {now!r} needs a UTC offset, e.g. {now}+00:00")
    return lambda: instant


@dataclass(frozen=True)
class Seams:
    """The outside world the commands reach, for a caller to replace (tests do, with
    ``CliRunner().invoke(app, args, obj=Seams(...))``): the Yahoo download and the clock
    its retries and fetch's rate limit wait on. None: the real ones."""

    yahoo_downloader: YahooDownloader | None = None
    retry_clock: WaitClock | None = None


@dataclass(frozen=True)
class Settings:
    """The root options, as every command finds them in ``ctx.obj``."""

    home: Path
    wait: float
    verbose: bool
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    seams: Seams = Seams()

    def yahoo(self, **settings: Any) -> YahooSource:
        """A YahooSource with ``settings`` and the downloader and retry clock of the seams."""
        from rnnforecast.data.yahoo_source import YahooSource

        if self.seams.retry_clock is not None:
            settings["clock"] = self.seams.retry_clock
        return YahooSource(downloader=self.seams.yahoo_downloader, **settings)

    def source(
        self,
        csv: Path | None,
        sample: bool,
        date_format: str | None,
        auto_adjust: bool,
        retries: int,
        timeout: float,
    ) -> Source:
        """The source ``fetch``'s options name. Raises UsageError for options that clash."""
        from rnnforecast.data.sources import CsvSource, SampleSource

        if csv is not None and sample:
            raise UsageError("--csv and --sample are two sources: choose one")
        if date_format is not None and csv is None:
            raise UsageError("--date-format is for a csv source only")
        if csv is not None:
            return CsvSource(csv, date_format)
        if sample:
            return SampleSource()
        return self.yahoo(retries=retries, timeout=timeout, auto_adjust=auto_adjust)


# Shared by several commands.
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
Run = Annotated[
    str | None, typer.Option("--run", help="Run id of the model (default: the current one).")
]

# The root: where, how long to wait, how loud.
Home = Annotated[
    str | None,
    typer.Option(
        "--home",
        envvar=HOME_ENV,
        metavar="DIR",
        help=f"Folder for the data store and models [env {HOME_ENV}; default: the "
        "platform's user data folder, e.g. ~/.local/share/rnnforecast].",
    ),
]
Wait = Annotated[
    float,
    typer.Option(
        "--wait",
        min=0,
        max=86400,
        help="Seconds to wait for another rnnforecast process working on the same "
        "ticker before giving up with exit code 6.",
    ),
]
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Per-ticker and per-epoch lines on stderr when it is not a terminal (on one, "
        "a progress bar), and tracebacks of internal errors.",
    ),
]
Version = Annotated[
    bool,
    typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version."),
]
Now = Annotated[
    str | None,
    typer.Option(
        "--now",
        hidden=True,
        help="Act as if it were this instant (ISO 8601 with a UTC offset), to replay a "
        "past night or test the calendar rules.",
    ),
]

# fetch
NewTickers = Annotated[
    list[str] | None, typer.Argument(help="Ticker symbols, e.g. AAPL MSFT ^GSPC.")
]
Start = Annotated[
    dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First day (YYYY-MM-DD).")
]
End = Annotated[
    dt.datetime | None,
    typer.Option(formats=["%Y-%m-%d"], help="Last day, inclusive (YYYY-MM-DD)."),
]
Csv = Annotated[
    Path | None,
    typer.Option("--csv", help="Import one ticker from a local CSV file instead of Yahoo."),
]
Sample = Annotated[bool, typer.Option("--sample", help="Load the bundled GOOG sample (2004-2013).")]
AutoAdjust = Annotated[
    bool,
    typer.Option(help="Yahoo: prices adjusted for splits and dividends (recorded)."),
]
Replace = Annotated[bool, typer.Option("--replace", help="Delete the ticker's stored bars first.")]
Retries = Annotated[
    int,
    typer.Option(
        min=0,
        max=10,
        help="Yahoo: retries after a network error or rate limit (backoff 1, 2, 4 s...).",
    ),
]
Timeout = Annotated[
    float,
    typer.Option(
        min=1,
        max=300,
        help="Yahoo: seconds for each attempt, all of its requests included. The whole "
        "fetch of a ticker ends within (retries+1)*(timeout+0.25) + backoffs + 10 s.",
    ),
]
Concurrency = Annotated[
    int,
    typer.Option(
        min=1,
        max=MAX_CONCURRENCY,
        help="Fetch at most this many tickers at once (each Yahoo download in a process "
        "of its own).",
    ),
]
PerSecond = Annotated[
    float,
    typer.Option(
        min=0.01,
        max=MAX_PER_SECOND,
        help="Start at most this many requests for bars in any second (Yahoo blocks "
        "bursts; 2 a second fetches 500 tickers in about 4 minutes).",
    ),
]
Calendar = Annotated[
    str | None,
    typer.Option(
        "--calendar",
        help="Exchange calendar of the ticker(s), e.g. XNYS, XLON, XETR, XTSE, XTKS, "
        "24/7 (recorded; default: the stored one, else the one the source reports, "
        "else XNYS). Sets which days are forecast and when a bar is complete.",
    ),
]
DateFormat = Annotated[
    str | None,
    typer.Option(
        "--date-format",
        help="CSV: the dates' strftime format, e.g. %d/%m/%Y (default: inferred; "
        "needed when dates read month-first and day-first alike).",
    ),
]

# train
StoredTickers = Annotated[list[str], typer.Argument(help="Ticker symbols with stored bars.")]
ConfigFile = Annotated[
    Path | None, typer.Option("--config", help="TOML config (default: built-in default).")
]
Overrides = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a config key, e.g. --set model.units=64."),
]
Epochs = Annotated[int | None, typer.Option(min=1, help="Maximum epochs (train.epochs).")]
Seed = Annotated[int | None, typer.Option(min=0, help="Random seed (train.seed).")]
Workers = Annotated[
    int,
    typer.Option(
        min=1,
        max=256,
        help="Train this many tickers at once, in separate "
        "processes (each with its share of the cores).",
    ),
]
Executor = Annotated[
    ExecutorName, typer.Option(help="local (processes on this machine) or ray (a Ray cluster).")
]
Address = Annotated[
    str | None,
    typer.Option(
        help="Ray cluster address, e.g. ray://head:10001 (default: start a local Ray instance)."
    ),
]
Refit = Annotated[
    bool,
    typer.Option(
        help="After scoring on the held-out test period, fit the recipe again up to the "
        "last bar and serve that, unless the network shapes nothing served "
        "(--no-refit: serve the scored fit).",
    ),
]
GlobalModel = Annotated[
    bool,
    typer.Option(
        "--global",
        help="Train ONE network on the windows of all the tickers (split on shared "
        "dates) and serve it for each of them.",
    ),
]
Name = Annotated[
    str | None,
    typer.Option(
        help="With --global: the group name its bundle is saved under, as @NAME "
        "(default: the sorted tickers joined by '+')."
    ),
]

# evaluate and predict
TrainedTicker = Annotated[str, typer.Argument(help="Ticker symbol with a trained model.")]
Folds = Annotated[
    int,
    typer.Option(
        min=0,
        max=50,
        help="Walk-forward backtest: re-train on expanding "
        "windows and test on this many consecutive periods (slow: one training "
        "per fold).",
    ),
]
Plot = Annotated[
    Path | None,
    typer.Option(
        "--plot", help="Draw actual vs forecast vs naive and the loss curves to this PNG file."
    ),
]
PredictPlot = Annotated[
    Path | None,
    typer.Option(
        "--plot", help="Draw the forecast fan after the last year of closes to this PNG file."
    ),
]
EvaluateOutput = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write the per-day test-period forecasts (ticker, run_id, interval_level, date, "
        "actual, naive, point, low, high, raw; fold with --folds) to this .csv or .parquet file.",
    ),
]
Replay = Annotated[
    bool,
    typer.Option(
        "--replay",
        help="Replay what predict would have served: refit the recipe every --every "
        "sessions on the bars known then (slow: one training per refit) and score the "
        "served forecasts, the network alone and each baseline on the days after.",
    ),
]
Every = Annotated[
    int | None,
    typer.Option(
        "--every",
        min=1,
        help="With --replay: sessions between refits (default 21).",
    ),
]
ReplayFrom = Annotated[
    dt.datetime | None,
    typer.Option(
        "--from",
        formats=["%Y-%m-%d"],
        help="With --replay: the first day served (default: the first day of the "
        "model's test period).",
    ),
]
Horizon = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Trading days to forecast (default: the model's horizon; up to 22 with the "
        "model's fan, more only for a recursive model).",
    ),
]
PredictOutput = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Also write the forecasts (ticker, run_id, interval_level, date, close, low, high) "
        "to this .csv or .parquet file.",
    ),
]

# run
RunConfigFile = Annotated[
    Path, typer.Option("--config", help="TOML config with a [run] table naming the tickers.")
]

# models and forget
AnyTicker = Annotated[str, typer.Argument(help="Ticker symbol.")]
Promote = Annotated[
    str | None,
    typer.Option(
        "--promote",
        metavar="RUN_ID",
        help="First make this saved run the current model (roll back or forward); "
        "it must load and verify.",
    ),
]
Yes = Annotated[bool, typer.Option("--yes", help="Really delete (without it: say what would go).")]
