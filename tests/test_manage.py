"""tickers, models --promote, forget, and evaluate/predict --output, run as a user runs them.

Expected values come from the store itself (read with sqlite3 here), not from the code
under test. Networks are tiny (window 10, 4 units, 2 epochs) on 300 synthetic rows.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_CONFIG, make_prices
from typer.testing import CliRunner

from rnnforecast import locks
from rnnforecast.cli import app

runner = CliRunner()


def run(home: Path, *args: str):
    return runner.invoke(app, ["--home", str(home), *args])


def assert_error(result, code: int, *words: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0], (word, lines[0])


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
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A home with TEST (300 rows, two tiny runs) and OTHER (120 rows, no model)."""
    folder = tmp_path_factory.mktemp("manage")
    home, config = folder / "home", folder / "tiny.toml"
    config.write_text(TINY_CONFIG)
    for ticker, n, seed in (("TEST", 300, 5), ("OTHER", 120, 6)):
        make_prices(n, seed=seed).to_csv(folder / f"{ticker}.csv")
        assert run(home, "fetch", ticker, "--csv", str(folder / f"{ticker}.csv")).exit_code == 0
    runs = []
    for _ in range(2):
        result = run(home, "train", "TEST", "--config", str(config), "--json")
        assert result.exit_code == 0, result.stderr
        runs.append(json.loads(result.stdout)["run_id"])
    return {"home": home, "runs": runs, "folder": folder}


@pytest.fixture
def copy(trained: dict, tmp_path: Path) -> Path:
    """A private copy of the trained home, for tests that change it."""
    home = tmp_path / "copy"
    shutil.copytree(trained["home"], home)
    return home


# --- tickers -------------------------------------------------------------------------------


def test_tickers_json_lists_each_stored_ticker(trained: dict) -> None:
    result = run(trained["home"], "tickers", "--json")
    assert result.exit_code == 0, result.stderr
    expected = []
    for ticker, n, seed in (("OTHER", 120, 6), ("TEST", 300, 5)):
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


def test_tickers_table_in_a_pipe(trained: dict) -> None:
    result = run(trained["home"], "tickers")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "ticker\trows\tfirst\tlast\tsource\tcalendar"
    assert [line.split("\t")[:2] for line in lines[1:]] == [["OTHER", "120"], ["TEST", "300"]]


def test_tickers_of_an_empty_home(home: Path) -> None:
    result = run(home, "tickers", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"tickers": []}


# --- evaluate / predict --output -------------------------------------------------------------


