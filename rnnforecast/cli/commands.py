"""The command line: options -> config -> one core call -> a table for people or JSON.

Each command is a thin function: it checks its options (declared in
:mod:`rnnforecast.cli.options`) before any work, makes one call into the core and hands the
result to :mod:`rnnforecast.cli.render` or prints it as JSON. Errors become one stderr line and
an exit code in :mod:`rnnforecast.cli.exits`. Nothing heavy is imported at start-up:
pandas, TensorFlow and yfinance load inside the commands that need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from rnnforecast.cli import exits, forecast_view, options, process, render, served, watch
from rnnforecast.cli.options import HOME_ENV
from rnnforecast.cli.output import emit_json, say
from rnnforecast.config import apply_overrides, load_config
from rnnforecast.data.throttle import RateLimit
from rnnforecast.data.tickers import unique_tickers
from rnnforecast.errors import OwnModelOnly, PartialFailure, UsageError
from rnnforecast.jobs.runconfig import load_run_config

if TYPE_CHECKING:
    from rnnforecast.config import Config
    from rnnforecast.jobs.modelling import Training
    from rnnforecast.jobs.outcomes import TickerOutcome
    from rnnforecast.storage.home import Home

app = typer.Typer(
    cls=exits.App,
    name="rnnforecast",
    help="Forecast daily stock prices with recurrent neural networks, next to the naive "
    "forecast. Fetch bars into a local store, train, evaluate, predict.",
    epilog=options.EXIT_HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    ctx: typer.Context,
    home: options.Home = None,
    wait: options.Wait = 60.0,
    verbose: options.Verbose = False,
    version: options.Version = False,
    now: options.Now = None,
) -> None:
    if home is not None and not home.strip():
        # An empty --home would silently mean the current folder.
        raise UsageError(f"--home (or {HOME_ENV}) is empty: name a folder")
    from rnnforecast.storage.home import default_root

    folder = Path(home) if home is not None else default_root()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--home {folder} is a file, not a folder")
    process.caches_inside(folder)
    seams = ctx.obj if isinstance(ctx.obj, options.Seams) else options.Seams()
    ctx.obj = options.Settings(folder, wait, verbose, options.clock(now), seams)


def _home(ctx: typer.Context) -> Home:
    from rnnforecast.storage.home import Home

    return Home(ctx.obj.home.expanduser(), ctx.obj.wait)


def _partial_failure(outcomes: list[TickerOutcome[Any]]) -> None:
    """When some of the tickers failed (each was named on stderr already): the exit code
    they share, or 7 when they differ (:func:`~rnnforecast.jobs.outcomes.failure_code`)."""
    from rnnforecast.jobs.outcomes import failure_code

    failed = [o.ticker for o in outcomes if o.failed]
    code = failure_code(outcomes)
    if failed and code is not None:
        raise PartialFailure(
            f"{len(failed)} of {len(outcomes)} tickers failed: {', '.join(failed)}", code
        )


@app.command()
def fetch(
    ctx: typer.Context,
    tickers: options.NewTickers = None,
    start: options.Start = None,
    end: options.End = None,
    csv: options.Csv = None,
    sample: options.Sample = False,
    auto_adjust: options.AutoAdjust = True,
    replace: options.Replace = False,
    retries: options.Retries = 3,
    timeout: options.Timeout = 10.0,
    concurrency: options.Concurrency = RateLimit.concurrency,
    per_second: options.PerSecond = RateLimit.per_second,
    calendar: options.Calendar = None,
    date_format: options.DateFormat = None,
    as_json: options.Json = False,
) -> None:
    """Store daily OHLCV bars from Yahoo Finance, a CSV file, or the bundled sample.

    Fetching again adds only new dates; a failed fetch changes nothing. Only bars whose
    session has closed on the exchange are stored. Several tickers are fetched at once.
    """
    from rnnforecast.data.sources import AmbiguousDatesError
    from rnnforecast.data.store import SourceChanged
    from rnnforecast.errors import DataError
    from rnnforecast.jobs import ingest

    source = ctx.obj.source(csv, sample, date_format, auto_adjust, retries, timeout)
    if (csv is not None or sample) and len(unique_tickers(tickers or [])) > 1:
        raise UsageError("--csv and --sample load one ticker at a time")
    if start and end and start > end:
        raise UsageError(f"--start {start.date()} is after --end {end.date()}")
    try:
        with watch.fetching(ctx.obj.verbose) as on_ticker:
            outcomes = ingest.fetch_each(
                _home(ctx),
                tickers or [],
                source,
                on_ticker=on_ticker,
                limit=RateLimit(concurrency, per_second),
                waits=ctx.obj.seams.retry_clock,
                start=start.date() if start else None,
                end=end.date() if end else None,
                replace=replace,
                calendar=calendar,
                clock=ctx.obj.clock,
            )
    except AmbiguousDatesError as exc:
        raise DataError(f"{exc}: give --date-format, e.g. %d/%m/%Y or %m/%d/%Y") from None
    except SourceChanged as exc:
        raise UsageError(
            f"{exc.ticker} is stored from {exc.stored}, not {exc.incoming}: use --replace to "
            "start it afresh"
        ) from None
    render.fetched(outcomes)
    if as_json:
        emit_json({"tickers": [render.outcome_dict(o) for o in outcomes]})
    else:
        render.fetched_table(outcomes)
    _partial_failure(outcomes)


@app.command()
def train(
    ctx: typer.Context,
    tickers: options.StoredTickers,
    config: options.ConfigFile = None,
    overrides: options.Overrides = None,
    epochs: options.Epochs = None,
    seed: options.Seed = None,
    workers: options.Workers = 1,
    executor: options.Executor = options.ExecutorName.local,
    address: options.Address = None,
    refit: options.Refit = True,
    global_model: options.GlobalModel = False,
    name: options.Name = None,
    quiet: options.Quiet = False,
    as_json: options.Json = False,
) -> None:
    """Train a network on the stored bars of each ticker and save it, with scalers and
    manifest, as that ticker's current model."""
    from rnnforecast.jobs import modelling

    tickers = unique_tickers(tickers)  # GOOG goog is one ticker, trained once
    group: str | bool = name if name is not None else global_model
    _check_train_options(tickers, group, workers, executor, address)
    cfg = _train_config(config, overrides, epochs, seed)
    in_process = workers == 1 and executor == "local"
    # Elsewhere no epoch bar: the fits' epochs are not seen here; the tickers sent instead.
    with watch.training(ctx.obj.verbose, quiet, cfg.train.epochs, in_process) as seen:
        done = modelling.train(
            _home(ctx),
            tickers,
            cfg,
            group=group,
            refit=refit,
            workers=workers,
            executor=executor.value,
            address=address,
            progress=seen.progress,
            on_done=render.job_done(quiet),
            on_ticker=seen.on_ticker,
        )
    _render_training(done, as_json)


