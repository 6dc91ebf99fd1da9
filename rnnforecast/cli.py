"""The command line: options -> config -> one pipeline call -> a table for people or JSON.

This is the only module that prints, exits or reads environment variables, and the one
place where errors become a line on stderr and an exit code (:class:`_App`). It imports
nothing heavy at start-up: pandas, TensorFlow and yfinance load inside the commands that
need them, so ``--help`` and ``fetch`` stay fast.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from rnnforecast import __version__
from rnnforecast.config import apply_overrides, load_config, load_run_config
from rnnforecast.errors import (
    EXIT_CODES,
    INTERRUPTED,
    OUTPUT_LOST,
    PartialFailure,
    UsageError,
)
from rnnforecast.tickers import unique_tickers

if TYPE_CHECKING:
    from rnnforecast.home import Home
    from rnnforecast.training import Progress

DEBUG_ENV = "RNNFORECAST_DEBUG"
HOME_ENV = "RNNFORECAST_HOME"

_EXIT_HELP = (
    "Exit codes: "
    + "; ".join(f"{code} {text.split(' (')[0]}" for code, text in EXIT_CODES.items())
    + "."
)


def _say(message: str) -> None:
    """One line for people, on stderr (if there is one: a closed stderr loses the line,
    not the exit code)."""
    try:
        sys.stderr.write(message.rstrip() + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass


_ERROR_KINDS: dict[int, str] = {
    1: "internal",
    2: "usage",
    3: "data",
    4: "model",
    5: "source",
    6: "lock",
    7: "partial",
    8: "environment",
    INTERRUPTED: "interrupted",
    OUTPUT_LOST: "output",
}


class _OutputLost(Exception):
    """Standard output cannot be written: closed, full, or its reader went away."""


class _GuardedStdout:
    """Standard output whose write failures become :class:`_OutputLost`, so the edge can
    tell them from a file the command failed to write."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except (OSError, ValueError, AttributeError) as exc:
            raise _OutputLost(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError, AttributeError) as exc:
            raise _OutputLost(exc) from None

    def isatty(self) -> bool:
        # A closed descriptor 1 leaves sys.stdout None: not a terminal, and the first write
        # then ends the command with 141 instead of failing here as a bug.
        try:
            return bool(self._stream.isatty())
        except (OSError, ValueError, AttributeError):
            return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _Run:
    """What the edge needs to know about the command running: whether it asked for JSON,
    and whether it has printed its JSON document already."""

    json = False
    json_written = False
    owns_process = False  # set by entry_point: the process is the CLI's, not a notebook's


def _wants_json(args: list[str]) -> bool:
    words = args[: args.index("--")] if "--" in args else args
    return "--json" in words


def _fail(code: int, message: str, prefix: str = "error") -> int:
    """One stderr line; with --json, also the error document on stdout (unless the command
    printed its own document already, so that stdout holds exactly one)."""
    _say(f"{prefix}: {message}")
    if _Run.json and not _Run.json_written:
        kind = _ERROR_KINDS.get(code, "internal")
        _emit_json({"error": {"code": code, "kind": kind, "message": message}})
    return code


