"""The two fits of a bundle and how to read them from manifests old and new.

A bundle trained with refit holds two networks of the same recipe:

- the *scored* fit: trained on the training windows, early-stopped on the earlier
  validation windows and calibrated on the newest ones, scored on the held-out test period.
  ``evaluate`` reports it; its weights are ``scored_weights.npz``, its scalers and
  calibration are in the manifest.
- the *served* fit: the recipe trained again on every window but a tail of the newest ones,
  calibrated on its own forecasts of that tail (which ends on the last stored bar).
  ``predict`` serves it (``model.keras``, ``weights.npz``, ``scalers.json``, the manifest's
  ``calibration``). Where the network shapes nothing served, no refit is trained.

Without refit the two are one network. Manifests written before refit existed have no
``fits`` or ``serving`` entries, and call the MAE ratio ``mase``; the readers here give
them the current shape, for :class:`rnnforecast.storage.manifest.Manifest` (which every other
module reads). No TensorFlow, no pandas.
"""

from __future__ import annotations

from typing import Any

SCORED_WEIGHTS_FILE = "scored_weights.npz"


def serving_record(manifest: dict[str, Any]) -> dict[str, Any]:
    """``{"trained_through", "calibrated_through", "refit"}`` of the network a bundle serves:
    the last day (YYYY-MM-DD) whose close its weights, and its calibration, were fitted on;
    and ``reason``, why it was refitted or not, for bundles that record one.

    Bundles saved before refit existed served their scored fit: trained through the end of
    the training period and calibrated through the end of the validation period (both as
    recorded, by each window's first target day).
    """
    serving = manifest.get("serving")
    if isinstance(serving, dict):
        record = {
            "trained_through": serving.get("trained_through"),
            "calibrated_through": serving.get("calibrated_through"),
            "refit": bool(serving.get("refit", False)),
        }
        if isinstance(serving.get("reason"), str):  # why refit or not (since it could skip)
            record["reason"] = serving["reason"]
        return record
    data = manifest.get("data", {})
    return {
        "trained_through": data.get("train", {}).get("end"),
        "calibrated_through": data.get("validation", {}).get("end"),
        "refit": False,
    }


def seen_through(manifest: dict[str, Any]) -> str | None:
    """The last day whose close the served network or its calibration has seen: days after
    it are out of sample for the model the bundle serves."""
    record = serving_record(manifest)
    days = [d for d in (record["trained_through"], record["calibrated_through"]) if d]
    return max(days) if days else None


def scored_record(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest's ``fits.scored`` entry when the scored fit is saved apart from the
    served one (a refit bundle), else None (the bundle's own network is the scored fit)."""
    scored = manifest.get("fits", {}).get("scored")
    if isinstance(scored, dict) and scored.get("weights"):
        return scored
    return None


def scored_dates(manifest: dict[str, Any]) -> dict[str, Any]:
    """``{"trained_through", "calibrated_through"}`` of the scored fit."""
    scored = manifest.get("fits", {}).get("scored")
    if isinstance(scored, dict):
        return {
            "trained_through": scored.get("trained_through"),
            "calibrated_through": scored.get("calibrated_through"),
        }
    old = serving_record(manifest)  # before refit, the scored fit was the served one
    return {
        "trained_through": old["trained_through"],
        "calibrated_through": old["calibrated_through"],
    }


def model_metrics(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """A model's metrics in the current names: before true MASE was added, ``mase`` held
    the MAE over naive's MAE, now ``rel_mae``; true MASE is then unknown (None)."""
    if metrics is None or "rel_mae" in metrics or "mase" not in metrics:
        return metrics
    renamed = {k: v for k, v in metrics.items() if k != "mase"}
    renamed["rel_mae"] = metrics["mase"]
    renamed["mase"] = None
    return renamed