def _check_train_options(
    tickers: list[str],
    group: str | bool,
    workers: int,
    executor: options.ExecutorName,
    address: str | None,
) -> None:
    """The combinations train refuses, before it reads a config or a bar."""
    if isinstance(group, str) and len(tickers) < 2:
        raise UsageError("--name names the group of a --global model of two or more tickers")
    if group is not False and workers != 1:
        raise UsageError("--global trains one network, in one process: drop --workers")
    _check_address(executor, address)


def _check_address(executor: options.ExecutorName, address: str | None) -> None:
    """--address without --executor ray, refused (train, run) before any config is read."""
    if address is not None and executor != "ray":
        raise UsageError("--address is for --executor ray")


def _train_config(
    config: Path | None, overrides: list[str] | None, epochs: int | None, seed: int | None
) -> Config:
    """The recipe of train: the config file (or the default), then --set, --epochs, --seed."""
    items = list(overrides or [])
    items += [f"train.epochs={epochs}"] if epochs is not None else []
    items += [f"train.seed={seed}"] if seed is not None else []
    return apply_overrides(load_config(config), items)


def _render_training(done: Training, as_json: bool) -> None:
    """A global model: its document or table. Per ticker, one JSON shape whatever the
    number of tickers, workers or executor: ``{"tickers": [entry, ...]}``; a sole ticker's
    table, or one row per ticker; exit code 7 when some failed (a sole ticker's failure
    was raised by the core)."""
    if done.group is not None:
        if as_json:
            emit_json(done.group.to_dict())
        else:
            render.trained_global(done.group)
            served.say_batches({"": done.group.to_dict()["batch_size"]})
        return
    jobs = done.tickers
    if as_json:
        emit_json({"tickers": [render.outcome_dict(j) for j in jobs]})
    elif len(jobs) == 1 and jobs[0].result is not None:
        render.trained(jobs[0].result)
    else:
        render.jobs_table(jobs)
    if not as_json:
        served.say_batches(
            {f"{j.ticker}: ": j.result.to_dict()["batch_size"] for j in jobs if j.result}
        )
    _partial_failure(jobs)