class _App(TyperGroup):
    """Turns every failure into one stderr line and a documented exit code.

    Our errors carry their exit code; faults from outside (a read-only or full disk, a
    corrupt database, memory) are translated by :func:`rnnforecast.faults.translate`;
    usage errors (bad option, bad value) get 2; Ctrl-C 130; a lost standard output 141;
    anything else is a bug: exit 1, with the traceback only when RNNFORECAST_DEBUG=1.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except KeyboardInterrupt:  # typer versions differ here (Abort or a silent 130)
            raise typer.Exit(_fail(INTERRUPTED, "interrupted")) from None
        except _OutputLost:
            raise typer.Exit(OUTPUT_LOST) from None
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            from rnnforecast.faults import translate

            known = translate(exc)
            if known is not None:
                raise typer.Exit(_fail(known.exit_code, str(known))) from None
            if os.environ.get(DEBUG_ENV) == "1" or getattr(ctx.obj, "verbose", False):
                traceback.print_exc()
            message = f"{type(exc).__name__}: {exc} (a bug; set {DEBUG_ENV}=1 for the traceback)"
            raise typer.Exit(_fail(1, message, prefix="internal error")) from None

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        argv = args[0] if args else kwargs.get("args")
        _Run.json = _wants_json(list(argv) if argv is not None else sys.argv[1:])
        _Run.json_written = False
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except typer.TyperException as exc:  # click's usage errors: one line, not a panel
            command = getattr(getattr(exc, "ctx", None), "command_path", "rnnforecast")
            code = _fail(
                getattr(exc, "exit_code", 2), f"{exc.format_message()} (see '{command} --help')"
            )
        except typer.Abort as exc:
            if isinstance(exc.__cause__, KeyboardInterrupt):
                code = _fail(INTERRUPTED, "interrupted")
            else:
                _say("aborted")
                code = 1
        except _OutputLost:
            code = OUTPUT_LOST
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=_App,
    name="rnnforecast",
    help="Forecast daily stock prices with recurrent neural networks, next to the naive "
    "forecast. Fetch bars into a local store, train, evaluate, predict.",
    epilog=_EXIT_HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _default_home() -> Path:
    from rnnforecast.home import default_root

    return default_root()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rnnforecast {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    home: Annotated[
        str | None,
        typer.Option(
            "--home",
            envvar=HOME_ENV,
            metavar="DIR",
            help=f"Folder for the data store and models [env {HOME_ENV}; default: the "
            "platform's user data folder, e.g. ~/.local/share/rnnforecast].",
        ),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            min=0,
            max=86400,
            help="Seconds to wait for another rnnforecast process working on the same "
            "ticker before giving up with exit code 6.",
        ),
    ] = 60.0,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Per-epoch lines on stderr even when it is not a "
            "terminal, and tracebacks of internal errors.",
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            hidden=True,
            help="Act as if it were this instant (ISO 8601 with a UTC offset), to replay a "
            "past night or test the calendar rules.",
        ),
    ] = None,
) -> None:
    if home is not None and not home.strip():
        # An empty --home would silently mean the current folder.
        raise UsageError(f"--home (or {HOME_ENV}) is empty: name a folder")
    folder = Path(home) if home is not None else _default_home()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--home {folder} is a file, not a folder")
    if _Run.owns_process:
        _caches_inside(folder)
    ctx.obj = _Settings(folder, wait, verbose, _clock(now))


CACHE_FOLDERS = {"KERAS_HOME": "keras", "MPLCONFIGDIR": "matplotlib"}
"""Environment variables of the libraries that write to the user's home folder on import
(Keras: ~/.keras/keras.json; matplotlib: its font cache in ~/.cache/matplotlib), and their
folder under HOME/.cache."""


def _caches_inside(home: Path) -> None:
    """Point Keras's and matplotlib's folders inside the rnnforecast home, unless the user
    set the variables: then nothing is written outside the home. Both libraries read them
    once, on import, so this runs before any command imports them."""
    for name, sub in CACHE_FOLDERS.items():
        if not os.environ.get(name):
            os.environ[name] = str(home.expanduser().absolute() / ".cache" / sub)


def _clock(now: str | None) -> Callable[[], dt.datetime]:
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
class _Settings:
    home: Path
    wait: float
    verbose: bool
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)


def _home(ctx: typer.Context) -> Home:
    from rnnforecast.home import Home

    return Home(ctx.obj.home.expanduser())


def _emit_json(payload: Any) -> None:
    """Print one JSON document. A non-finite number becomes null, named in the document's
    ``warnings`` and in a warning line on stderr, so that strict parsers can read it."""
    from rnnforecast.jsonsafe import finite, warning_for

    payload, non_finite = finite(payload)
    if non_finite and isinstance(payload, dict):
        warning = warning_for(non_finite)
        payload["warnings"] = [*payload.get("warnings", []), warning]
        _say(f"warning: {warning}")
    text = json.dumps(payload, indent=2, allow_nan=False)
    _Run.json_written = True
    sys.stdout.write(text + "\n")


def _human() -> bool:
    return sys.stdout.isatty()


def _table(title: str, headers: list[str], rows: list[list[Any]]) -> None:
    """A rich table on a terminal; tab-separated lines (header first) otherwise."""
    if _human():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table()
        for i, header in enumerate(headers):
            table.add_column(header, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*(str(v) for v in row))
        console = Console()
        console.print(Text(title, style="bold"))
        console.print(table)
    else:
        _say(title)
        print("\t".join(headers))
        for row in rows:
            print("\t".join(str(v) for v in row))


def _shrink_text(calibration: dict[str, Any]) -> str:
    """'shrink 0.00 (calibration edge over naive: p = 0.35)', a value per step."""
    text = "shrink " + ", ".join(f"{s:.2f}" for s in calibration["shrink"])
    p_values = calibration.get("shrink_p_value", [])
    if any(p is not None for p in p_values):
        shown = ", ".join("-" if p is None else f"{p:.2f}" for p in p_values)
        text += f" (calibration edge over naive: p = {shown})"
    return text


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
RunOption = Annotated[
    str | None, typer.Option("--run", help="Run id of the model (default: the current one).")
]


@app.command()
def fetch(
    ctx: typer.Context,
    tickers: Annotated[
        list[str] | None, typer.Argument(help="Ticker symbols, e.g. AAPL MSFT ^GSPC.")
    ] = None,
    start: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First day (YYYY-MM-DD).")
    ] = None,
    end: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Last day, inclusive (YYYY-MM-DD)."),
    ] = None,
    csv: Annotated[
        Path | None,
        typer.Option("--csv", help="Import one ticker from a local CSV file instead of Yahoo."),
    ] = None,
    sample: Annotated[
        bool, typer.Option("--sample", help="Load the bundled GOOG sample (2004-2013).")
    ] = False,
    auto_adjust: Annotated[
        bool,
        typer.Option(help="Yahoo: prices adjusted for splits and dividends (recorded)."),
    ] = True,
    replace: Annotated[
        bool, typer.Option("--replace", help="Delete the ticker's stored bars first.")
    ] = False,
    retries: Annotated[
        int,
        typer.Option(
            min=0,
            max=10,
            help="Yahoo: retries after a network error or rate limit (backoff 1, 2, 4 s...).",
        ),
    ] = 3,
    timeout: Annotated[
        float,
        typer.Option(
            min=1,
            max=300,
            help="Yahoo: seconds for each attempt, all of its requests included. The whole "
            "fetch of a ticker ends within (retries+1)*(timeout+0.25) + backoffs + 10 s.",
        ),
    ] = 10.0,
    calendar: Annotated[
        str | None,
        typer.Option(
            "--calendar",
            help="Exchange calendar of the ticker(s), e.g. XNYS, XLON, XETR, XTSE, XTKS, "
            "24/7 (recorded; default: the stored one, else the one the source reports, "
            "else XNYS). Sets which days are forecast and when a bar is complete.",
        ),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(
            "--date-format",
            help="CSV: the dates' strftime format, e.g. %d/%m/%Y (default: inferred; "
            "needed when dates read month-first and day-first alike).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Store daily OHLCV bars from Yahoo Finance, a CSV file, or the bundled sample.

    Fetching again adds only new dates; a failed fetch changes nothing. Only bars whose
    session has closed on the exchange are stored.
    """
    from rnnforecast import pipeline
    from rnnforecast.errors import DataError
    from rnnforecast.sources import AmbiguousDatesError

    try:
        outcomes = pipeline.fetch_each(
            _home(ctx),
            tickers or [],
            csv=csv,
            sample=sample,
            start=start.date() if start else None,
            end=end.date() if end else None,
            auto_adjust=auto_adjust,
            replace=replace,
            retries=retries,
            timeout=timeout,
            calendar=calendar,
            date_format=date_format,
            clock=ctx.obj.clock,
            lock_timeout=ctx.obj.wait,
        )
    except AmbiguousDatesError as exc:
        raise DataError(f"{exc}: give --date-format, e.g. %d/%m/%Y or %m/%d/%Y") from None
    results = [o.stored for o in outcomes if o.stored is not None]
    failed = [o for o in outcomes if o.error is not None]
    for r in results:
        # A few off-calendar bars are holidays a source filled in; a tenth (weekends) is
        # a series that trades on another calendar.
        if r.off_calendar and r.off_calendar >= 0.1 * max(r.added, 1):
            _say(
                f"warning: {r.ticker}: {r.off_calendar} bars fall on days {r.calendar} does "
                "not trade: if the series trades then, choose its calendar with --calendar "
                "(e.g. --calendar 24/7)"
            )
        if r.changed:
            _say(
                f"warning: {r.ticker}: {r.changed} stored rows differ from the source now "
                "(adjusted for a split or dividend?); kept as stored, --replace refreshes them"
            )
    for o in failed:
        assert o.error is not None
        _say(f"{o.ticker}: failed (exit code {o.error['code']}): {o.error['message']}")
    if as_json:
        _emit_json({"tickers": [o.to_dict() for o in outcomes]})
    else:
        _table(
            "Stored bars",
            ["ticker", "rows", "first", "last", "added", "source", "calendar"],
            [[r.ticker, r.rows, r.first, r.last, r.added, r.source, r.calendar] for r in results],
        )
    if failed:
        raise PartialFailure(
            f"{len(failed)} of {len(outcomes)} tickers failed: "
            + ", ".join(o.ticker for o in failed)
        )


