"""tickers, models --promote, forget, and evaluate/predict --output, run as a user runs them.

Expected values come from the store itself (read with sqlite3 here), not from the code
under test. Networks are tiny (window 10, 4 units, 2 epochs) on 300 synthetic rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import assert_error, cli, make_prices, on_terminal, trained_entry

from rnnforecast import exports
from rnnforecast.errors import EnvironmentFault
from rnnforecast.storage import locks


def stored_closes(home: Path, ticker: str) -> dict[str, float]:
    with sqlite3.connect(home / "store.sqlite") as conn:
        rows = conn.execute(
            "SELECT date, close FROM bars WHERE ticker = ? ORDER BY date", (ticker,)
        ).fetchall()
    return dict(rows)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def managed(trained: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """conftest's trained home (TEST: 300 rows, one tiny run) with a second run of TEST and
    OTHER (120 rows, no model) added: promotion needs two runs, listing two tickers. Tests
    work on their own copy (``copy``)."""
    folder = tmp_path_factory.mktemp("manage")
    home = folder / "home"
    shutil.copytree(trained["home"], home)
    make_prices(120, seed=6).to_csv(folder / "OTHER.csv")
    assert cli("fetch", "OTHER", "--csv", str(folder / "OTHER.csv"), home=home).exit_code == 0
    result = cli("train", "TEST", "--config", str(trained["config"]), "--json", home=home)
    assert result.exit_code == 0, result.stderr
    runs = [trained["train"]["run_id"], trained_entry(result.stdout)["run_id"]]
    return {"home": home, "runs": runs}


@pytest.fixture
def copy(managed: dict, home: Path) -> Path:
    """This test's own copy of the managed home (at the usual ``home`` path)."""
    shutil.copytree(managed["home"], home)
    return home


# --- tickers -------------------------------------------------------------------------------


def test_tickers_json_lists_each_stored_ticker(copy: Path) -> None:
    result = cli("tickers", "--json", home=copy)
    assert result.exit_code == 0, result.stderr
    expected = []
    for ticker, n, seed in (("OTHER", 120, 6), ("TEST", 300, 3)):
        days = make_prices(n, seed=seed).index
        expected.append(
            {
                "ticker": ticker,
                "rows": n,
                "first": f"{days[0]:%Y-%m-%d}",
                "last": f"{days[-1]:%Y-%m-%d}",
                "source": "csv",
                "auto_adjust": None,
                "calendar": "XNYS",
            }
        )
    assert json.loads(result.stdout) == {"tickers": expected}


def test_tickers_table_in_a_pipe(copy: Path) -> None:
    result = cli("tickers", home=copy)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "ticker\trows\tfirst\tlast\tsource\tcalendar"
    assert [line.split("\t")[:2] for line in lines[1:]] == [["OTHER", "120"], ["TEST", "300"]]


def test_tickers_of_an_empty_home(home: Path) -> None:
    result = cli("tickers", "--json", home=home)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"tickers": []}


# --- evaluate / predict --output -------------------------------------------------------------


def test_evaluate_output_csv_holds_stored_closes_and_previous_closes(
    copy: Path, tmp_path: Path
) -> None:
    home, out = copy, tmp_path / "days.csv"
    result = cli("evaluate", "TEST", "--output", str(out), "--json", home=home)
    assert result.exit_code == 0, result.stderr
    assert f"written to {out}" in result.stderr
    test = json.loads(result.stdout)["test"]
    rows = read_csv(out)
    identity = ["ticker", "run_id", "interval_level"]
    assert list(rows[0]) == [*identity, "date", "actual", "naive", "point", "low", "high", "raw"]
    document = json.loads(result.stdout)
    assert {(r["ticker"], r["run_id"]) for r in rows} == {("TEST", document["run_id"])}
    assert {float(r["interval_level"]) for r in rows} == {document["intervals"]["level"]}
    assert (rows[0]["date"], rows[-1]["date"], len(rows)) == (test["start"], test["end"], test["n"])
    closes = stored_closes(home, "TEST")
    dates = list(closes)
    for row in rows:
        previous = dates[dates.index(row["date"]) - 1]
        assert float(row["actual"]) == closes[row["date"]]
        assert float(row["naive"]) == closes[previous]
        assert float(row["low"]) <= float(row["point"]) <= float(row["high"])
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed away


def test_evaluate_output_with_folds_has_a_fold_column(copy: Path, tmp_path: Path) -> None:
    home, out = copy, tmp_path / "folds.csv"
    result = cli("evaluate", "TEST", "--folds", "2", "--output", str(out), "--json", home=home)
    assert result.exit_code == 0, result.stderr
    folds = json.loads(result.stdout)["folds"]
    rows = read_csv(out)
    assert list(rows[0])[-1] == "fold"
    closes = stored_closes(home, "TEST")
    dates = list(closes)
    for number, fold in enumerate(folds, start=1):
        mine = [r for r in rows if r["fold"] == str(number)]
        test = fold["test"]
        assert (mine[0]["date"], mine[-1]["date"], len(mine)) == (
            test["start"],
            test["end"],
            test["n"],
        )
        for row in mine:
            assert float(row["actual"]) == closes[row["date"]]
            assert float(row["naive"]) == closes[dates[dates.index(row["date"]) - 1]]
    assert len(rows) == sum(f["test"]["n"] for f in folds)


