"""Faults at the edge: the outside world failing (read-only home, full disk, corrupt files,
a lost standard output, Ctrl-C) ends with a documented exit code and one line, never
"a bug"; JSON stays valid; bundles are verified as a whole. All offline."""

from __future__ import annotations

import errno
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import (
    REPO,
    TINY_CONFIG,
    FakeSource,
    assert_error,
    cli,
    hold_lock,
    make_prices,
    read_only,
    trained_entry,
)

from rnnforecast.data.store import Store
from rnnforecast.errors import EXIT_CODES
from rnnforecast.jobs.outcomes import Failure
from rnnforecast.storage.artifacts import (
    MANIFEST_FILE,
    MANIFEST_SUM_FILE,
    ModelRepository,
    sha256_file,
)


def python_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "rnnforecast", *args],
        capture_output=kwargs.pop("capture_output", True),
        env=env,
        timeout=300,
        **kwargs,
    )


# --- a real bundle, trained in a subprocess as a user would --------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A home with 300 synthetic rows of TEST and a tiny model trained by
    ``python -m rnnforecast train`` in a subprocess whose descriptor 2 is captured (not
    conftest's trained home: what TensorFlow writes to descriptor 2 is under test)."""
    folder = tmp_path_factory.mktemp("faults")
    home, csv, config = folder / "home", folder / "prices.csv", folder / "tiny.toml"
    make_prices(300, seed=5).to_csv(csv)
    config.write_text(TINY_CONFIG)
    fetched = python_cli("--home", str(home), "fetch", "TEST", "--csv", str(csv))
    assert fetched.returncode == 0, fetched.stderr
    done = python_cli("--home", str(home), "train", "TEST", "--config", str(config), "--json")
    assert done.returncode == 0, done.stderr
    run_id = trained_entry(done.stdout)["run_id"]
    return {
        "home": home,
        "csv": csv,
        "config": config,
        "stderr": done.stderr.decode(),
        "bundle": home / "models" / "TEST" / run_id,
    }


def test_tensorflow_says_nothing_on_stderr(trained: dict) -> None:
    """TensorFlow and absl write to descriptor 2 from C++; none of it reaches the user."""
    assert trained["stderr"] == ""


@pytest.fixture
def copied(trained: dict, tmp_path: Path) -> dict:
    import shutil

    home = tmp_path / "copy"
    shutil.copytree(trained["home"], home)
    return {"home": home, "bundle": home / "models" / "TEST" / trained["bundle"].name}


def edit_manifest(bundle: Path, change, reseal: bool) -> Path:
    path = bundle / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    if reseal:
        (bundle / MANIFEST_SUM_FILE).write_text(sha256_file(path) + "\n")
    return path


def test_edited_manifest_is_refused(copied: dict) -> None:
    path = edit_manifest(
        copied["bundle"], lambda m: m["calibration"].update(level=0.5), reseal=False
    )
    result = cli("predict", "TEST", home=copied["home"])
    assert_error(result, 4, str(path), "edited or corrupt", MANIFEST_SUM_FILE)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda m: m["calibration"].update(halfwidth=[-5]), ["calibration.halfwidth", "-5"]),
        (lambda m: m["calibration"].update(halfwidth=[math.nan]), ["calibration.halfwidth"]),
        (lambda m: m["calibration"].update(shrink=[1.5]), ["calibration.shrink"]),
        (lambda m: m["calibration"].update(level=1.0), ["calibration.level"]),
        (lambda m: m.update(ticker="OTHER"), ["ticker 'OTHER'", "not TEST"]),
    ],
    ids=["negative-width", "nan-width", "shrink", "level", "ticker"],
)
def test_manifest_values_are_checked_even_when_resealed(copied: dict, change, words) -> None:
    edit_manifest(copied["bundle"], change, reseal=True)
    for command in ("predict", "evaluate"):
        assert_error(cli(command, "TEST", home=copied["home"]), 4, *words)