@contextmanager
def _training_progress(
    ctx: typer.Context, quiet: bool, total: int | None
) -> Iterator[Progress | None]:
    """A per-epoch progress bar on stderr when a person watches (stdout and stderr are
    terminals, no --quiet); plain per-epoch lines on stderr with --verbose when nobody
    does; else no callback."""
    from rich.console import Console

    console = Console(stderr=True)
    if quiet or not (console.is_terminal and sys.stdout.isatty()):
        if quiet or not ctx.obj.verbose:
            yield None
            return

        def lines(epoch: int, epochs: int, logs: dict[str, float]) -> None:
            _say(
                f"epoch {epoch}/{epochs} loss {logs.get('loss', float('nan')):.6g} "
                f"val_loss {logs.get('val_loss', float('nan')):.6g}"
            )

        yield lines
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("training"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("epochs  loss {task.fields[loss]}  val_loss {task.fields[val_loss]}"),
        console=console,
        transient=True,
    )
    with bar:
        task = bar.add_task("train", total=total, loss="-", val_loss="-")

        def progress(epoch: int, epochs: int, logs: dict[str, float]) -> None:
            if epoch == 1:
                bar.reset(task, total=epochs, loss="-", val_loss="-")
            bar.update(
                task,
                completed=epoch,
                loss=f"{logs.get('loss', float('nan')):.3g}",
                val_loss=f"{logs.get('val_loss', float('nan')):.3g}",
            )

        yield progress


