"""How the CLI shows results: a rich table on a terminal, tab-separated lines in a pipe,
one line per notice on stderr.

The commands in :mod:`rnnforecast.cli.commands` call the core once and hand the result to one
function here. Only the CLI imports this module; it may name options (a hint belongs to the CLI).
Nothing heavy is imported at start-up: rich loads inside the functions that draw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rnnforecast.cli.exits import hinted
from rnnforecast.cli.fan_view import fan_tables
from rnnforecast.cli.output import say
from rnnforecast.cli.served import (
    network_column,
    network_line,
    served_words,
    shrink_text,
    used_dict,
)
from rnnforecast.cli.tables import fmt, table

if TYPE_CHECKING:
    from rnnforecast.data.store import StoreResult
    from rnnforecast.jobs.evaluation import EvaluationResult
    from rnnforecast.jobs.group_evaluation import GlobalEvaluation
    from rnnforecast.jobs.nightly import RunOutcome
    from rnnforecast.jobs.outcomes import Failure, TickerOutcome
    from rnnforecast.training.global_model import GlobalTrainResult
    from rnnforecast.training.per_ticker import TrainResult


def group_table(group: str, members: dict[str, Any], pool: dict[str, Any]) -> None:
    """One row per member and one for the pool, for people."""
    rows = [
        [
            who,
            s["test"]["start"],
            s["test"]["end"],
            s["n"],
            fmt(s["model"]["rel_mae"]),
            fmt(s["uncalibrated"]["rel_mae"]),
            fmt(s["intervals"]["coverage"]),
            "yes" if s["beats_naive"] else "no",
        ]
        for who, s in [*members.items(), ("pool", pool)]
    ]
    table(
        f"global model {group}: test scores of the scored fit",
        ["ticker", "test start", "test end", "n", "rel_mae", "uncal rel_mae", "coverage", "beats"],
        rows,
    )


def group_evaluated(result: GlobalEvaluation) -> None:
    """evaluate of a global model: the scores per member and for the pool, then each
    member's risk table (its served row marked) and the pooled one."""
    group_table(result.group, result.members, result.pool)
    for symbol, scores in result.members.items():
        if scores.get("risk") is not None:
            risk_table(scores["risk"], symbol)
    if result.pool.get("risk") is not None:
        pool_risk_table(result.pool["risk"])


def pool_risk_table(risk: dict[str, Any]) -> None:
    """The members' 80% interval scores pooled, scored on log prices (log-return units)."""
    entries = [] if risk["model"] is None else [("model", risk["model"])]
    entries += risk["baselines"].items()
    best, dm = risk["best_baseline"], risk["dm"]
    title = (
        f"pool of {', '.join(risk['members'])}: 80% interval scores of log prices "
        f"(log-return units, {risk['n']} member-days)"
    )
    if risk["model"] is None:
        title += f": the network shapes no interval; best baseline {best}"
    elif best is not None:
        verdict = "beats" if risk["beats_best_baseline"] else "does NOT beat"
        title += f": model {verdict} the best baseline {best}"
        if dm["p_value"] is not None:
            title += f" (one-sided Diebold-Mariano p = {dm['p_value']:.2f}, per-day means)"
    columns = ["interval_score_80", "model_ratio", "coverage_80", "coverage_95"]
    table(
        title,
        ["forecast", "IS80 (log)", "model ratio", "cov80", "cov95"],
        [
            [name, *("-" if e is None or e.get(c) is None else fmt(e[c]) for c in columns)]
            for name, e in entries
        ],
    )