@app.command()
def evaluate(
    ctx: typer.Context,
    ticker: options.TrainedTicker,
    run: options.Run = None,
    folds: options.Folds = 0,
    plot: options.Plot = None,
    output: options.EvaluateOutput = None,
    quiet: options.Quiet = False,
    as_json: options.Json = False,
    replay: options.Replay = False,
    every: options.Every = None,
    start: options.ReplayFrom = None,
) -> None:
    """Score a saved model on its held-out test period next to the naive forecast
    (tomorrow = today) and the drift forecast, in price units; with --replay, what would
    have been served, refitted on the past only."""
    from rnnforecast import exports, plots
    from rnnforecast.jobs import modelling
    from rnnforecast.jobs.group_evaluation import GlobalEvaluation

    if replay or every is not None or start is not None:
        if not replay:
            raise UsageError("--every and --from go with --replay")
        if folds or output is not None:
            raise UsageError("--folds and --output do not go with --replay")
        from rnnforecast.cli import replay_view

        when, verbose = (every, start), ctx.obj.verbose
        with watch.training(verbose, quiet, total=None) as seen:
            replay_view.run(_home(ctx), ticker, run, when, plot, as_json, seen.progress, verbose)
        return
    if output is not None:
        exports.output_format(output)
    if plot is not None and not plots.is_png(plot):  # before a walk-forward of minutes
        raise UsageError(f"--plot writes a PNG file: {plot} does not end in .png")
    with watch.training(ctx.obj.verbose, quiet or not folds, total=None) as seen:
        try:
            result = modelling.evaluate(
                _home(ctx),
                ticker,
                run,
                folds=folds,
                plot=plot,
                own_model=output is not None,
                progress=seen.progress,
            )
        except OwnModelOnly:
            raise UsageError("--folds, --plot and --output score one ticker's own model") from None
    if isinstance(result, GlobalEvaluation):
        for warning in result.warnings:
            say(f"warning: {warning}")
        if as_json:
            emit_json(result.to_dict())
        else:
            render.group_evaluated(result)
        return
    if output is not None and result.days is not None:
        level = result.report.intervals.get("level")
        exports.write_table(
            output, exports.identified(result.days.columns(), result.ticker, result.run_id, level)
        )
        say(f"{len(result.days)} daily forecasts written to {output}")
    for warning in result.warnings:
        say(f"warning: {warning}")
    if as_json:
        emit_json(result.to_dict())
        return
    render.evaluated(result)
    if plot is not None:
        say(f"plot written to {plot}")


@app.command()
def predict(
    ctx: typer.Context,
    ticker: options.TrainedTicker,
    run: options.Run = None,
    horizon: options.Horizon = None,
    output: options.PredictOutput = None,
    plot: options.PredictPlot = None,
    as_json: options.Json = False,
) -> None:
    """Forecast the close of the next trading day(s) after the last stored bar, with a
    prediction interval and, up to 22 sessions ahead, the model's fan of quantiles."""
    forecast_view.run(_home(ctx), ticker, (run, horizon), (output, plot), as_json, ctx.obj.clock)


