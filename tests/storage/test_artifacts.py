"""Model bundles on disk, without TensorFlow: the network is a few bytes."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from rnnforecast.errors import ModelError, NoModel
from rnnforecast.forecast.windows import MinMaxScaler, Scalers
from rnnforecast.storage.artifacts import (
    CURRENT_FILE,
    MANIFEST_FILE,
    MANIFEST_SUM_FILE,
    MODEL_FILE,
    SCALERS_FILE,
    SCHEMA_VERSION,
    Manifest,
    ModelRepository,
    new_run_id,
    sha256_file,
)

MODEL_BYTES = b"PK\x03\x04 not really a keras file " * 20
SCALERS = Scalers(
    MinMaxScaler((1.0, 2.0, 3.0, 4.0, 5.0), (10.0, 20.0, 30.0, 40.0, 50.0)),
    MinMaxScaler((3.0,), (30.0,)),
)
RUN_IDS = ["20250101T000000Z-aaaaaa", "20250102T000000Z-bbbbbb", "20250102T000001Z-000000"]


def write_model(path: Path) -> None:
    path.write_bytes(MODEL_BYTES)


def manifest(run_id: str, ticker: str = "AAPL") -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "ticker": ticker,
        "config": {"data": {"window": 10}},
        "features": ["open", "high", "low", "close", "volume"],
        "window": 10,
        "horizon": 1,
        "data": {"source": "csv"},
    }


@pytest.fixture
def repo(home: Path) -> ModelRepository:
    return ModelRepository(home / "models")


def save(repo: ModelRepository, run_id: str, ticker: str = "AAPL", **kwargs) -> Path:
    return repo.save(
        ticker,
        run_id,
        kwargs.get("write_model", write_model),
        kwargs.get("scalers", SCALERS),
        Manifest.new(kwargs.get("manifest", manifest(run_id, ticker))),
    )


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- save -----------------------------------------------------------------------------------


def test_leftovers_of_a_killed_save_are_removed_by_the_next(repo: ModelRepository) -> None:
    """A save killed mid-way leaves ``.tmp-RUN``; the next save (its caller holding the
    ticker's lock, so no other save is running) removes it, and ``.del-RUN`` trash too."""
    first = save(repo, RUN_IDS[0])
    folder = first.parent
    (folder / f".tmp-{RUN_IDS[1]}").mkdir()
    (folder / f".tmp-{RUN_IDS[1]}" / MODEL_FILE).write_bytes(b"half")
    (folder / f".del-{RUN_IDS[0]}x").mkdir()
    save(repo, RUN_IDS[2])
    assert entries(folder) == sorted([CURRENT_FILE, RUN_IDS[0], RUN_IDS[2]])


def test_save_writes_the_bundle_and_sets_current(repo: ModelRepository, home: Path) -> None:
    run_id = RUN_IDS[0]
    path = save(repo, run_id)
    assert path == home / "models" / "AAPL" / run_id
    assert entries(path) == sorted([MODEL_FILE, SCALERS_FILE, MANIFEST_FILE, MANIFEST_SUM_FILE])
    assert (path / MODEL_FILE).read_bytes() == MODEL_BYTES
    assert json.loads((path / SCALERS_FILE).read_text()) == SCALERS.to_dict()
    written = json.loads((path / MANIFEST_FILE).read_text())
    assert written["files"] == {
        MODEL_FILE: sha256_file(path / MODEL_FILE),
        SCALERS_FILE: sha256_file(path / SCALERS_FILE),
    }
    assert {k: v for k, v in written.items() if k != "files"} == manifest(run_id)
    assert (path.parent / CURRENT_FILE).read_text() == run_id + "\n"
    assert repo.current("AAPL") == run_id
    # nothing else is left beside the bundle: no temporary folder, no temporary pointer
    assert entries(path.parent) == sorted([CURRENT_FILE, run_id])
    assert not list(path.parent.glob(".tmp-*"))


def test_save_does_not_change_the_callers_manifest(repo: ModelRepository) -> None:
    given = Manifest.new(manifest(RUN_IDS[0]))
    repo.save("AAPL", RUN_IDS[0], write_model, SCALERS, given)
    assert "files" not in given.to_json()
    assert given.files == {}
    assert repo.load("AAPL").manifest.files.keys() == {MODEL_FILE, SCALERS_FILE}


def test_save_then_load(repo: ModelRepository) -> None:
    save(repo, RUN_IDS[0])
    bundle = repo.load("AAPL")
    assert bundle.run_id == RUN_IDS[0]
    assert bundle.scalers == SCALERS
    assert bundle.model_path == repo.ticker_dir("AAPL") / RUN_IDS[0] / MODEL_FILE
    assert bundle.manifest.window == 10
    assert bundle.manifest.features == ("open", "high", "low", "close", "volume")
    assert bundle.manifest.data.source == "csv"
    assert repo.load("AAPL", RUN_IDS[0]).path == bundle.path


def test_newer_save_moves_current_and_keeps_old_runs(repo: ModelRepository) -> None:
    save(repo, RUN_IDS[0])
    save(repo, RUN_IDS[1])
    assert repo.current("AAPL") == RUN_IDS[1]
    assert repo.load("AAPL").run_id == RUN_IDS[1]
    assert repo.load("AAPL", RUN_IDS[0]).run_id == RUN_IDS[0]
    repo.set_current("AAPL", RUN_IDS[0])
    assert repo.load("AAPL").run_id == RUN_IDS[0]


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_failed_write_model_leaves_no_trace(repo: ModelRepository, error) -> None:
    save(repo, RUN_IDS[0])
    folder = repo.ticker_dir("AAPL")
    before = entries(folder)

    def failing(path: Path) -> None:
        path.write_bytes(b"half a model")
        raise error

    with pytest.raises(type(error)):
        save(repo, RUN_IDS[1], write_model=failing)
    assert entries(folder) == before
    assert not (folder / RUN_IDS[1]).exists()
    assert not list(folder.glob(".tmp-*"))
    assert repo.current("AAPL") == RUN_IDS[0]
    assert repo.runs("AAPL") == [RUN_IDS[0]]


def test_failed_first_save_leaves_no_model(repo: ModelRepository) -> None:
    def failing(path: Path) -> None:
        raise OSError("no space left on device")

    with pytest.raises(OSError):
        save(repo, RUN_IDS[0], write_model=failing)
    assert repo.current("AAPL") is None
    assert repo.runs("AAPL") == []
    assert not list(repo.ticker_dir("AAPL").glob(".tmp-*"))
    with pytest.raises(ModelError, match="no model for AAPL"):
        repo.load("AAPL")


# --- load errors ----------------------------------------------------------------------------


def test_load_unknown_ticker(repo: ModelRepository) -> None:
    """The core's words only (the CLI adds `rnnforecast train ZZZ`), and the ticker as a fact."""
    with pytest.raises(NoModel) as info:
        repo.load("ZZZ")
    assert str(info.value) == "no model for ZZZ"
    assert info.value.ticker == "ZZZ" and info.value.exit_code == 4


def test_load_unknown_run(repo: ModelRepository) -> None:
    save(repo, RUN_IDS[0])
    with pytest.raises(ModelError, match=RUN_IDS[1]):
        repo.load("AAPL", RUN_IDS[1])
    with pytest.raises(ModelError, match="no run"):
        repo.load("AAPL", "latest")
    with pytest.raises(ModelError, match="no run"):
        repo.load("AAPL", "../AAPL")


def test_current_names_a_deleted_run(repo: ModelRepository) -> None:
    save(repo, RUN_IDS[0])
    repo.set_current("AAPL", RUN_IDS[2])
    with pytest.raises(ModelError, match=RUN_IDS[2]):
        repo.load("AAPL")


def test_current_file_garbage(repo: ModelRepository) -> None:
    save(repo, RUN_IDS[0])
    pointer = repo.ticker_dir("AAPL") / CURRENT_FILE
    pointer.write_text("../../etc\n")
    with pytest.raises(ModelError, match="does not name a run") as info:
        repo.current("AAPL")
    assert str(pointer) in str(info.value)


@pytest.mark.parametrize("name", [MODEL_FILE, SCALERS_FILE])
@pytest.mark.parametrize("damage", ["truncate", "alter", "empty"])
def test_corrupt_file(repo: ModelRepository, name: str, damage: str) -> None:
    path = save(repo, RUN_IDS[0]) / name
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "alter":
        path.write_bytes(data.replace(b"1", b"7") if b"1" in data else data[::-1])
        assert path.read_bytes() != data
    else:
        path.write_bytes(b"")
    with pytest.raises(ModelError, match="corrupt") as info:
        repo.load("AAPL")
    assert str(path) in str(info.value)


@pytest.mark.parametrize("name", [MODEL_FILE, SCALERS_FILE, MANIFEST_FILE])
def test_missing_file(repo: ModelRepository, name: str) -> None:
    path = save(repo, RUN_IDS[0]) / name
    path.unlink()
    with pytest.raises(ModelError, match="missing") as info:
        repo.load("AAPL")
    assert str(path) in str(info.value)


@pytest.mark.parametrize("text", ["{not json", "", "\xff\xfe"])
def test_manifest_not_json(repo: ModelRepository, text: str) -> None:
    path = save(repo, RUN_IDS[0]) / MANIFEST_FILE
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ModelError, match="corrupt") as info:
        repo.load("AAPL")
    assert str(path) in str(info.value)