def scores_table(ticker: str, test: dict[str, Any], rep: Any) -> None:
    """Model next to the naive and drift forecasts, plus the diagnostics, for people."""
    m, n, d = rep.scores.model, rep.scores.naive, rep.drift
    verdict = "model beats naive" if rep.beats_naive else "model does NOT beat naive"
    p_value = rep.significance["p_value"]
    if p_value is not None:
        verdict += f" (Diebold-Mariano p = {p_value:.2f}"
        verdict += ", not significant)" if p_value >= 0.05 else ")"
    lag = rep.lag
    table(
        f"{ticker} test {test['start']} to {test['end']} ({test['n']} windows, horizon "
        f"{rep.horizon}): MAE / naive MAE {m['rel_mae']:.3f}, {verdict}",
        ["metric", "model", "naive", "drift"],
        [
            ["rmse", fmt(m["rmse"]), fmt(n["rmse"]), fmt(d["rmse"])],
            ["mae", fmt(m["mae"]), fmt(n["mae"]), fmt(d["mae"])],
            ["mape_%", fmt(m["mape"]), fmt(n["mape"]), fmt(d["mape"])],
            ["rel_mae", fmt(m["rel_mae"]), fmt(1.0), fmt(d["rel_mae"])],
            ["mase", fmt(m["mase"]), fmt(n["mase"]), fmt(d["mase"])],
            [
                f"directional_accuracy ({m['n_no_move']} no-move left out)",
                fmt(m["directional_accuracy"]),
                "-",
                f"always up: {rep.up_share:.4f}",
            ],
            ["uncalibrated_rel_mae", fmt(rep.raw["rel_mae"]), "-", "-"],
            [
                f"interval_coverage ({rep.intervals['level']:.0%})",
                fmt(rep.intervals["coverage"]),
                "-",
                "-",
            ],
        ],
    )
    if lag["lagging"] is not None:
        say(
            f"lag check: forecast changes correlate {lag['corr_with_actual_change']:+.2f} with "
            f"the same day's price change, {lag['corr_with_previous_change']:+.2f} with the "
            f"previous day's" + (" (the forecast trails the price)" if lag["lagging"] else "")
        )


def risk_table(risk: dict[str, Any], who: str = "") -> None:
    """The model's one-step intervals and distribution next to the volatility baselines
    (``who``: the global model's member they are of, named in the title)."""
    columns = ["interval_score_80", "coverage_80", "interval_score_95", "coverage_95"]
    columns += ["qlike", "pinball"]
    served = risk["served_intervals"]
    # the row of the method predict serves says so: the network's, or a baseline's (its row
    # scores the fixed widths; predict may rescale them: "+rolling",
    # rnnforecast.risk.adaptive_widths)
    fixed = served.removesuffix("+rolling")
    mark = " (served)" if fixed == served else " (served with rolling widths)"
    # no "model" row where no weight shapes it: it is naive_conformal (risk/network_use.py)
    own = "model" if fixed in risk["baselines"] else f"model ({served})"
    entries = [] if risk["model"] is None else [(own, risk["model"])]
    entries += [(f"{k}{mark}" if k == fixed else k, v) for k, v in risk["baselines"].items()]
    best, dm = risk["best_baseline"], risk["dm"]
    title = "one-step intervals next to the volatility baselines (price units; QLIKE unitless)"
    title = f"{who}: {title}" if who else title
    if risk["model"] is None:
        title += f": the network shapes no interval; best baseline {best}"
    elif best is not None:
        verdict = "beats" if risk["beats_best_baseline"] else "does NOT beat"
        title += f": model {verdict} the best baseline {best} on IS80"
        if dm["p_value"] is not None:
            title += f" (one-sided Diebold-Mariano p = {dm['p_value']:.2f})"
    table(
        title,
        ["forecast", "IS80", "cov80", "IS95", "cov95", "QLIKE", "pinball"],
        [
            [name, *("-" if e is None or e[c] is None else fmt(e[c]) for c in columns)]
            for name, e in entries
        ],
    )


def reason(error: Failure) -> str:
    """Why a ticker failed, for a user of the command line: the core's message with the
    hint of :func:`rnnforecast.cli.exits.hinted` (the command that cures it)."""
    return hinted(error.cause) if error.cause is not None else error.message