def test_parquet_output_needs_pyarrow(copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "days.parquet"
    result = cli("evaluate", "TEST", "--output", str(out), home=copy)
    if importlib.util.find_spec("pyarrow") is None:
        assert_error(result, 2, "pyarrow", "days.parquet")
        assert not out.exists()
    else:  # pragma: no cover - where the parquet extra is installed
        import pandas as pd

        assert result.exit_code == 0, result.stderr
        frame = pd.read_parquet(out)
        closes = stored_closes(copy, "TEST")
        assert [closes[f"{d:%Y-%m-%d}"] for d in frame["date"]] == frame["actual"].tolist()


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_unknown_output_suffix_is_exit_2_before_any_work(
    home: Path, tmp_path: Path, command: str
) -> None:
    # NOMODEL has no model: exit 2 (not 4) shows the file name is checked first.
    result = cli(command, "NOMODEL", "--output", str(tmp_path / "out.xlsx"), home=home)
    assert_error(result, 2, "out.xlsx", ".csv or .parquet")


def test_output_that_cannot_be_written_is_exit_2_and_leaves_no_temporary_file(
    copy: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "out"
    target = folder / "taken.csv"
    target.mkdir(parents=True)  # a folder where the file should go
    result = cli("predict", "TEST", "--output", str(target), home=copy)
    assert result.exit_code == 2, result.stderr
    assert "cannot write" in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["taken.csv"]


def test_a_full_disk_under_output_is_exit_8_naming_the_file(tmp_path: Path) -> None:
    """ENOSPC is the disk's fault, not the user's: the environment error (exit 8), as the
    README's table says. The CSV is opened on /dev/full, where every write is ENOSPC."""

    def full_disk(path: Path, *args: Any, **kwargs: Any) -> Any:
        return open("/dev/full", *args, **kwargs)

    target = tmp_path / "out" / "days.csv"
    columns = {"date": [dt.date(2024, 1, 2)], "close": [1.5]}
    with pytest.raises(EnvironmentFault, match="No space left on device") as raised:
        exports.write_table(target, columns, opener=full_disk)
    assert raised.value.exit_code == 8
    assert str(target) in str(raised.value)
    assert list(target.parent.iterdir()) == []  # no temporary file left behind


def test_parquet_output_is_tidy_with_typed_dates(copy: Path, tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    out = tmp_path / "next.parquet"
    result = cli("predict", "TEST", "--output", str(out), "--json", home=copy)
    assert result.exit_code == 0, result.stderr
    frame = pd.read_parquet(out)
    assert list(frame.columns[:3]) == ["ticker", "run_id", "interval_level"]
    assert frame["date"].dtype.kind == "M"  # datetime64, not object
    assert frame["run_id"].tolist() == [json.loads(result.stdout)["run_id"]]


def test_predict_output_csv(copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "next.csv"
    result = cli("predict", "TEST", "--output", str(out), "--json", home=copy)
    assert result.exit_code == 0, result.stderr
    rows = read_csv(out)
    last = max(stored_closes(copy, "TEST"))
    following = np.busday_offset(np.datetime64(last), 1, roll="forward")
    assert [r["date"] for r in rows] == [str(following)]
    document = json.loads(result.stdout)
    assert list(rows[0]) == ["ticker", "run_id", "interval_level", "date", "close", "low", "high"]
    assert (rows[0]["ticker"], rows[0]["run_id"]) == ("TEST", document["run_id"])
    assert float(rows[0]["interval_level"]) == document["interval_level"]
    forecast = document["forecasts"][0]
    assert float(rows[0]["close"]) == forecast["close"]
    assert float(rows[0]["low"]) < float(rows[0]["close"]) < float(rows[0]["high"])


# --- models --promote ------------------------------------------------------------------------


def current(home: Path, ticker: str = "TEST") -> str:
    return (home / "models" / ticker / "current").read_text().strip()


def test_promote_rolls_back_and_forward(managed: dict, copy: Path) -> None:
    first, second = managed["runs"]
    assert current(copy) == second
    result = cli("models", "TEST", "--promote", first, "--json", home=copy)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.strip() == f"TEST: current model is now {first} (was {second})"
    listing = json.loads(result.stdout)
    assert listing["current"] == first == current(copy)
    assert [r["current"] for r in listing["runs"]] == [True, False]
    predicted = json.loads(cli("predict", "TEST", "--json", home=copy).stdout)
    assert predicted["run_id"] == first
    assert cli("models", "TEST", "--promote", second, home=copy).exit_code == 0
    assert current(copy) == second


def test_promote_unknown_run_is_exit_4_and_changes_nothing(managed: dict, copy: Path) -> None:
    result = cli("models", "TEST", "--promote", "20200101T000000Z-abcdef", home=copy)
    assert_error(result, 4, "20200101T000000Z-abcdef")
    assert current(copy) == managed["runs"][1]


def test_promote_a_corrupt_run_is_exit_4_and_changes_nothing(managed: dict, copy: Path) -> None:
    first, second = managed["runs"]
    weights = copy / "models" / "TEST" / first / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:-10])
    result = cli("models", "TEST", "--promote", first, home=copy)
    assert_error(result, 4, "weights.npz", "corrupt")
    assert current(copy) == second


def test_promote_waits_for_the_ticker_lock(managed: dict, copy: Path) -> None:
    with locks.hold(copy / "locks", "ticker-TEST", timeout=0):
        result = cli("--wait", "0", "models", "TEST", "--promote", managed["runs"][0], home=copy)
    assert_error(result, 6, "TEST")
    assert current(copy) == managed["runs"][1]


# --- forget ----------------------------------------------------------------------------------


def test_forget_without_yes_says_what_would_go_and_deletes_nothing(
    managed: dict, copy: Path
) -> None:
    result = cli("forget", "TEST", home=copy)
    days = make_prices(300, seed=3).index
    assert_error(
        result, 2, f"300 bars ({days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d})", "2 saved runs", "--yes"
    )
    assert len(stored_closes(copy, "TEST")) == 300
    assert sorted(p.name for p in (copy / "models" / "TEST").iterdir()) == sorted(
        [*managed["runs"], "current"]
    )


def test_forget_yes_deletes_bars_and_models_only_of_that_ticker(managed: dict, copy: Path) -> None:
    result = cli("forget", "test", "--yes", "--json", home=copy)
    assert result.exit_code == 0, result.stderr
    days = make_prices(300, seed=3).index
    assert json.loads(result.stdout) == {
        "ticker": "TEST",
        "rows": 300,
        "first": f"{days[0]:%Y-%m-%d}",
        "last": f"{days[-1]:%Y-%m-%d}",
        "runs": managed["runs"],
        "warnings": [],
    }
    assert stored_closes(copy, "TEST") == {}
    assert sorted(p.name for p in (copy / "models").iterdir()) == []
    assert len(stored_closes(copy, "OTHER")) == 120
    with sqlite3.connect(copy / "store.sqlite") as conn:
        assert conn.execute("SELECT ticker FROM tickers").fetchall() == [("OTHER",)]
    assert_error(cli("forget", "TEST", "--yes", home=copy), 3, "nothing stored for TEST")
    assert_error(cli("predict", "TEST", home=copy), 4, "no model for TEST")


def test_forget_finishes_after_a_crash_between_models_and_bars(copy: Path) -> None:
    # A forget killed after moving the models aside but before deleting them and the bars.
    (copy / "models" / "TEST").rename(copy / "models" / ".forget-TEST")
    result = cli("forget", "TEST", "--yes", "--json", home=copy)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rows"] == 300
    assert stored_closes(copy, "TEST") == {}
    assert list((copy / "models").iterdir()) == []


def test_forget_finishes_a_crash_that_left_only_hidden_models(copy: Path) -> None:
    (copy / "models" / "TEST").rename(copy / "models" / ".forget-TEST")
    with sqlite3.connect(copy / "store.sqlite") as conn:
        conn.execute("DELETE FROM bars WHERE ticker = 'TEST'")
        conn.execute("DELETE FROM tickers WHERE ticker = 'TEST'")
    result = cli("forget", "TEST", "--yes", "--json", home=copy)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "ticker": "TEST",
        "rows": 0,
        "first": None,
        "last": None,
        "runs": [],
        "warnings": [],
    }
    assert list((copy / "models").iterdir()) == []


def test_forget_holds_the_ticker_lock(copy: Path) -> None:
    with locks.hold(copy / "locks", "ticker-TEST", timeout=0):
        result = cli("--wait", "0", "forget", "TEST", "--yes", home=copy)
    assert_error(result, 6, "TEST")
    assert len(stored_closes(copy, "TEST")) == 300


def test_forget_an_invalid_ticker_is_exit_2(home: Path) -> None:
    assert_error(cli("forget", "../x", "--yes", home=home), 2, "invalid ticker")


@pytest.mark.parametrize("columns", [80, 120])
def test_models_on_a_terminal_never_cuts_a_run_id(copy: Path, columns: int) -> None:
    """--promote needs the whole id: it is copied from this table."""
    run_id = (copy / "models" / "TEST" / "current").read_text().strip()
    shown = on_terminal("models", "TEST", home=copy, columns=columns)
    assert shown.code == 0, shown.stderr
    assert run_id in shown.stdout, shown.stdout
    assert "…" not in shown.stdout  # nothing is cut: narrow cells fold onto more lines