def rewrite_manifest(path: Path, change) -> Path:
    file = path / MANIFEST_FILE
    raw = json.loads(file.read_text())
    raw = change(raw)
    file.write_text(json.dumps(raw))
    # Sealed again, as a deliberate editor would: the checks behind the checksum still hold.
    (path / MANIFEST_SUM_FILE).write_text(sha256_file(file) + "\n")
    return file


@pytest.mark.parametrize("version", [SCHEMA_VERSION + 1, 0, "1", None])
def test_wrong_schema_version(repo: ModelRepository, version) -> None:
    file = rewrite_manifest(save(repo, RUN_IDS[0]), lambda m: {**m, "schema_version": version})
    with pytest.raises(ModelError, match="schema version") as info:
        repo.load("AAPL")
    assert str(file) in str(info.value)


def test_manifest_without_schema_version_or_not_an_object(repo: ModelRepository) -> None:
    path = save(repo, RUN_IDS[0])
    rewrite_manifest(path, lambda m: {k: v for k, v in m.items() if k != "schema_version"})
    with pytest.raises(ModelError, match="schema version"):
        repo.load("AAPL")
    rewrite_manifest(path, lambda m: [1, 2, 3])
    with pytest.raises(ModelError, match="schema version"):
        repo.load("AAPL")