def test_a_deleted_manifest_checksum_is_exit_4(copied: dict) -> None:
    # Deleting the checksum must not switch the manifest check off (issue row 9).
    sidecar = copied["bundle"] / MANIFEST_SUM_FILE
    sidecar.unlink()
    for command in ("predict", "evaluate"):
        assert_error(cli(command, "TEST", home=copied["home"]), 4, str(sidecar), "train again")
    listing = cli("models", "TEST", "--json", home=copied["home"])
    assert listing.exit_code == 0, listing.stderr
    assert "missing" in json.loads(listing.stdout)["runs"][0]["error"]


def test_current_pointer_in_binary_is_exit_4_and_not_echoed(copied: dict) -> None:
    pointer = copied["home"] / "models" / "TEST" / "current"
    pointer.write_bytes(b"\xff\xfe\x00secret-looking-bytes\x1b[31m")
    line = assert_error(cli("predict", "TEST", home=copied["home"]), 4, str(pointer))
    assert "secret" not in line and "\\x" not in line


def test_current_pointer_as_a_directory_is_exit_4(copied: dict) -> None:
    pointer = copied["home"] / "models" / "TEST" / "current"
    pointer.unlink()
    pointer.mkdir()
    for command in ("predict", "models"):
        assert_error(cli(command, "TEST", home=copied["home"]), 4, str(pointer))


