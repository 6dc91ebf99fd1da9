"""Evaluating a global model: its scored fit on each member's test period and on the pool,
with each member's and the pool's ``risk`` (:mod:`rnnforecast.jobs.pool_risk`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnforecast.data.tickers import check_ticker
from rnnforecast.errors import ModelError
from rnnforecast.forecast.windows import Dataset, fingerprint
from rnnforecast.jobs import evaluation, pool_risk
from rnnforecast.metrics.report import Report
from rnnforecast.storage import loading
from rnnforecast.storage.home import Home
from rnnforecast.training.global_model import score_pool
from rnnforecast.training.group_members import pool, pooled_period

# --- evaluate ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GlobalEvaluation:
    group: str
    run_id: str
    members: dict[str, dict[str, Any]]
    pool: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "run_id": self.run_id,
            "fit": "scored",
            "members": self.members,
            "pool": self.pool,
            "warnings": self.warnings,
        }


def serves_group(home: Home, target: str, run_id: str | None = None) -> bool:
    """Whether ``target`` (a ticker or ``@NAME``) resolves to a global model's bundle."""
    if target.strip().startswith("@"):
        return True
    return home.models.owner(check_ticker(target), run_id).startswith("@")


def evaluate(home: Home, target: str, run_id: str | None = None) -> GlobalEvaluation:
    """Score a global model's scored fit on each member's test period and on the pool, with
    each member's and the pool's ``risk`` (:mod:`rnnforecast.jobs.pool_risk`).

    ``target`` is the group (``@NAME``) or a member ticker it serves. Raises UsageError,
    ModelError (no or bad bundle, or not a global model), DataError (a member's test
    period no longer stored).
    """
    loaded = loading.load(home, target, run_id)
    manifest = loaded.bundle.manifest
    members = manifest.members
    if not members:
        raise ModelError(f"{loaded.bundle.path}: not a global model (lists no members)")
    scored = loaded.fitted("scored")
    reports: dict[str, Report] = {}
    parts: list[Dataset] = []
    widths: list[np.ndarray] = []
    scores: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    frames = {}
    for symbol, record in members.items():
        frame = frames[symbol] = home.store.read(symbol)
        test = record.test
        if test is None:
            raise ModelError(f"{loaded.bundle.path}: member {symbol} has no test period")
        part, rep, width = evaluation.assess_period(
            loaded, frame, scored, test.start, test.end, record.naive_scale
        )
        reports[symbol] = rep
        scores[symbol] = {"test": pooled_period(part), "n": rep.n, **rep.to_dict()}
        parts.append(part)
        widths.append(width)
        if fingerprint(frame.loc[record.first : record.last]) != record.fingerprint:
            warnings.append(
                f"the stored bars of {symbol} changed since this model was trained: scores are "
                "on the bars stored now"
            )
    risks, pooled_risk, risk_warnings = pool_risk.assess(loaded, frames, scored)
    for symbol, risk_report in risks.items():
        scores[symbol]["risk"] = None if risk_report is None else risk_report.to_dict()
        used = evaluation.scored_network_use(loaded, scored.calibration, symbol)
        scores[symbol]["network_used"] = used.to_dict()
    pooled_part = pool(parts)
    pooled = scored.assess(pooled_part, width_factor=np.concatenate(widths))
    return GlobalEvaluation(
        manifest.ticker,
        manifest.run_id,
        scores,
        {
            "test": pooled_period(pooled_part),
            **score_pool(reports, pooled),
            "risk": None if pooled_risk is None else pooled_risk.to_dict(),
        },
        warnings + risk_warnings,
    )