@app.command()
def train(
    ctx: typer.Context,
    tickers: Annotated[list[str], typer.Argument(help="Ticker symbols with stored bars.")],
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML config (default: built-in default).")
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config key, e.g. --set model.units=64."),
    ] = None,
    epochs: Annotated[
        int | None, typer.Option(min=1, help="Maximum epochs (train.epochs).")
    ] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Random seed (train.seed).")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=256,
            help="Train this many tickers at once, in separate "
            "processes (each with its share of the cores).",
        ),
    ] = 1,
    executor: Annotated[
        str, typer.Option(help="local (processes on this machine) or ray (a Ray cluster).")
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster address, e.g. ray://head:10001 (default: start a local Ray instance)."
        ),
    ] = None,
    refit: Annotated[
        bool,
        typer.Option(
            help="After scoring on the held-out test period, fit the recipe again on every "
            "bar and serve that (--no-refit: serve the scored fit).",
        ),
    ] = True,
    global_model: Annotated[
        bool,
        typer.Option(
            "--global",
            help="Train ONE network on the windows of all the tickers (split on shared "
            "dates) and serve it for each of them.",
        ),
    ] = False,
    name: Annotated[
        str | None,
        typer.Option(
            help="With --global: the group name its bundle is saved under, as @NAME "
            "(default: the sorted tickers joined by '+')."
        ),
    ] = None,
    quiet: QuietOption = False,
    as_json: JsonOption = False,
) -> None:
    """Train a network on the stored bars of each ticker and save it, with scalers and
    manifest, as that ticker's current model."""
    items = list(overrides or [])
    items += [f"train.epochs={epochs}"] if epochs is not None else []
    items += [f"train.seed={seed}"] if seed is not None else []
    cfg = apply_overrides(load_config(config), items)
    tickers = unique_tickers(tickers)  # GOOG goog is one ticker, trained once

    if global_model or name is not None:
        _train_global(ctx, tickers, cfg, name, refit, quiet, as_json, workers, executor)
        return

    if len(tickers) == 1 and workers == 1 and executor == "local" and address is None:
        from rnnforecast import pipeline

        with _training_progress(ctx, quiet, cfg.train.epochs) as progress:
            result = pipeline.train(
                _home(ctx),
                tickers[0],
                cfg,
                progress=progress,
                lock_timeout=ctx.obj.wait,
                refit=refit,
            )
        if as_json:
            _emit_json(result.to_dict())
            return
        _say(
            f"trained {result.ticker} run {result.run_id}: {result.history['epochs_run']} "
            f"epochs (best {result.history['best_epoch']}) in "
            f"{result.history['seconds']:.1f}s; {_shrink_text(result.calibration)}; "
            f"saved to {result.path}"
        )
        served = result.serving
        _say(
            f"serving {'a refit on every bar' if served['refit'] else 'the scored fit'}: "
            f"trained through {served['trained_through']}, calibrated through "
            f"{served['calibrated_through']}; the scores below are the scored fit's"
        )
        _scores_table(result.ticker, result.test, result.report)
        return

    from rnnforecast import executors

    def done(job: executors.JobResult) -> None:
        if job.error:
            _say(f"{job.ticker}: failed (exit code {job.error['code']}): {job.error['message']}")
        elif not quiet:
            _say(f"{job.ticker}: trained run {job.result['run_id']}")

    jobs = executors.train_many(
        _home(ctx).root,
        tickers,
        cfg,
        workers=workers,
        executor=executor,
        address=address,
        lock_timeout=ctx.obj.wait,
        on_done=done,
        refit=refit,
    )
    if as_json:
        _emit_json({"tickers": [j.result or {"ticker": j.ticker, "error": j.error} for j in jobs]})
    else:
        _table(
            f"trained {sum(1 for j in jobs if j.result)} of {len(jobs)} tickers",
            ["ticker", "run", "rel_mae", "beats naive", "error"],
            [
                [
                    j.ticker,
                    j.result["run_id"] if j.result else "-",
                    _fmt(j.result["model"]["rel_mae"]) if j.result else "-",
                    ("yes" if j.result["beats_naive"] else "no") if j.result else "-",
                    j.error["message"] if j.error else "",
                ]
                for j in jobs
            ],
        )
    failed = [j.ticker for j in jobs if j.error]
    if failed:
        raise PartialFailure(f"{len(failed)} of {len(jobs)} tickers failed: {', '.join(failed)}")