@app.command("run")
def run_job(
    ctx: typer.Context,
    config: options.RunConfigFile,
    workers: options.Workers = 1,
    executor: options.Executor = options.ExecutorName.local,
    address: options.Address = None,
    quiet: options.Quiet = False,
    as_json: options.Json = False,
) -> None:
    """The nightly job: for each ticker in the config, fetch new bars, train a challenger,
    and make it current only if it beats the current model on the newest held-out period.

    One ticker failing does not stop the others; the exit code is then 7.
    """
    _check_address(executor, address)
    recipe, plan = load_run_config(config, yahoo=ctx.obj.yahoo())

    from rnnforecast.jobs import nightly

    in_process = workers == 1 and executor == "local"
    # Elsewhere no epoch bar: the fits' epochs are not seen here; the tickers sent instead.
    with watch.training(ctx.obj.verbose, quiet, recipe.train.epochs, in_process) as seen:
        outcomes = nightly.run(
            _home(ctx),
            recipe,
            plan,
            progress=seen.progress,
            clock=ctx.obj.clock,
            on_ticker=seen.on_ticker,
            workers=workers,
            executor=executor.value,
            address=address,
            waits=ctx.obj.seams.retry_clock,
        )
    for outcome in outcomes:
        render.failure(outcome)
    if as_json:
        emit_json({"tickers": [render.outcome_dict(o) for o in outcomes]})
    else:
        render.run_outcomes(outcomes)
        served.say_batches({f"{o.ticker}: ": o.result.batch_size for o in outcomes if o.result})
    _partial_failure(outcomes)


@app.command()
def models(
    ctx: typer.Context,
    ticker: options.AnyTicker,
    promote: options.Promote = None,
    as_json: options.Json = False,
) -> None:
    """List the ticker's saved runs with their test scores, and which one is current."""
    from rnnforecast.jobs import listing

    if promote is not None:
        from rnnforecast.jobs import manage

        done = manage.promote(_home(ctx), ticker, promote)
        say(f"{done.ticker}: current model is now {done.run_id} (was {done.previous or 'none'})")
    runs = listing.list_runs(_home(ctx), ticker)
    if as_json:
        emit_json(runs)
        return
    render.runs_table(runs)


@app.command("tickers")
def list_tickers(ctx: typer.Context, as_json: options.Json = False) -> None:
    """List the stored tickers with their date range, row count and source."""
    from rnnforecast.jobs import manage

    rows = manage.tickers(_home(ctx))
    if as_json:
        emit_json({"tickers": rows})
        return
    render.tickers_table(rows)


@app.command()
def forget(
    ctx: typer.Context,
    ticker: options.AnyTicker,
    yes: options.Yes = False,
    as_json: options.Json = False,
) -> None:
    """Delete a ticker's stored bars and all its saved models; @GROUP: a global model."""
    from rnnforecast.jobs import manage

    if not yes:
        plan = manage.forget_plan(_home(ctx), ticker)
        raise UsageError(f"this would delete {plan.describe()}: add --yes to delete them")
    gone = manage.forget(_home(ctx), ticker)
    for warning in gone.warnings:
        say(f"warning: {warning}")
    if as_json:
        emit_json(gone.to_dict())
        return
    say(f"deleted {gone.describe()}")


def main(args: list[str] | None = None) -> int:
    """Run the command line on ``args`` (default: ``sys.argv[1:]``) and return its exit
    code. It never ends the process, so a notebook or another program may call it."""
    return exits.main(app, args)


def entry_point() -> None:
    """Console-script entry point (also ``python -m rnnforecast``): see
    :func:`rnnforecast.cli.exits.entry_point`."""
    exits.entry_point(app)
