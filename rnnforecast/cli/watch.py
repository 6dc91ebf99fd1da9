"""What a person sees on stderr while a command works: the ticker in hand ("ticker 3/12
AAPL"), "loading TensorFlow" until the first epoch ends, then a bar of epochs; for fetch, a
status of the ticker last begun and a count of those done (several are fetched at once).

Drawn whenever stderr is a terminal, whatever stdout is (it holds the data: a table, or the
one ``--json`` document, in a pipe or a file), and never with ``--quiet``. When stderr is not a
terminal nothing is drawn, so that a cron log stays clean; ``--verbose`` then writes plain
lines instead. The core is handed callbacks (:class:`Watch`) and never prints. Nothing heavy
is imported at start-up: rich loads inside the functions that draw.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rnnforecast.cli.output import say

if TYPE_CHECKING:
    from rnnforecast.jobs.outcomes import OnTicker, TickerTurn
    from rnnforecast.nn.keras_training import Progress

DOING = {"fetch": "fetching", "train": "training"}


@dataclass(frozen=True)
class Watch:
    """The callbacks a command hands the core: ``progress`` after each epoch, ``on_ticker``
    as each ticker's turn begins (None: nobody watches)."""

    progress: Progress | None = None
    on_ticker: OnTicker | None = None


def stderr_console() -> Any:
    """rich's console on stderr (whether it is a terminal: ``is_terminal``)."""
    from rich.console import Console

    return Console(stderr=True)


def turn_text(turn: TickerTurn) -> str:
    """``ticker 3/12 AAPL``, or ``AAPL`` when it is the only one."""
    if turn.total == 1:
        return turn.ticker
    return f"ticker {turn.index}/{turn.total} {turn.ticker}"


def _bar(console: Any, *extra: Any) -> Any:
    """A transient rich bar on ``console`` (stderr): a spinner, the task's description, then
    ``extra`` columns. stdout is left alone (a JSON document written while the bar is up
    must reach it, not stderr); stderr lines (``say``) print above the bar."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        *extra,
        console=console,
        transient=True,
        redirect_stdout=False,
    )


class _TrainingBar:
    """The bar of train, run and evaluate: the ticker in hand and what is being done to it,
    "loading TensorFlow" from the start until the first epoch ends if TensorFlow had not
    been imported yet, and the epochs with their losses."""

    def __init__(self, console: Any, total: int | None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

        self.loading = "tensorflow" not in sys.modules  # the CLI never imports it itself
        self.epochs = total
        self.turn: TickerTurn | None = None
        self.bar = _bar(
            console,
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("epochs  loss {task.fields[loss]}  val_loss {task.fields[val_loss]}"),
        )
        self.task = self.bar.add_task(self.describe(), total=total, loss="-", val_loss="-")

    def describe(self) -> str:
        step = "train" if self.turn is None else self.turn.step
        doing = "loading TensorFlow" if self.loading and step == "train" else DOING[step]
        return doing if self.turn is None else f"{turn_text(self.turn)}: {doing}"

    def on_ticker(self, turn: TickerTurn) -> None:
        if turn.done:  # the bar shows what is in hand
            return
        self.turn = turn
        total = None if turn.step == "fetch" else self.epochs
        self.bar.reset(self.task, total=total, description=self.describe(), loss="-", val_loss="-")
        self.bar.refresh()  # each ticker is drawn, however fast the one before went

    def progress(self, epoch: int, epochs: int, logs: dict[str, float]) -> None:
        if epoch == 1:
            self.loading, self.epochs = False, epochs
            self.bar.reset(self.task, total=epochs, description=self.describe())
        self.bar.update(
            self.task,
            completed=epoch,
            loss=f"{logs.get('loss', float('nan')):.3g}",
            val_loss=f"{logs.get('val_loss', float('nan')):.3g}",
        )


def _epoch_line(epoch: int, epochs: int, logs: dict[str, float]) -> None:
    say(
        f"epoch {epoch}/{epochs} loss {logs.get('loss', float('nan')):.6g} "
        f"val_loss {logs.get('val_loss', float('nan')):.6g}"
    )


def _turn_line(turn: TickerTurn) -> None:
    if not turn.done:  # a line as each ticker begins; the outcomes are told at the end
        say(f"{DOING[turn.step]} {turn_text(turn)}")


@contextmanager
def training(verbose: bool, quiet: bool, total: int | None, epochs: bool = True) -> Iterator[Watch]:
    """The callbacks of a command that trains (``total``: its epochs, if known): the bar
    when stderr is a terminal and not ``quiet``; plain lines on stderr with ``verbose``
    when it is not; else none. Without ``epochs`` (the fits run in workers, whose epochs
    are not seen here) the bar counts the tickers sent to them."""
    console = None if quiet else stderr_console()
    if console is None or not console.is_terminal:
        if verbose and not quiet:
            yield Watch(_epoch_line, _turn_line) if epochs else Watch(None, _sent_line)
        else:
            yield Watch()
        return
    if not epochs:
        with _counting(console, "sent to a worker") as on_ticker:
            yield Watch(None, on_ticker)
        return
    shown = _TrainingBar(console, total)
    with shown.bar:
        yield Watch(shown.progress, shown.on_ticker)


def _sent_line(turn: TickerTurn) -> None:
    if not turn.done:  # train's own line tells each ticker's outcome
        say(f"{turn_text(turn)}: sent to a worker")


@contextmanager
def fetching(verbose: bool) -> Iterator[OnTicker | None]:
    """The callback of fetch: a status of the ticker fetched last begun (and, with several,
    a bar of those done) when stderr is a terminal; a line as each ticker begins with
    ``verbose`` when it is not; else none."""
    console = stderr_console()
    if not console.is_terminal:
        yield _turn_line if verbose else None
        return
    with _counting(console, DOING["fetch"]) as on_ticker:
        yield on_ticker


@contextmanager
def _counting(console: Any, doing: str) -> Iterator[OnTicker]:
    """A bar of a step's tickers: the one last begun (``ticker 3/12 AAPL: doing``) and how
    many are done (2/12)."""
    from rich.progress import BarColumn, MofNCompleteColumn

    bar = _bar(console, BarColumn(), MofNCompleteColumn())
    with bar:
        task = bar.add_task(doing, total=None)
        done = 0

        def on_ticker(turn: TickerTurn) -> None:
            nonlocal done
            if turn.done:
                done += 1
                bar.update(task, total=turn.total, completed=done)
            else:
                text = f"{turn_text(turn)}: {doing}"
                bar.update(task, total=turn.total, completed=done, description=text)
            bar.refresh()

        yield on_ticker
