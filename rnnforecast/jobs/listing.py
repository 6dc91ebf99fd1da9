"""Listing a ticker's saved runs: their recipes, data, test scores and which one is current."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnforecast.config import config_from_dict
from rnnforecast.data import sources
from rnnforecast.data.tickers import GROUP_PREFIX, check_group
from rnnforecast.errors import ModelError, UsageError
from rnnforecast.forecast.calibration import Calibration
from rnnforecast.risk import interval_choice
from rnnforecast.risk.network_use import network_use
from rnnforecast.storage import fit_records
from rnnforecast.storage.home import Home
from rnnforecast.storage.manifest import Manifest


def list_runs(home: Home, ticker: str) -> dict[str, Any]:
    """The runs on disk for ``ticker`` (or a global model's ``@GROUP``, with the
    ``members`` it serves), oldest first, with their test scores and which one is current.
    A run whose bundle does not load is listed with its ``error``. Raises UsageError for a
    bad ticker or group name, ModelError for an unreadable ``current`` or group pointer."""
    group_name = ticker.strip().startswith(GROUP_PREFIX)
    symbol = check_group(ticker) if group_name else sources.check_ticker(ticker)
    repository = home.models
    current = repository.current(symbol)
    runs = []
    for run_id in repository.runs(symbol):
        entry: dict[str, Any] = {"run_id": run_id, "current": run_id == current}
        try:
            bundle = repository.load(symbol, run_id)
            entry.update(_describe(bundle.manifest))
            entry["network_used"] = network_used(bundle.manifest, bundle.path)
        except ModelError as exc:
            entry["error"] = str(exc)
        runs.append(entry)
    out: dict[str, Any] = {"ticker": symbol, "current": current, "runs": runs}
    if group_name:  # a global model: the tickers its current run serves
        out["members"] = repository.members(symbol)
        return out
    group = repository.group_of(symbol)
    if (
        group is not None
    ):  # a global model serves the ticker (see rnnforecast.training.global_model)
        out["served_by"] = {"group": group, "run_id": repository.current(group)}
    return out


def network_used(manifest: Manifest, path: Path) -> dict[str, Any] | None:
    """What the weights shape in what the run in ``path`` serves
    (:func:`rnnforecast.risk.network_use.network_use`): ``{"price", "intervals"}``, per member
    for a global model; None for a bundle saved before calibration existed. Raises
    ModelError for a bad calibration or intervals file."""
    if manifest.calibration is None:
        return None
    calibration = Calibration.from_dict(manifest.calibration)
    if manifest.members is None:
        return network_use(calibration, interval_choice.load(path)).to_dict()
    return {
        s: network_use(calibration, interval_choice.load(path, s)).to_dict()
        for s in manifest.members
    }


def _describe(manifest: Manifest) -> dict[str, Any]:
    """A run's entry in the listing. Raises ModelError if its recipe is unreadable here or
    its manifest records no test period."""
    try:
        recipe = config_from_dict(manifest.config)
    except UsageError as exc:
        raise ModelError(
            f"run {manifest.run_id}: manifest config is not readable here: {exc}"
        ) from None
    test = manifest.test_scores
    return {
        "created_at": manifest.created_at,
        "recipe": {
            "cell": recipe.model.cell,
            "target": recipe.data.target,
            "normalise": recipe.data.normalise,
            "window": recipe.data.window,
            "horizon": recipe.data.horizon,
        },
        "data": {"first": manifest.data.first, "last": manifest.data.last},
        "test": manifest.period("test").to_dict(),
        "serving": manifest.serving.to_dict(),
        "warm_start": manifest.warm_start,
        "model": fit_records.model_metrics(test.get("model")),
        "naive": test.get("naive"),
        "beats_naive": test.get("beats_naive"),
    }