def test_manifest_without_files_or_key(repo: ModelRepository) -> None:
    path = save(repo, RUN_IDS[0])
    original = (path / MANIFEST_FILE).read_text()
    rewrite_manifest(path, lambda m: {k: v for k, v in m.items() if k != "files"})
    with pytest.raises(ModelError, match="no files"):
        repo.load("AAPL")
    (path / MANIFEST_FILE).write_text(original)
    rewrite_manifest(path, lambda m: {k: v for k, v in m.items() if k != "window"})
    with pytest.raises(ModelError, match="'window'"):
        repo.load("AAPL")


def test_scalers_do_not_fit_the_features(repo: ModelRepository) -> None:
    bad = manifest(RUN_IDS[0])
    bad["features"] = ["close"]
    save(repo, RUN_IDS[0], manifest=bad)
    with pytest.raises(ModelError, match="feature scalers"):
        repo.load("AAPL")


# --- runs and run ids -----------------------------------------------------------------------


def test_runs_sorted_and_without_temporary_folders(repo: ModelRepository) -> None:
    assert repo.runs("AAPL") == []
    for run_id in reversed(RUN_IDS):
        save(repo, run_id)
    folder = repo.ticker_dir("AAPL")
    (folder / f".tmp-{new_run_id()}").mkdir()
    (folder / "notes").mkdir()
    (folder / "20990101T000000Z-ffffff").write_text("a file, not a run")
    assert repo.runs("AAPL") == sorted(RUN_IDS)
    assert repo.runs("MSFT") == []


def test_tickers_are_kept_apart(repo: ModelRepository) -> None:
    save(repo, RUN_IDS[0], ticker="AAPL")
    save(repo, RUN_IDS[1], ticker="MSFT")
    assert repo.runs("AAPL") == [RUN_IDS[0]]
    assert repo.current("MSFT") == RUN_IDS[1]
    assert repo.load("MSFT").manifest.ticker == "MSFT"


def test_new_run_id_format() -> None:
    run_id = new_run_id(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    assert re.fullmatch(r"20260102T030405Z-[0-9a-f]{6}", run_id)
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", new_run_id())


def test_new_run_ids_sort_by_time_and_are_unique() -> None:
    start = dt.datetime(2025, 12, 31, 23, 59, 58, tzinfo=dt.UTC)
    times = [start + dt.timedelta(seconds=s) for s in (0, 1, 2, 61, 3600 * 24 * 40)]
    ids = [new_run_id(t) for t in times]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    same_second = {new_run_id(start) for _ in range(10)}
    assert len(same_second) == 10
