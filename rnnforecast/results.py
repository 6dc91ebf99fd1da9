"""What the Python API returns besides plain frames: scored models with their pandas frames,
and the frame of a ticker's saved runs.

Plain frozen records over the core's results (:mod:`rnnforecast.jobs.evaluation`,
:mod:`rnnforecast.jobs.group_evaluation`), made by :mod:`rnnforecast.api`; pandas, no
TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from rnnforecast.jobs.evaluation import EvaluationResult
    from rnnforecast.jobs.group_evaluation import GlobalEvaluation


@dataclass(frozen=True)
class Evaluation:
    """A saved model scored on its test period: ``result`` (scores; ``to_dict()`` is the
    CLI's ``evaluate --json``) and ``forecasts``, one row per test day indexed by date:
    ``actual`` and ``naive`` (the previous) closes, calibrated ``point`` forecast with
    ``low``/``high`` interval, uncalibrated ``raw`` forecast (one day ahead, price units)."""

    result: EvaluationResult
    forecasts: pd.DataFrame

    @property
    def scores(self) -> dict[str, Any]:
        return self.result.to_dict()


@dataclass(frozen=True)
class GroupEvaluation:
    """A global model scored on its test period: ``result`` (``to_dict()`` is the CLI's
    ``evaluate @G --json``: every member and the pool) and ``member``, the ticker asked
    for (None when the group was)."""

    result: GlobalEvaluation
    member: str | None = None

    @property
    def group(self) -> str:
        """The group, as ``@NAME``."""
        return self.result.group

    @property
    def run_id(self) -> str:
        return self.result.run_id

    @property
    def scores(self) -> dict[str, Any]:
        """The member's share of the global model (its test period, ``n`` windows,
        ``model`` and ``naive`` metrics, ``beats_naive``, ``risk``), or for the group the
        whole document."""
        if self.member is None:
            return self.result.to_dict()
        return self.result.members[self.member]

    @property
    def members(self) -> pd.DataFrame:
        """One row per member, indexed by ``ticker``, and ``pool``: ``test_start``,
        ``test_end``, ``n`` and the flattened ``model_*`` and ``naive_*`` metrics (price
        units; ratios for ``rel_mae`` and ``mase``) with ``beats_naive``."""
        rows = {**self.result.members, "pool": self.result.pool}
        table = pd.json_normalize(
            [
                {k: row.get(k) for k in ("test", "n", "model", "naive", "beats_naive")}
                for row in rows.values()
            ],
            sep="_",
        )
        table.index = pd.Index(list(rows), name="ticker")
        return table


@dataclass(frozen=True)
class Backtest:
    """A walk-forward backtest: ``folds`` one row per fold (test and train periods, model
    and naive metrics, ``beats_naive``), ``forecasts`` one row per test day with its
    ``fold`` (1-based), and ``aggregate`` (mean and std of each metric over folds)."""

    folds: pd.DataFrame
    forecasts: pd.DataFrame
    aggregate: dict[str, Any]


_RUN_COLUMNS = (
    "run_id",
    "current",
    "created_at",
    "test_start",
    "test_end",
    "mase",
    "beats_naive",
    "error",
)


def runs_frame(runs: dict[str, Any]) -> pd.DataFrame:
    """The saved runs of a listing (:func:`rnnforecast.jobs.listing.list_runs`), one row each,
    in its order, with columns ``_RUN_COLUMNS`` (None where a run lacks the field)."""
    rows = [
        {
            "run_id": r["run_id"],
            "current": r["current"],
            "created_at": r.get("created_at"),
            "test_start": r["test"]["start"] if "test" in r else None,
            "test_end": r["test"]["end"] if "test" in r else None,
            "mase": r["model"]["mase"] if r.get("model") else None,
            "beats_naive": r.get("beats_naive"),
            "error": r.get("error"),
        }
        for r in runs["runs"]
    ]
    return pd.DataFrame(rows, columns=list(_RUN_COLUMNS))