def _train_global(
    ctx: typer.Context,
    tickers: list[str],
    cfg: Any,
    name: str | None,
    refit: bool,
    quiet: bool,
    as_json: bool,
    workers: int,
    executor: str,
) -> None:
    """train --global: one network for every ticker, then its scores per member."""
    from rnnforecast import pooling

    if name is not None and len(tickers) < 2:
        raise UsageError("--name names the group of a --global model of two or more tickers")
    if workers != 1 or executor != "local":
        raise UsageError("--global trains one network in this process: drop --workers/--executor")
    with _training_progress(ctx, quiet, cfg.train.epochs) as progress:
        result = pooling.train_global(
            _home(ctx),
            tickers,
            cfg,
            name=name,
            progress=progress,
            lock_timeout=ctx.obj.wait,
            refit=refit,
        )
    if as_json:
        _emit_json(result.to_dict())
        return
    _say(
        f"trained global model {result.group} run {result.run_id} on "
        f"{', '.join(result.members)}: {result.history['epochs_run']} epochs (best "
        f"{result.history['best_epoch']}); saved to {result.path}"
    )
    _group_table(result.group, result.members, result.pool)


def _group_table(group: str, members: dict[str, Any], pool: dict[str, Any]) -> None:
    """One row per member and one for the pool, for people."""
    rows = [
        [
            who,
            s["test"]["start"],
            s["test"]["end"],
            s["n"],
            _fmt(s["model"]["rel_mae"]),
            _fmt(s["uncalibrated"]["rel_mae"]),
            _fmt(s["intervals"]["coverage"]),
            "yes" if s["beats_naive"] else "no",
        ]
        for who, s in [*members.items(), ("pool", pool)]
    ]
    _table(
        f"global model {group}: test scores of the scored fit",
        ["ticker", "test start", "test end", "n", "rel_mae", "uncal rel_mae", "coverage", "beats"],
        rows,
    )


def _scores_table(ticker: str, test: dict[str, Any], rep: Any) -> None:
    """Model next to the naive and drift forecasts, plus the diagnostics, for people."""
    m, n, d = rep.scores.model, rep.scores.naive, rep.drift
    verdict = "model beats naive" if rep.beats_naive else "model does NOT beat naive"
    p_value = rep.significance["p_value"]
    if p_value is not None:
        verdict += f" (Diebold-Mariano p = {p_value:.2f}"
        verdict += ", not significant)" if p_value >= 0.05 else ")"
    lag = rep.lag
    _table(
        f"{ticker} test {test['start']} to {test['end']} ({test['n']} windows, horizon "
        f"{rep.horizon}): MAE / naive MAE {m['rel_mae']:.3f}, {verdict}",
        ["metric", "model", "naive", "drift"],
        [
            ["rmse", _fmt(m["rmse"]), _fmt(n["rmse"]), _fmt(d["rmse"])],
            ["mae", _fmt(m["mae"]), _fmt(n["mae"]), _fmt(d["mae"])],
            ["mape_%", _fmt(m["mape"]), _fmt(n["mape"]), _fmt(d["mape"])],
            ["rel_mae", _fmt(m["rel_mae"]), _fmt(1.0), _fmt(d["rel_mae"])],
            ["mase", _fmt(m["mase"]), _fmt(n["mase"]), _fmt(d["mase"])],
            [
                f"directional_accuracy ({m['n_no_move']} no-move left out)",
                _fmt(m["directional_accuracy"]),
                "-",
                f"always up: {rep.up_share:.4f}",
            ],
            ["uncalibrated_rel_mae", _fmt(rep.raw["rel_mae"]), "-", "-"],
            [
                f"interval_coverage ({rep.intervals['level']:.0%})",
                _fmt(rep.intervals["coverage"]),
                "-",
                "-",
            ],
        ],
    )
    if lag["lagging"] is not None:
        _say(
            f"lag check: forecast changes correlate {lag['corr_with_actual_change']:+.2f} with "
            f"the same day's price change, {lag['corr_with_previous_change']:+.2f} with the "
            f"previous day's" + (" (the forecast trails the price)" if lag["lagging"] else "")
        )