def test_read_only_store_serves_predict_evaluate_models(
    copied: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Readers open the store with a read-only URI and never ask for a write lock: every
    connection they make is ``mode=ro``, and none creates a lock file."""
    from rnnforecast.data import store as store_module

    opened: list[str] = []
    real = sqlite3.connect

    def recording(database, *args, **kwargs):
        opened.append(str(database))
        return real(database, *args, **kwargs)

    monkeypatch.setattr(store_module.sqlite3, "connect", recording)
    locks = copied["home"] / "locks"
    for path in locks.iterdir():
        path.unlink()
    for command in ("predict", "evaluate", "models"):
        assert cli(command, "TEST", home=copied["home"]).exit_code == 0
    assert opened and all(name.endswith("?mode=ro") for name in opened), opened
    assert list(locks.iterdir()) == []


def test_read_only_home_for_real(copied: dict, tmp_path: Path) -> None:
    """A really read-only home: chmod where we are not root, a read-only mount where we are."""
    home = copied["home"]
    # No -wal/-shm files: the reader must manage without creating them.
    with sqlite3.connect(home / "store.sqlite") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for extra in ("store.sqlite-wal", "store.sqlite-shm"):
        (home / extra).unlink(missing_ok=True)
    with read_only(home, tmp_path) as target:
        for command in ("predict", "evaluate", "models"):
            result = cli(command, "TEST", "--json", home=target)
            assert result.exit_code == 0, (command, result.stderr)
        assert_error(cli("train", "TEST", home=target), 8, "Read-only file system")


# --- the store ----------------------------------------------------------------------------


def test_garbage_store_is_exit_3_naming_it(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "store.sqlite").write_bytes(b"not a database at all" * 50)
    for args in (["train", "TEST"], ["fetch", "TEST", "--sample"], ["models", "TEST"]):
        if args[0] == "models":  # listing bundles does not read the store
            assert cli(*args).exit_code == 0
            continue
        assert_error(cli(*args), 3, str(home / "store.sqlite"), "move it away")


def test_empty_store_file_is_an_empty_store(home: Path) -> None:
    """A store file without any table holds no bars yet (another fetch creating it, in a
    thread of this one or another process, or one killed before its first commit): read as
    empty, not refused. A database with other tables is not ours."""
    home.mkdir(parents=True)
    (home / "store.sqlite").write_bytes(b"")
    assert_error(cli("train", "TEST"), 3, "no data stored for TEST")
    assert cli("fetch", "--sample").exit_code == 0
    other = home.parent / "other"
    other.mkdir()
    with sqlite3.connect(other / "store.sqlite") as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    line = assert_error(cli("--home", str(other), "train", "TEST"), 3, "not an rnnforecast")
    assert str(other / "store.sqlite") in line


def test_truncated_store_is_exit_3_naming_it(trained: dict, home: Path) -> None:
    home.mkdir(parents=True)
    whole = Path(trained["home"] / "store.sqlite")
    with sqlite3.connect(whole) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (home / "store.sqlite").write_bytes(whole.read_bytes()[:5000])
    assert_error(cli("train", "TEST"), 3, str(home / "store.sqlite"))


def test_store_readers_do_not_create_the_database(tmp_path: Path) -> None:
    store = Store(tmp_path / "none" / "store.sqlite")
    assert store.tickers() == []
    assert not (tmp_path / "none").exists()


# --- outside faults at the CLI's edge ----------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "code", "words"),
    [
        (PermissionError(errno.EACCES, "Permission denied", "/x/store.sqlite"), 8, ["/x"]),
        (OSError(errno.EROFS, "Read-only file system", "/x/models"), 8, ["Read-only"]),
        (OSError(errno.ENOSPC, "No space left on device", "/x/m"), 8, ["No space left"]),
        (OSError(errno.ENAMETOOLONG, "File name too long", "/x/" + "a" * 300), 2, ["too long"]),
        (MemoryError(), 4, ["model too large for memory", "model.units"]),
        (sqlite3.DatabaseError("database disk image is malformed"), 3, ["malformed"]),
    ],
    ids=["eacces", "erofs", "enospc", "enametoolong", "memory", "sqlite"],
)
def test_outside_faults_are_mapped_once_at_the_edge(
    monkeypatch: pytest.MonkeyPatch, exc: BaseException, code: int, words: list[str]
) -> None:
    from rnnforecast.jobs import listing

    def failing(*args, **kwargs):
        raise exc

    monkeypatch.setattr(listing, "list_runs", failing)
    line = assert_error(cli("models", "TEST"), code, *words)
    assert len(line) < 200
    result = cli("models", "TEST", "--json")
    assert result.exit_code == code
    error = json.loads(result.stdout)["error"]
    assert error["code"] == code and error["message"] in line


def test_a_path_part_too_long_is_exit_2(tmp_path: Path) -> None:
    result = cli("fetch", "--sample", home=tmp_path / ("x" * 300))
    assert_error(result, 2, "name too long")


def test_empty_home_is_refused() -> None:
    assert_error(cli("--home", "", "models", "TEST"), 2, "empty")


def test_home_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert_error(cli("models", "TEST", home=tmp_path / "file"), 2, "is a file")


def test_every_documented_code_has_a_kind_and_a_line() -> None:
    from rnnforecast.cli.exits import ERROR_KINDS

    assert set(EXIT_CODES) == set(ERROR_KINDS) | {0}
    assert EXIT_CODES[130].startswith("interrupted")
    assert "broken pipe" in EXIT_CODES[141]


# --- standard output lost, Ctrl-C: real processes -----------------------------------------------


def test_stdout_to_a_full_device_exits_141_quietly(home: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        done = python_cli("models", "TEST", "--json", stdout=full, stderr=subprocess.PIPE,
                          capture_output=False)  # fmt: skip
    assert done.returncode == 141
    assert b"Traceback" not in done.stderr and b"Exception ignored" not in done.stderr


def test_closed_stdout_exits_141_quietly(home: Path) -> None:
    done = python_cli(
        "models", "TEST", "--json", stdout=None, capture_output=False, stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert done.returncode == 141
    assert b"Traceback" not in done.stderr and b"Exception ignored" not in done.stderr


def test_broken_pipe_exits_141_quietly(home: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader went away before a byte was written
    try:
        done = python_cli("models", "TEST", "--json", stdout=write_end, stderr=subprocess.PIPE,
                          capture_output=False)  # fmt: skip
    finally:
        os.close(write_end)
    assert done.returncode == 141
    assert done.stderr == b""


def test_ctrl_c_exits_130(home: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = hold_lock(home, "ticker-AAA")
    try:
        waiting = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rnnforecast",
                "--home",
                str(home),
                "--wait",
                "60",
                "fetch",
                "AAA",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            # A shell starts a background job's children with SIGINT ignored, and Python then
            # never turns Ctrl-C into KeyboardInterrupt: give it the terminal's default.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        time.sleep(3)  # started and waiting for the lock
        waiting.send_signal(signal.SIGINT)
        out, err = waiting.communicate(timeout=60)
    finally:
        holder.kill()
        holder.wait()
    assert waiting.returncode == 130, err
    assert err.strip().splitlines() == ["error: interrupted"]
    assert out == ""


# --- JSON stays valid ---------------------------------------------------------------------


@pytest.mark.slow  # trains
def test_constant_prices_give_null_scores_and_a_warning(tmp_path: Path, tiny_config: Path) -> None:
    prices = make_prices(300, seed=0)
    for column in ("Open", "High", "Low", "Close"):
        prices[column] = 100.0
    csv = tmp_path / "flat.csv"
    prices.to_csv(csv)
    assert cli("fetch", "FLAT", "--csv", str(csv)).exit_code == 0
    result = cli("train", "FLAT", "--config", str(tiny_config), "--json")
    assert result.exit_code == 0, result.stderr
    # Strict parsing: NaN or Infinity would raise here.
    document = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(c))
    [warning] = document["warnings"]
    assert warning.startswith("not a finite number, written as null: ")
    assert f"warning: {warning}" in result.stderr.splitlines()
    manifest_path = Path(document["tickers"][0]["path"]) / MANIFEST_FILE
    json.loads(manifest_path.read_text(), parse_constant=lambda c: pytest.fail(c))


def test_any_non_finite_number_in_output_becomes_null(monkeypatch: pytest.MonkeyPatch) -> None:
    from rnnforecast.jobs import prediction

    def forecast(*args, **kwargs) -> prediction.Forecast:
        point = {"date": "2021-01-04", "close": math.inf, "low": -math.inf, "high": math.nan}
        return prediction.Forecast("TEST", "run", "2021-01-01", 1e300 * 1e300, 0.8, [point])

    monkeypatch.setattr(prediction, "predict", forecast)
    result = cli("predict", "TEST", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(c))
    assert document["last_close"] is None
    assert document["forecasts"][0] == {"date": "2021-01-04", "close": None, "low": None,
                                        "high": None}  # fmt: skip
    assert document["warnings"] == [
        "not a finite number, written as null: last_close, forecasts[0].close, "
        "forecasts[0].low, forecasts[0].high"
    ]
    assert result.stderr == f"warning: {document['warnings'][0]}\n"


# --- tickers, fetch, completion -------------------------------------------------------------


def test_non_ascii_ticker_is_refused_not_upper_cased() -> None:
    assert_error(cli("fetch", "ß", "--sample"), 2, "invalid ticker", "'ß'")


def test_same_ticker_twice_is_trained_once(trained: dict, tmp_path: Path) -> None:
    import shutil

    home = tmp_path / "home2"
    shutil.copytree(trained["home"], home)
    result = cli("train", "TEST", "test", "--config", str(trained["config"]), "--json", home=home)
    assert result.exit_code == 0, result.stderr
    assert trained_entry(result.stdout)["ticker"] == "TEST"  # one entry
    assert len(ModelRepository(home / "models").runs("TEST")) == 2


def test_multi_ticker_fetch_goes_on_and_exits_with_the_failures_code(
    fake_yahoo, home: Path
) -> None:
    from conftest import yahoo_frame

    fake_yahoo.answers = [
        {"AAA": ConnectionError("down"), "BBB": yahoo_frame(make_prices(60), "BBB")}
    ]
    result = cli("fetch", "AAA", "BBB", "--retries", "3", "--json", yahoo=fake_yahoo)
    assert result.exit_code == 5, result.stderr  # AAA's source failure, not 7
    document = json.loads(result.stdout)
    aaa, bbb = document["tickers"]
    assert aaa["ticker"] == "AAA" and aaa["error"]["code"] == 5
    assert bbb["ticker"] == "BBB" and bbb["rows"] == 60
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("AAA: failed (exit code 5): ")
    assert lines[-1] == "error: 1 of 2 tickers failed: AAA"


def test_json_failure_prints_an_error_document(home: Path) -> None:
    result = cli("train", "NONE", "--json")
    assert result.exit_code == 3
    assert json.loads(result.stdout) == {
        "error": {
            "code": 3,
            "kind": "data",
            "message": "no data stored for NONE: run `rnnforecast fetch NONE` first",
        }
    }


def test_json_usage_error_from_the_parser_prints_a_document() -> None:
    result = cli("predict", "TEST", "--horizon", "0", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["kind"] == "usage"


def test_shell_completion_is_offered() -> None:
    # Typer reads a shell name after --show-completion only when told not to detect the
    # shell; detecting it follows the process tree, which a test run cannot count on
    # (no shell above pytest: "Shell  not supported").
    shown = subprocess.run(
        [sys.executable, "-m", "rnnforecast", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1",
            "PYTHONPATH": str(REPO),
        },
    )
    assert shown.returncode == 0, shown.stderr
    assert "_RNNFORECAST_COMPLETE=complete_bash" in shown.stdout
    env = {
        **os.environ,
        "_RNNFORECAST_COMPLETE": "complete_bash",
        "COMP_WORDS": "rnnforecast fe",
        "COMP_CWORD": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "rnnforecast"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0
    assert done.stdout.split() == ["fetch"]


def test_an_outside_fault_in_a_training_job_is_that_tickers_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A worker's full disk (its temporary folder, where the bundle is made) fails its ticker
    (exit 8 in its outcome), not the whole batch; a bug is raised."""
    from rnnforecast.config import Config
    from rnnforecast.jobs import executors
    from rnnforecast.training import per_ticker

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "m"))

    monkeypatch.setattr(per_ticker, "fit_ticker", full)
    request = executors.FitRequest("AAA", make_prices(50), None, Config().to_dict())
    job = executors.fit_job(request)
    assert job.result is None
    assert job.error == Failure(
        8, f"cannot read or write {tmp_path / 'm'}: No space left on device"
    )
    assert job.to_dict() == {
        "ticker": "AAA",
        "error": {
            "code": 8,
            "message": f"cannot read or write {tmp_path / 'm'}: No space left on device",
        },
    }

    def bug(*args, **kwargs):
        raise RuntimeError("a real bug")

    monkeypatch.setattr(per_ticker, "fit_ticker", bug)
    with pytest.raises(RuntimeError, match="a real bug"):
        executors.fit_job(request)