def test_evaluate_output_csv_holds_stored_closes_and_previous_closes(
    trained: dict, tmp_path: Path
) -> None:
    home, out = trained["home"], tmp_path / "days.csv"
    result = run(home, "evaluate", "TEST", "--output", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    assert f"written to {out}" in result.stderr
    test = json.loads(result.stdout)["test"]
    rows = read_csv(out)
    assert list(rows[0]) == ["date", "actual", "naive", "point", "low", "high", "raw"]
    assert (rows[0]["date"], rows[-1]["date"], len(rows)) == (test["start"], test["end"], test["n"])
    closes = stored_closes(home, "TEST")
    dates = list(closes)
    for row in rows:
        previous = dates[dates.index(row["date"]) - 1]
        assert float(row["actual"]) == closes[row["date"]]
        assert float(row["naive"]) == closes[previous]
        assert float(row["low"]) <= float(row["point"]) <= float(row["high"])
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed away


def test_evaluate_output_with_folds_has_a_fold_column(trained: dict, tmp_path: Path) -> None:
    home, out = trained["home"], tmp_path / "folds.csv"
    result = run(home, "evaluate", "TEST", "--folds", "2", "--output", str(out), "--json")
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


def test_parquet_output_needs_pyarrow(trained: dict, tmp_path: Path) -> None:
    out = tmp_path / "days.parquet"
    result = run(trained["home"], "evaluate", "TEST", "--output", str(out))
    if importlib.util.find_spec("pyarrow") is None:
        assert_error(result, 2, "pyarrow", "days.parquet")
        assert not out.exists()
    else:  # pragma: no cover - where the parquet extra is installed
        import pandas as pd

        assert result.exit_code == 0, result.stderr
        frame = pd.read_parquet(out)
        closes = stored_closes(trained["home"], "TEST")
        assert [closes[f"{d:%Y-%m-%d}"] for d in frame["date"]] == frame["actual"].tolist()


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_unknown_output_suffix_is_exit_2_before_any_work(
    home: Path, tmp_path: Path, command: str
) -> None:
    # NOMODEL has no model: exit 2 (not 4) shows the file name is checked first.
    result = run(home, command, "NOMODEL", "--output", str(tmp_path / "out.xlsx"))
    assert_error(result, 2, "out.xlsx", ".csv or .parquet")


def test_output_that_cannot_be_written_is_exit_2_and_leaves_no_temporary_file(
    trained: dict, tmp_path: Path
) -> None:
    target = tmp_path / "taken.csv"
    target.mkdir()  # a folder where the file should go
    result = run(trained["home"], "predict", "TEST", "--output", str(target))
    assert result.exit_code == 2, result.stderr
    assert "cannot write" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.csv"]


def test_predict_output_csv(trained: dict, tmp_path: Path) -> None:
    out = tmp_path / "next.csv"
    result = run(trained["home"], "predict", "TEST", "--output", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    rows = read_csv(out)
    last = max(stored_closes(trained["home"], "TEST"))
    following = np.busday_offset(np.datetime64(last), 1, roll="forward")
    assert [r["date"] for r in rows] == [str(following)]
    forecast = json.loads(result.stdout)["forecasts"][0]
    assert float(rows[0]["close"]) == forecast["close"]
    assert float(rows[0]["low"]) < float(rows[0]["close"]) < float(rows[0]["high"])


# --- models --promote ------------------------------------------------------------------------


def current(home: Path, ticker: str = "TEST") -> str:
    return (home / "models" / ticker / "current").read_text().strip()


def test_promote_rolls_back_and_forward(trained: dict, copy: Path) -> None:
    first, second = trained["runs"]
    assert current(copy) == second
    result = run(copy, "models", "TEST", "--promote", first, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.strip() == f"TEST: current model is now {first} (was {second})"
    listing = json.loads(result.stdout)
    assert listing["current"] == first == current(copy)
    assert [r["current"] for r in listing["runs"]] == [True, False]
    predicted = json.loads(run(copy, "predict", "TEST", "--json").stdout)
    assert predicted["run_id"] == first
    assert run(copy, "models", "TEST", "--promote", second).exit_code == 0
    assert current(copy) == second


def test_promote_unknown_run_is_exit_4_and_changes_nothing(trained: dict, copy: Path) -> None:
    result = run(copy, "models", "TEST", "--promote", "20200101T000000Z-abcdef")
    assert_error(result, 4, "20200101T000000Z-abcdef")
    assert current(copy) == trained["runs"][1]


def test_promote_a_corrupt_run_is_exit_4_and_changes_nothing(trained: dict, copy: Path) -> None:
    first, second = trained["runs"]
    weights = copy / "models" / "TEST" / first / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:-10])
    result = run(copy, "models", "TEST", "--promote", first)
    assert_error(result, 4, "weights.npz", "corrupt")
    assert current(copy) == second


def test_promote_waits_for_the_ticker_lock(trained: dict, copy: Path) -> None:
    with locks.hold(copy / "locks", "ticker-TEST", timeout=0):
        result = run(copy, "--wait", "0", "models", "TEST", "--promote", trained["runs"][0])
    assert_error(result, 6, "TEST")
    assert current(copy) == trained["runs"][1]


# --- forget ----------------------------------------------------------------------------------


def test_forget_without_yes_says_what_would_go_and_deletes_nothing(
    trained: dict, copy: Path
) -> None:
    result = run(copy, "forget", "TEST")
    days = make_prices(300, seed=5).index
    assert_error(
        result, 2, f"300 bars ({days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d})", "2 saved runs", "--yes"
    )
    assert len(stored_closes(copy, "TEST")) == 300
    assert sorted(p.name for p in (copy / "models" / "TEST").iterdir()) == sorted(
        [*trained["runs"], "current"]
    )


def test_forget_yes_deletes_bars_and_models_only_of_that_ticker(trained: dict, copy: Path) -> None:
    result = run(copy, "forget", "test", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    days = make_prices(300, seed=5).index
    assert json.loads(result.stdout) == {
        "ticker": "TEST",
        "rows": 300,
        "first": f"{days[0]:%Y-%m-%d}",
        "last": f"{days[-1]:%Y-%m-%d}",
        "runs": trained["runs"],
    }
    assert stored_closes(copy, "TEST") == {}
    assert sorted(p.name for p in (copy / "models").iterdir()) == []
    assert len(stored_closes(copy, "OTHER")) == 120
    with sqlite3.connect(copy / "store.sqlite") as conn:
        assert conn.execute("SELECT ticker FROM tickers").fetchall() == [("OTHER",)]
    assert_error(run(copy, "forget", "TEST", "--yes"), 3, "nothing stored for TEST")
    assert_error(run(copy, "predict", "TEST"), 4, "no model for TEST")


def test_forget_finishes_after_a_crash_between_models_and_bars(copy: Path) -> None:
    # A forget killed after moving the models aside but before deleting them and the bars.
    (copy / "models" / "TEST").rename(copy / "models" / ".forget-TEST")
    result = run(copy, "forget", "TEST", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rows"] == 300
    assert stored_closes(copy, "TEST") == {}
    assert list((copy / "models").iterdir()) == []


def test_forget_finishes_a_crash_that_left_only_hidden_models(copy: Path) -> None:
    (copy / "models" / "TEST").rename(copy / "models" / ".forget-TEST")
    with sqlite3.connect(copy / "store.sqlite") as conn:
        conn.execute("DELETE FROM bars WHERE ticker = 'TEST'")
        conn.execute("DELETE FROM tickers WHERE ticker = 'TEST'")
    result = run(copy, "forget", "TEST", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "ticker": "TEST",
        "rows": 0,
        "first": None,
        "last": None,
        "runs": [],
    }
    assert list((copy / "models").iterdir()) == []


def test_forget_holds_the_ticker_lock(copy: Path) -> None:
    with locks.hold(copy / "locks", "ticker-TEST", timeout=0):
        result = run(copy, "--wait", "0", "forget", "TEST", "--yes")
    assert_error(result, 6, "TEST")
    assert len(stored_closes(copy, "TEST")) == 300


def test_forget_an_invalid_ticker_is_exit_2(home: Path) -> None:
    assert_error(run(home, "forget", "../x", "--yes"), 2, "invalid ticker")