@app.command()
def evaluate(
    ctx: typer.Context,
    ticker: Annotated[str, typer.Argument(help="Ticker symbol with a trained model.")],
    run: RunOption = None,
    folds: Annotated[
        int,
        typer.Option(
            min=0,
            max=50,
            help="Walk-forward backtest: re-train on expanding "
            "windows and test on this many consecutive periods (slow: one training "
            "per fold).",
        ),
    ] = 0,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot", help="Draw actual vs forecast vs naive and the loss curves to this PNG file."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the per-day test-period forecasts (date, actual, naive, point, low, "
            "high, raw; fold with --folds) to this .csv or .parquet file.",
        ),
    ] = None,
    quiet: QuietOption = False,
    as_json: JsonOption = False,
) -> None:
    """Score a saved model on its held-out test period next to the naive forecast
    (tomorrow = today) and the drift forecast, in price units."""
    from rnnforecast import exports, pipeline

    if output is not None:
        exports.output_format(output)
    from rnnforecast import pooling

    if pooling.serves_group(_home(ctx), ticker, run):
        if folds or plot is not None or output is not None:
            raise UsageError("--folds, --plot and --output score one ticker's own model")
        group_result = pooling.evaluate(_home(ctx), ticker, run)
        for warning in group_result.warnings:
            _say(f"warning: {warning}")
        if as_json:
            _emit_json(group_result.to_dict())
        else:
            _group_table(group_result.group, group_result.members, group_result.pool)
        return
    with _training_progress(ctx, quiet or not folds, total=None) as progress:
        result = pipeline.evaluate(
            _home(ctx), ticker, run, folds=folds, progress=progress, plot=plot
        )
    if output is not None and result.days is not None:
        exports.write_table(output, result.days.columns())
        _say(f"{len(result.days)} daily forecasts written to {output}")
    for warning in result.warnings:
        _say(f"warning: {warning}")
    if as_json:
        _emit_json(result.to_dict())
        return
    _say(
        f"{result.ticker} run {result.run_id}: scored fit, trained through "
        f"{result.fit.get('trained_through')}"
    )
    _scores_table(result.ticker, result.test, result.report)
    if result.risk is not None:
        _risk_table(result.risk.to_dict())
    if result.folds:
        agg = result.to_dict()["aggregate"]
        _table(
            f"walk-forward: {len(result.folds)} folds, model beats naive in "
            f"{agg['beats_naive']}; MAE / naive MAE geometric mean "
            f"{_fmt(agg['model']['rel_mae']['geometric_mean'], 3)}",
            ["fold", "test start", "test end", "n", "model mae", "naive mae", "rel_mae", "shrink"],
            [
                [
                    i + 1,
                    f["test"]["start"],
                    f["test"]["end"],
                    f["test"]["n"],
                    _fmt(f["model"]["mae"]),
                    _fmt(f["naive"]["mae"]),
                    _fmt(f["model"]["rel_mae"]),
                    ",".join(f"{s:.2f}" for s in f["shrink"]),
                ]
                for i, f in enumerate(result.folds)
            ],
        )
    if plot is not None:
        _say(f"plot written to {plot}")