def test_an_outside_fault_fails_its_ticker_in_fetch_and_run(home: Path) -> None:
    from rnnforecast.config import Config, RunConfig, TickerJob
    from rnnforecast.errors import DataError
    from rnnforecast.jobs import ingest, nightly
    from rnnforecast.storage.home import Home

    failing = FakeSource(
        errors={
            "AAA": OSError(errno.ENOSPC, "No space left on device", "/x/store.sqlite"),
            "BBB": DataError("BBB: nothing here"),
        }
    )
    fetched = ingest.fetch_each(Home(home), ["AAA", "BBB"], failing)
    assert [o.error for o in fetched] == [
        Failure(8, "cannot read or write /x/store.sqlite: No space left on device"),
        Failure(3, "BBB: nothing here"),
    ]
    plan = RunConfig((TickerJob("AAA", failing), TickerJob("BBB", failing)))
    outcomes = nightly.run(Home(home), Config(), plan)
    assert [o.error.code for o in outcomes if o.error] == [8, 3]
    # a ticker that failed before its fetch went through still has every key of run's JSON
    assert outcomes[0].to_dict() == {
        "ticker": "AAA",
        "rows_added": None,
        "run_id": None,
        "metrics": None,
        "beats_naive": None,
        "promoted": False,
        "reason": "",
        "deleted": [],
        "error": {
            "code": 8,
            "message": "cannot read or write /x/store.sqlite: No space left on device",
        },
        "serving": None,
        "warm_start": None,
        "from_scratch": None,
        "interval_method": None,
        "promotion": None,
        "batch_size": None,
    }
    asked = [symbol for symbol, _, _ in failing.asked]  # fetch, then run: each at once
    assert sorted(asked[:2]) == sorted(asked[2:]) == ["AAA", "BBB"]
