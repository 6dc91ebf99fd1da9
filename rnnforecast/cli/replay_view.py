"""``evaluate --replay``: the one call into the replay job, and how a replay looks (its
refit dates, then the scores of the served choice, the network alone and each baseline on
the same days)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnforecast.cli.fan_view import fan_tables
from rnnforecast.cli.output import emit_json, say
from rnnforecast.cli.tables import fmt, table
from rnnforecast.errors import UsageError

if TYPE_CHECKING:
    from rnnforecast.jobs.replay import Refit, Replay
    from rnnforecast.nn.keras_training import Progress
    from rnnforecast.storage.home import Home


def run(
    home: Home,
    ticker: str,
    run: str | None,
    when: tuple[int | None, dt.datetime | None],
    plot: Path | None,
    as_json: bool,
    progress: Progress | None,
    verbose: bool = False,
) -> None:
    """evaluate --replay: replay ``ticker`` (``when``: ``--every`` and ``--from``), then
    write its plot and print its JSON or tables; with ``verbose`` a line on stderr after
    each refit date (a replay takes minutes)."""
    from rnnforecast import plots
    from rnnforecast.jobs import replay

    if plot is not None and not plots.is_png(plot):  # before minutes of refits
        raise UsageError(f"--plot writes a PNG file: {plot} does not end in .png")
    every, start = when
    result = replay.replay(
        home,
        ticker,
        every=every or replay.DEFAULT_EVERY,
        start=None if start is None else start.date(),
        run_id=run,
        progress=progress,
        on_refit=refit_line if verbose else None,
    )
    if plot is not None:
        plots.save_png(replay.figure(result), plot)
        say(f"plot written to {plot}")
    if as_json:
        emit_json(result.to_dict())
    else:
        replayed(result)


def refit_line(refit: Refit) -> None:
    """--verbose: what one refit date chose, on stderr."""
    say(
        f"refit trained through {refit.trained_through}: serves {refit.serves_from} to "
        f"{refit.serves_to} with {refit.fan or refit.interval_method} ({refit.seconds:.1f} s)"
    )


def replayed(result: Replay) -> None:
    """evaluate --replay: one row per refit date, one row per forecaster at horizon 1, and
    the Diebold-Mariano line."""
    warm = "warm-started" if result.warm else "from scratch"
    say(
        f"{result.ticker}: replay of run {result.run_id}'s recipe, refitted every "
        f"{result.every} sessions ({warm}), {result.seconds:.0f} s"
    )
    table(
        f"refits: {len(result.refits)}",
        ["trained through", "serves from", "serves to", "intervals", "shrink", "seconds"],
        [
            [
                r.trained_through,
                r.serves_from,
                r.serves_to,
                r.fan or r.interval_method,
                ",".join(f"{s:.2f}" for s in r.shrink),
                f"{r.seconds:.1f}",
            ]
            for r in result.refits
        ],
    )
    scores = result.horizon_scores(1)
    days = scores["days"]
    span = f"{days['start']} to {days['end']}"
    fan_tables(result.fans, f"replayed from {span}")
    rows = [_row("point + one-day record", scores["served"]), _row("network", scores["network"])]
    rows += [_row(k, v) for k, v in scores["baselines"].items() if v is not None]
    share = ", ".join(f"{k} {v:.0%}" for k, v in scores["share"].items())
    table(
        f"one day ahead: the point, and the one-day intervals (served without a fan), {span} "
        f"({days['n']} days); records: {share}",
        ["forecaster", "IS 80%", "IS 95%", "cov 80%", "kupiec p", "cc p", "rel_mae", "n"],
        rows,
    )
    dm = scores["dm"]
    say(
        f"one-day record vs best baseline ({dm['against']}): one-sided DM p {fmt(dm['p_value'], 3)}"
    )


def _row(name: str, s: dict[str, Any]) -> list[Any]:
    return [
        name,
        fmt(s["interval_score_80"]),
        fmt(s["interval_score_95"]),
        fmt(s["coverage_80"], 3),
        fmt(s["kupiec_p"], 3),
        fmt(s["christoffersen_cc_p"], 3),
        fmt(s["rel_mae"]),
        s["n"],
    ]