def _risk_table(risk: dict[str, Any]) -> None:
    """The model's one-step intervals and distribution next to the volatility baselines."""
    columns = ["interval_score_80", "coverage_80", "interval_score_95", "coverage_95"]
    columns += ["qlike", "pinball"]
    entries = [(f"model ({risk['served_intervals']})", risk["model"])]
    entries += list(risk["baselines"].items())
    best, dm = risk["best_baseline"], risk["dm"]
    title = "one-step intervals next to the volatility baselines (price units; QLIKE unitless)"
    if best is not None:
        verdict = "beats" if risk["beats_best_baseline"] else "does NOT beat"
        title += f": model {verdict} the best baseline {best} on IS80"
        if dm["p_value"] is not None:
            title += f" (one-sided Diebold-Mariano p = {dm['p_value']:.2f})"
    _table(
        title,
        ["forecast", "IS80", "cov80", "IS95", "cov95", "QLIKE", "pinball"],
        [
            [name, *("-" if e is None or e[c] is None else _fmt(e[c]) for c in columns)]
            for name, e in entries
        ],
    )


@app.command()
def predict(
    ctx: typer.Context,
    ticker: Annotated[str, typer.Argument(help="Ticker symbol with a trained model.")],
    run: RunOption = None,
    horizon: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Trading days to forecast (default: the model's horizon; "
            "more only for a recursive model).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Also write the forecasts (date, close, low, high) to this .csv or .parquet file.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Forecast the close of the next trading day(s) after the last stored bar, with a
    prediction interval."""
    from rnnforecast import exports, serving

    if output is not None:
        exports.output_format(output)
    result = serving.predict(_home(ctx), ticker, run, horizon, clock=ctx.obj.clock)
    # The core's notices name no command; the hint to cure them is the CLI's to give.
    warnings = [f"{n.message}; run `rnnforecast fetch {result.ticker}`" for n in result.notices]
    for warning in warnings:
        _say(f"warning: {warning}")
    if output is not None:
        exports.write_table(output, exports.forecast_columns(result.forecasts))
        _say(f"{len(result.forecasts)} forecasts written to {output}")
    if as_json:
        _emit_json({**result.to_dict(), "warnings": warnings})
        return
    _say(
        f"{result.ticker} run {result.run_id}; last close {result.last_close:.2f} on {result.as_of}"
    )
    _table(
        f"{result.ticker} forecast ({result.level:.0%} interval)",
        ["date", "close", "low", "high"],
        [
            [f["date"], f"{f['close']:.2f}", f"{f['low']:.2f}", f"{f['high']:.2f}"]
            for f in result.forecasts
        ],
    )


@app.command("run")
def run_job(
    ctx: typer.Context,
    config: Annotated[
        Path, typer.Option("--config", help="TOML config with a [run] table naming the tickers.")
    ],
    quiet: QuietOption = False,
    as_json: JsonOption = False,
) -> None:
    """The nightly job: for each ticker in the config, fetch new bars, train a challenger,
    and make it current only if it beats the current model on the newest held-out period.

    One ticker failing does not stop the others; the exit code is then 7.
    """
    recipe, plan = load_run_config(config)

    from rnnforecast import pipeline

    with _training_progress(ctx, quiet, recipe.train.epochs) as progress:
        outcomes = pipeline.run(
            _home(ctx),
            recipe,
            plan,
            progress=progress,
            lock_timeout=ctx.obj.wait,
            clock=ctx.obj.clock,
        )
    failed = [o for o in outcomes if o.error]
    for outcome in failed:
        _say(
            f"{outcome.ticker}: failed (exit code {outcome.error['code']}): "
            f"{outcome.error['message']}"
        )
    if as_json:
        _emit_json({"tickers": [o.to_dict() for o in outcomes]})
    else:
        _table(
            f"run: {len(outcomes) - len(failed)} of {len(outcomes)} tickers went through",
            ["ticker", "added", "run", "rel_mae", "beats naive", "promoted", "reason"],
            [
                [
                    o.ticker,
                    "-" if o.rows_added is None else o.rows_added,
                    o.run_id or "-",
                    _fmt(o.metrics["model"]["rel_mae"]) if o.metrics else "-",
                    "-" if o.beats_naive is None else ("yes" if o.beats_naive else "no"),
                    "yes" if o.promoted else "no",
                    o.reason or (o.error["message"] if o.error else ""),
                ]
                for o in outcomes
            ],
        )
    if failed:
        raise PartialFailure(
            f"{len(failed)} of {len(outcomes)} tickers failed: "
            + ", ".join(o.ticker for o in failed)
        )


@app.command()
def models(
    ctx: typer.Context,
    ticker: Annotated[str, typer.Argument(help="Ticker symbol.")],
    promote: Annotated[
        str | None,
        typer.Option(
            "--promote",
            metavar="RUN_ID",
            help="First make this saved run the current model (roll back or forward); "
            "it must load and verify.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the ticker's saved runs with their test scores, and which one is current."""
    from rnnforecast import pipeline

    if promote is not None:
        from rnnforecast import manage

        done = manage.promote(_home(ctx), ticker, promote, lock_timeout=ctx.obj.wait)
        _say(f"{done.ticker}: current model is now {done.run_id} (was {done.previous or 'none'})")
    listing = pipeline.models(_home(ctx), ticker)
    if as_json:
        _emit_json(listing)
        return
    _table(
        f"{listing['ticker']}: {len(listing['runs'])} runs, current {listing['current'] or 'none'}",
        ["run", "current", "created", "recipe", "test", "rel_mae", "beats naive"],
        [
            [
                r["run_id"],
                "*" if r["current"] else "",
                r.get("created_at", "-"),
                (
                    "{cell} {target}/{normalise} w{window} h{horizon}".format(**r["recipe"])
                    if "recipe" in r
                    else f"error: {r['error']}"
                ),
                f"{r['test']['start']}..{r['test']['end']}" if "test" in r else "-",
                _fmt(r["model"]["rel_mae"]) if r.get("model") else "-",
                "-" if r.get("beats_naive") is None else ("yes" if r["beats_naive"] else "no"),
            ]
            for r in listing["runs"]
        ],
    )


@app.command("tickers")
def list_tickers(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the stored tickers with their date range, row count and source."""
    from rnnforecast import manage

    rows = manage.tickers(_home(ctx))
    if as_json:
        _emit_json({"tickers": rows})
        return
    columns = ["ticker", "rows", "first", "last", "source", "calendar"]
    _table(f"{len(rows)} stored tickers", columns, [[r[c] for c in columns] for r in rows])


@app.command()
def forget(
    ctx: typer.Context,
    ticker: Annotated[str, typer.Argument(help="Ticker symbol.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Really delete (without it: say what would go).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Delete a ticker's stored bars and all its saved models."""
    from rnnforecast import manage

    if not yes:
        plan = manage.forget_plan(_home(ctx), ticker)
        raise UsageError(f"this would delete {plan.describe()}: add --yes to delete them")
    gone = manage.forget(_home(ctx), ticker, lock_timeout=ctx.obj.wait)
    if as_json:
        _emit_json(gone.to_dict())
        return
    _say(f"deleted {gone.describe()}")


def _quiet_native_stderr() -> None:
    """Send file descriptor 2 to /dev/null, keeping Python's ``sys.stderr`` on the real one.

    TensorFlow's C++ runtime and absl write start-up notices straight to descriptor 2,
    past any Python setting; our own lines go through ``sys.stderr``, which keeps writing
    to a duplicate of the original descriptor. Child processes inherit the quiet one.
    """
    try:
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:  # no stderr at all: nothing to quieten
        return
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    sys.stderr = open(
        saved, "w", buffering=1, encoding=encoding, errors="backslashreplace", closefd=False
    )
    os.dup2(devnull, 2)
    os.close(devnull)


def main(args: list[str] | None = None) -> int:
    """Run the command line on ``args`` (default: ``sys.argv[1:]``) and return its exit
    code. It never ends the process, so a notebook or another program may call it."""
    code = typer.main.get_command(app).main(
        args=args, prog_name="rnnforecast", standalone_mode=False
    )
    return code if isinstance(code, int) else 0


def entry_point() -> None:
    """Console-script entry point (also ``python -m rnnforecast``): :func:`main`, then end.

    Sets up the process it owns once: TensorFlow's logging level and its native stderr
    silenced unless ``--verbose`` (or RNNFORECAST_DEBUG=1), standard output guarded so that
    a closed or full one ends with exit 141, Keras's and matplotlib's folders inside the
    home (:data:`CACHE_FOLDERS`, unless set). Once the command has returned and its output is
    flushed, the process ends at once with ``os._exit``: by then every file, database
    connection and worker pool is closed, and the interpreter's orderly teardown of numpy
    and pandas would add 0.1 to 0.25 s to every short command such as ``predict``.
    :func:`main` does none of this and returns.
    """
    _Run.owns_process = True
    argv = sys.argv[1:]
    loud = os.environ.get(DEBUG_ENV) == "1" or any(a in ("--verbose", "-v") for a in argv)
    if not loud:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        _quiet_native_stderr()
    sys.stdout = _GuardedStdout(sys.stdout)  # type: ignore[assignment]
    code = main()
    try:
        sys.stdout.flush()
    except _OutputLost:  # the reader went away, or the disk is full: nothing more to say
        code = OUTPUT_LOST
    try:
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass
    os._exit(code)