def outcome_dict(outcome: TickerOutcome[Any]) -> dict[str, Any]:
    """One ticker's entry in the ``{"tickers": [...]}`` document of fetch, train and run:
    :meth:`TickerOutcome.to_dict`, its error message with the hint."""
    body = outcome.to_dict()
    if outcome.error is not None:
        body["error"] = {**body["error"], "message": reason(outcome.error)}
    return body


def failure(outcome: TickerOutcome[Any]) -> None:
    """The stderr line of one ticker that failed while the others went on (none if it went
    through): the one failure summary of fetch, train and run."""
    if outcome.error is not None:
        say(f"{outcome.ticker}: failed (exit code {outcome.error.code}): {reason(outcome.error)}")


def fetched(outcomes: list[TickerOutcome[StoreResult]]) -> None:
    """fetch: a warning per suspicious ticker and a line per failed one (stderr)."""
    for r in (o.result for o in outcomes if o.result is not None):
        # A few off-calendar bars are holidays a source filled in; a tenth (weekends) is
        # a series that trades on another calendar.
        if r.off_calendar and r.off_calendar >= 0.1 * max(r.added, 1):
            say(
                f"warning: {r.ticker}: {r.off_calendar} bars fall on days {r.calendar} does "
                "not trade: if the series trades then, choose its calendar with --calendar "
                "(e.g. --calendar 24/7)"
            )
        if r.readjusted:
            say(
                f"warning: {r.ticker}: the source re-adjusted its history ({r.changed} stored "
                "rows differed: a split or dividend?): its values replaced them; models "
                "trained on the old ones are retrained at the next `rnnforecast run`"
            )
        elif r.changed:
            say(f"warning: {r.ticker}: {r.changed} stored volumes updated to the source's")
        for notice in r.notices:
            say(f"warning: {notice}")
    for o in outcomes:
        failure(o)


def fetched_table(outcomes: list[TickerOutcome[StoreResult]]) -> None:
    """fetch: the stored bars of each ticker that went through."""
    results = [o.result for o in outcomes if o.result is not None]
    table(
        "Stored bars",
        ["ticker", "rows", "first", "last", "added", "source", "calendar"],
        [[r.ticker, r.rows, r.first, r.last, r.added, r.source, r.calendar] for r in results],
    )


def trained(result: TrainResult) -> None:
    """train (one ticker): what was saved, what is served, then the scored fit's scores."""
    say(
        f"trained {result.ticker} run {result.run_id}: {result.history['epochs_run']} "
        f"epochs (best {result.history['best_epoch']}) in "
        f"{result.history['seconds']:.1f}s; {shrink_text(result.calibration)}; "
        f"saved to {result.path}"
    )
    served = result.serving
    say(
        f"serving {'a refit up to the last bar' if served['refit'] else 'the scored fit'}: "
        f"trained through {served['trained_through']}, calibrated through "
        f"{served['calibrated_through']}; the scores below are the scored fit's"
    )
    if served.get("reason"):
        say(f"why: {served['reason']}")
    say(served_words(result.interval_method, used_dict(result.network_used)))
    scores_table(result.ticker, result.test, result.report)


def job_done(quiet: bool) -> Callable[[TickerOutcome[TrainResult]], None]:
    """train (several tickers): a line as each ticker finishes (failures even with --quiet)."""

    def done(job: TickerOutcome[TrainResult]) -> None:
        failure(job)
        if not quiet and job.result is not None:
            say(f"{job.ticker}: trained run {job.result.run_id}")

    return done


def jobs_table(jobs: list[TickerOutcome[TrainResult]]) -> None:
    """train (several tickers): one row per ticker."""
    table(
        f"trained {sum(1 for j in jobs if j.result)} of {len(jobs)} tickers",
        ["ticker", "run", "rel_mae", "beats naive", "error"],
        [
            [
                j.ticker,
                j.result.run_id if j.result else "-",
                fmt(j.result.report.scores.model["rel_mae"]) if j.result else "-",
                ("yes" if j.result.report.beats_naive else "no") if j.result else "-",
                reason(j.error) if j.error else "",
            ]
            for j in jobs
        ],
    )


