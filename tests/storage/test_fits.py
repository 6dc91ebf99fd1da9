"""Reading the fits of a manifest, old and new (no training)."""

from __future__ import annotations

from rnnforecast.storage import fit_records

OLD = {
    "data": {
        "train": {"start": "2020-01-15", "end": "2020-09-01", "n": 165},
        "validation": {"start": "2020-09-02", "end": "2020-11-30", "n": 64},
        "test": {"start": "2020-12-01", "end": "2021-02-23", "n": 58},
    },
    "metrics": {"test": {"model": {"mae": 2.0, "mase": 0.98, "directional_accuracy": 0.5}}},
}
NEW = {
    **OLD,
    "serving": {"trained_through": "2021-02-23", "calibrated_through": "2021-02-22", "refit": True},
    "fits": {
        "scored": {
            "trained_through": "2020-09-01",
            "calibrated_through": "2020-11-30",
            "weights": "scored_weights.npz",
        },
        "served": {"refit": True},
    },
}


def test_old_manifest_served_its_scored_fit() -> None:
    assert fit_records.serving_record(OLD) == {
        "trained_through": "2020-09-01",
        "calibrated_through": "2020-11-30",
        "refit": False,
    }
    assert fit_records.seen_through(OLD) == "2020-11-30"
    assert fit_records.scored_record(OLD) is None
    assert fit_records.scored_dates(OLD) == {
        "trained_through": "2020-09-01",
        "calibrated_through": "2020-11-30",
    }


def test_new_manifest_records_both_fits() -> None:
    assert fit_records.serving_record(NEW)["refit"] is True
    assert fit_records.seen_through(NEW) == "2021-02-23"  # the later of the two days
    assert fit_records.scored_record(NEW) == NEW["fits"]["scored"]
    assert fit_records.scored_dates(NEW)["calibrated_through"] == "2020-11-30"


def test_old_mase_is_read_as_rel_mae() -> None:
    old = OLD["metrics"]["test"]["model"]
    assert fit_records.model_metrics(old) == {
        "mae": 2.0,
        "rel_mae": 0.98,
        "mase": None,
        "directional_accuracy": 0.5,
    }
    new = {"mae": 2.0, "rel_mae": 0.98, "mase": 1.3}
    assert fit_records.model_metrics(new) == new
    assert fit_records.model_metrics(None) is None
