"""The typed manifest (artifacts.Manifest) and Home.lock, without training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnforecast.errors import LockError, ModelError, UsageError
from rnnforecast.forecast.windows import MinMaxScaler, Scalers
from rnnforecast.storage import locks
from rnnforecast.storage.artifacts import MANIFEST_FILE, Manifest, ModelRepository
from rnnforecast.storage.home import Home
from rnnforecast.storage.manifest import Period, Serving

RUN = "20250101T000000Z-aaaaaa"
BEFORE_REFIT = {  # the shape of a manifest saved before refit and true MASE existed
    "schema_version": 1,
    "run_id": RUN,
    "ticker": "AAPL",
    "config": {"data": {"window": 10}},
    "features": ["close"],
    "window": 10,
    "horizon": 1,
    "data": {
        "source": "yahoo",
        "auto_adjust": True,
        "rows": 400,
        "first": "2019-06-03",
        "last": "2021-02-23",
        "fingerprint": "sha256:00",
        "scaler_rows": {"start": "2019-06-03", "end": "2020-09-01", "n": 320},
        "train": {"start": "2019-06-17", "end": "2020-09-01", "n": 305},
        "validation": {"start": "2020-09-02", "end": "2020-11-30", "n": 64},
        "test": {"start": "2020-12-01", "end": "2021-02-23", "n": 58},
    },
    "training": {"best_epoch": 7, "epochs_run": 12},
    "metrics": {"test": {"model": {"mae": 2.0, "mase": 0.98}, "beats_naive": True}},
    "a_later_entry": {"kept": [1, 2]},
}


def test_an_old_manifest_reads_in_the_current_shape() -> None:
    manifest = Manifest.from_json(BEFORE_REFIT, "m.json", "AAPL", RUN)
    assert manifest.features == ("close",)
    assert manifest.data.test == Period("2020-12-01", "2021-02-23", 58)
    assert manifest.period("scaler_rows").end == "2020-09-01"
    # before refit, the bundle served its scored fit: trained through the training period
    assert manifest.serving == Serving("2020-09-01", "2020-11-30", refit=False)
    assert manifest.serving.seen_through == "2020-11-30"
    assert manifest.scored.weights is None
    assert manifest.scored.dates() == {
        "trained_through": "2020-09-01",
        "calibrated_through": "2020-11-30",
    }
    assert manifest.best_epoch == 7
    assert manifest.members is None and manifest.calibration is None
    assert manifest.test_scores["beats_naive"] is True


def test_the_document_is_written_back_as_read_with_the_files_added() -> None:
    manifest = Manifest.from_json(BEFORE_REFIT, "m.json")
    assert manifest.to_json() == BEFORE_REFIT
    listed = manifest.with_files({"model.keras": "sha256:ab"})
    assert listed.files == {"model.keras": "sha256:ab"}
    assert listed.to_json() == {**BEFORE_REFIT, "files": {"model.keras": "sha256:ab"}}
    assert "files" not in manifest.to_json()  # the first one is unchanged


def test_a_missing_period_is_a_model_error_when_it_is_read() -> None:
    manifest = Manifest.from_json({**BEFORE_REFIT, "data": {"source": "csv"}}, "m.json")
    assert manifest.data.test is None
    with pytest.raises(ModelError, match=f"run {RUN} of AAPL: manifest has no data.test"):
        manifest.period("test")
    garbled = Manifest.from_json({**BEFORE_REFIT, "data": "x", "fits": 3}, "m.json")
    assert garbled.data.test is None and garbled.scored.weights is None
    assert garbled.serving == Serving(None, None, refit=False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ticker": "MSFT"}, "m.json: names ticker 'MSFT', not AAPL"),
        ({"run_id": "20250101T000000Z-bbbbbb"}, "m.json: names run '20250101T000000Z-bbbbbb'"),
        ({"calibration": [1]}, "m.json: calibration is not a table"),
        (
            {"calibration": {"level": 1.5, "shrink": [1.0], "halfwidth": [0.1]}},
            r"m.json: calibration.level must be in \(0, 1\), found 1.5",
        ),
        (
            {"calibration": {"level": 0.9, "shrink": [2.0], "halfwidth": [0.1]}},
            r"m.json: calibration.shrink must be numbers in \[0, 1\], found \[2.0\]",
        ),
    ],
)
def test_values_are_checked_when_read(change: dict, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        Manifest.from_json({**BEFORE_REFIT, **change}, "m.json", "AAPL", RUN)


def test_a_new_manifest_is_checked_when_its_bundle_is_loaded(tmp_path: Path) -> None:
    repo = ModelRepository(tmp_path / "models")
    scalers = Scalers(MinMaxScaler((0.0,), (1.0,)), MinMaxScaler((0.0,), (1.0,)))
    bad = {**BEFORE_REFIT, "calibration": {"level": 0.9, "shrink": [0.5], "halfwidth": [-1.0]}}
    path = repo.save("AAPL", RUN, lambda p: p.write_bytes(b"net"), scalers, Manifest.new(bad))
    written = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert written["a_later_entry"] == {"kept": [1, 2]}
    with pytest.raises(ModelError, match=r"calibration\.halfwidth must be finite numbers of 0"):
        repo.load("AAPL")


def test_home_lock_checks_the_ticker_and_yields_its_symbol(tmp_path: Path) -> None:
    home = Home(tmp_path)
    with home.lock(" aapl ", 0) as symbol:
        assert symbol == "AAPL"
        assert (tmp_path / "locks" / "ticker-AAPL.lock").exists()
    with home.lock("@tech", 0) as group:
        assert group == "@TECH"
    with pytest.raises(UsageError, match="invalid ticker symbol"), home.lock("a/b", 0):
        pass
    assert not (tmp_path / "locks" / "ticker-a/b.lock").exists()


def test_home_lock_waits_as_long_as_the_home_says_unless_told(tmp_path: Path) -> None:
    """The wait travels with the home: no job passes it on by hand."""
    impatient = Home(tmp_path, wait=0.0)
    with locks.hold(impatient.locks, "ticker-AAPL", 0):
        with pytest.raises(LockError, match=r"ticker-AAPL is locked.*\(waited 0 s;"):
            with impatient.lock("AAPL"):
                pass
        with pytest.raises(LockError, match=r"ticker-AAPL is locked.*\(waited 0 s;"):
            with Home(tmp_path, wait=30.0).lock_all(["MSFT", "AAPL"], 0):
                pass
    with impatient.lock("AAPL") as symbol:
        assert symbol == "AAPL"
    assert Home(tmp_path).wait == 60.0


def test_home_lock_all_waits_for_every_lock(tmp_path: Path) -> None:
    home = Home(tmp_path)
    with locks.hold(home.locks, "ticker-MSFT", 0):
        with pytest.raises(LockError, match="ticker-MSFT is locked"):
            with home.lock_all(["@G", "AAPL", "MSFT"], 0):
                pass
        # the locks taken before the busy one were released
        with home.lock("AAPL", 0), home.lock("@G", 0):
            pass
