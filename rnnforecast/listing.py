"""Listing a ticker's saved runs: their recipes, data, test scores and which one is current."""

from __future__ import annotations

from typing import Any

from rnnforecast import fits, sources
from rnnforecast.errors import ModelError
from rnnforecast.home import Home


def models(home: Home, ticker: str) -> dict[str, Any]:
    """The runs on disk for ``ticker``, oldest first, with their test scores and which one
    is current. A run whose bundle does not load is listed with its ``error``."""
    symbol = sources.check_ticker(ticker)
    repository = home.models
    current = repository.current(symbol)
    runs = []
    for run_id in repository.runs(symbol):
        entry: dict[str, Any] = {"run_id": run_id, "current": run_id == current}
        try:
            manifest = repository.load(symbol, run_id).manifest
        except ModelError as exc:
            entry["error"] = str(exc)
        else:
            test = manifest.get("metrics", {}).get("test", {})
            cfg = manifest["config"]
            entry.update(
                {
                    "created_at": manifest.get("created_at"),
                    "recipe": {
                        "cell": cfg["model"]["cell"],
                        "target": cfg["data"]["target"],
                        "normalise": cfg["data"]["normalise"],
                        "window": cfg["data"]["window"],
                        "horizon": cfg["data"]["horizon"],
                    },
                    "data": {"first": manifest["data"]["first"], "last": manifest["data"]["last"]},
                    "test": manifest["data"]["test"],
                    "serving": fits.serving_record(manifest),
                    "warm_start": manifest.get("warm_start"),
                    "model": fits.model_metrics(test.get("model")),
                    "naive": test.get("naive"),
                    "beats_naive": test.get("beats_naive"),
                }
            )
        runs.append(entry)
    out: dict[str, Any] = {"ticker": symbol, "current": current, "runs": runs}
    group = repository.group_of(symbol)
    if group is not None:  # a global model serves the ticker (see rnnforecast.pooling)
        out["served_by"] = {"group": group, "run_id": repository.current(group)}
    return out