def trained_global(result: GlobalTrainResult) -> None:
    """train --global: what was saved, then the scores per member and for the pool."""
    say(
        f"trained global model {result.group} run {result.run_id} on "
        f"{', '.join(result.members)}: {result.history['epochs_run']} epochs (best "
        f"{result.history['best_epoch']}); saved to {result.path}"
    )
    group_table(result.group, result.members, result.pool)
    for symbol, method in result.interval_method.items():
        say(f"{symbol}: " + served_words(method, used_dict(result.network_used.get(symbol))))


def evaluated(result: EvaluationResult) -> None:
    """evaluate: the scored fit's scores, its risk table and its walk-forward folds."""
    say(
        f"{result.ticker} run {result.run_id}: scored fit, trained through "
        f"{result.fit.get('trained_through')}"
    )
    say(network_line("the scored fit", used_dict(result.network_used)))
    scores_table(result.ticker, result.test, result.report)
    if result.risk is not None:
        risk_table(result.risk.to_dict())
    fan_tables(result.horizons, "test period; the served choice made on these days")
    if result.folds:
        folds_table(result.folds, result.to_dict()["aggregate"])


def folds_table(folds: list[dict[str, Any]], agg: dict[str, Any]) -> None:
    """evaluate --folds: one row per walk-forward fold, the aggregate in the title."""
    table(
        f"walk-forward: {len(folds)} folds, model beats naive in "
        f"{agg['beats_naive']}; MAE / naive MAE geometric mean "
        f"{fmt(agg['model']['rel_mae']['geometric_mean'], 3)}",
        ["fold", "test start", "test end", "n", "model mae", "naive mae", "rel_mae", "shrink"],
        [
            [
                i + 1,
                f["test"]["start"],
                f["test"]["end"],
                f["test"]["n"],
                fmt(f["model"]["mae"]),
                fmt(f["naive"]["mae"]),
                fmt(f["model"]["rel_mae"]),
                ",".join(f"{s:.2f}" for s in f["shrink"]),
            ]
            for i, f in enumerate(folds)
        ],
    )


def run_outcomes(outcomes: list[RunOutcome]) -> None:
    """run: one row per ticker of the nightly job."""
    failed = sum(1 for o in outcomes if o.failed)
    table(
        f"run: {len(outcomes) - failed} of {len(outcomes)} tickers went through",
        ["ticker", "added", "run", "rel_mae", "beats naive", "promoted", "reason"],
        [_run_row(o) for o in outcomes],
    )


def _run_row(outcome: RunOutcome) -> list[Any]:
    r, error = outcome.result, outcome.error
    why = reason(error) if error else ""
    if r is None:
        return [outcome.ticker, "-", "-", "-", "-", "no", why]
    return [
        outcome.ticker,
        "-" if r.rows_added is None else r.rows_added,
        r.run_id or "-",
        fmt(r.metrics["model"]["rel_mae"]) if r.metrics else "-",
        "-" if r.beats_naive is None else ("yes" if r.beats_naive else "no"),
        "yes" if r.promoted else "no",
        r.reason or why,
    ]


def runs_table(listing: dict[str, Any]) -> None:
    """models: one row per saved run, the current one starred."""
    table(
        f"{listing['ticker']}: {len(listing['runs'])} runs, current {listing['current'] or 'none'}",
        ["run", "current", "created", "recipe", "test", "rel_mae", "beats naive", "network"],
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
                fmt(r["model"]["rel_mae"]) if r.get("model") else "-",
                "-" if r.get("beats_naive") is None else ("yes" if r["beats_naive"] else "no"),
                network_column(r.get("network_used")),
            ]
            for r in listing["runs"]
        ],
    )


def tickers_table(rows: list[dict[str, Any]]) -> None:
    """tickers: one row per stored ticker."""
    columns = ["ticker", "rows", "first", "last", "source", "calendar"]
    table(f"{len(rows)} stored tickers", columns, [[r[c] for c in columns] for r in rows])
