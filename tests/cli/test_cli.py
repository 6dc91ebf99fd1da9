"""The CLI as a user runs it: exact exit codes, one-line errors on stderr, JSON contracts.

Networks here are tiny (window 10, 4 units, 2 epochs) on 300 synthetic rows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, assert_error, cli, make_prices, reseal, trained_entry, yahoo_frame

from rnnforecast.errors import EXIT_CODES


def manifest_numpy_check(bundle: Path) -> dict:
    check = json.loads((bundle / "manifest.json").read_text())["numpy_check"]
    assert check["max_abs_diff"] <= check["tolerance"] == 1e-5
    return check


def store_rows(home: Path) -> list[tuple]:
    import sqlite3

    path = home / "store.sqlite"
    if not path.exists():
        return []
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT * FROM bars ORDER BY ticker, date").fetchall()


# --- help, version ---------------------------------------------------------------------------


def test_help_lists_every_command_and_the_exit_codes() -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for command in ("fetch", "train", "evaluate", "predict"):
        assert command in result.stdout
    flat = " ".join(result.stdout.split())  # help text wraps lines anywhere
    for code, text in EXIT_CODES.items():
        assert f"{code} {text.split()[0]}" in flat, code


def test_no_arguments_shows_help() -> None:
    result = cli()
    assert "Usage" in result.stdout + result.stderr


def test_version() -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("rnnforecast ")


# --- fetch -----------------------------------------------------------------------------------


def test_fetch_sample_then_again_adds_nothing(home: Path) -> None:
    first = cli("fetch", "--sample", "--json")
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout) == {
        "tickers": [
            {
                "ticker": "GOOG",
                "rows": 2148,
                "first": "2004-08-19",
                "last": "2013-03-01",
                "added": 2148,
                "source": "sample",
                "changed": 0,
                "calendar": "XNYS",
                "off_calendar": 0,
            }
        ]
    }
    again = cli("fetch", "--sample", "--json")
    assert json.loads(again.stdout)["tickers"][0]["added"] == 0
    assert len(store_rows(home)) == 2148


def test_fetch_plain_output_is_tab_separated_when_not_a_terminal() -> None:
    result = cli("fetch", "--sample")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "ticker\trows\tfirst\tlast\tadded\tsource\tcalendar",
        "GOOG\t2148\t2004-08-19\t2013-03-01\t2148\tsample\tXNYS",
    ]


def test_fetch_csv_with_start_and_end(prices_csv: Path) -> None:
    result = cli(
        "fetch",
        "ABC",
        "--csv",
        str(prices_csv),
        "--start",
        "2020-02-01",
        "--end",
        "2020-02-29",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    row = json.loads(result.stdout)["tickers"][0]
    assert (row["first"], row["last"], row["rows"]) == ("2020-02-03", "2020-02-28", 20)


def test_fetch_yahoo_through_the_fake(fake_yahoo, home: Path) -> None:
    prices = make_prices(120)
    fake_yahoo.answers = [yahoo_frame(prices, "MSFT")]
    result = cli("fetch", "msft", "--json", yahoo=fake_yahoo)
    assert result.exit_code == 0, result.stderr
    row = json.loads(result.stdout)["tickers"][0]
    assert (row["ticker"], row["rows"], row["added"], row["source"]) == ("MSFT", 120, 120, "yahoo")
    assert row["first"] == str(prices.index[0].date())
    assert fake_yahoo.calls[0]["auto_adjust"] is True
    # Fetching again asks only for the last week onwards and adds nothing new.
    again = cli("fetch", "MSFT", "--json", yahoo=fake_yahoo)
    assert json.loads(again.stdout)["tickers"][0]["added"] == 0
    assert fake_yahoo.calls[1]["start"] is not None


@pytest.mark.parametrize(
    ("answer", "code", "words"),
    [
        (ConnectionError("network is unreachable"), 5, ["Yahoo unreachable", "try again later"]),
        ("rate", 5, ["rate limited"]),
        ("missing", 3, ["no data for this symbol"]),
        (pd.DataFrame(), 3, ["no data"]),
    ],
)
def test_fetch_yahoo_failures(fake_yahoo, home: Path, answer, code, words) -> None:
    from yfinance.exceptions import YFPricesMissingError, YFRateLimitError

    answer = (
        {"rate": YFRateLimitError(), "missing": YFPricesMissingError("ZZZZ", "")}.get(
            answer, answer
        )
        if isinstance(answer, str)
        else answer
    )
    fake_yahoo.answers = [answer]
    assert_error(cli("fetch", "ZZZZ", yahoo=fake_yahoo), code, "ZZZZ", *words)
    assert store_rows(home) == []


def test_failed_fetch_of_second_ticker_keeps_the_first(fake_yahoo, home: Path) -> None:
    fake_yahoo.answers = [{"AAA": yahoo_frame(make_prices(60), "AAA"), "BBB": ConnectionError()}]
    result = cli("fetch", "AAA", "BBB", yahoo=fake_yahoo)
    assert result.exit_code == 5, result.stderr  # the one failure's code: the source
    assert {row[0] for row in store_rows(home)} == {"AAA"}


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        ({"AAA": "frame", "BBB": "missing", "CCC": "down"}, 7),  # 3 and 5: they differ
        ({"AAA": "down", "BBB": "frame", "CCC": "down"}, 5),  # the code they share
        ({"AAA": "missing", "BBB": "missing", "CCC": "missing"}, 3),
        ({"AAA": "frame", "BBB": "frame", "CCC": "frame"}, 0),
    ],
)
def test_fetch_of_several_tickers_at_once_exits_with_their_failures_code(
    fake_yahoo, home: Path, answers: dict[str, str], code: int
) -> None:
    from rnnforecast.data.yahoo import DownloadFailure

    kinds = {
        "frame": yahoo_frame(make_prices(60), "X"),
        "missing": DownloadFailure("missing", "no such symbol"),
        "down": ConnectionError("down"),
    }
    fake_yahoo.answers = [{ticker: kinds[kind] for ticker, kind in answers.items()}]
    result = cli("fetch", "AAA", "BBB", "CCC", "--retries", "0", "--json", yahoo=fake_yahoo)
    assert result.exit_code == code, result.stderr
    document = json.loads(result.stdout)
    assert [t["ticker"] for t in document["tickers"]] == ["AAA", "BBB", "CCC"]
    expected = {"frame": None, "missing": 3, "down": 5}
    assert [t.get("error", {}).get("code") for t in document["tickers"]] == [
        expected[answers[t]] for t in ("AAA", "BBB", "CCC")
    ]
    stored = sorted(t for t, kind in answers.items() if kind == "frame")
    assert sorted({row[0] for row in store_rows(home)}) == stored


def test_fetch_keeps_to_its_concurrency(fake_yahoo, home: Path) -> None:
    import threading

    flying, peak, calls, counting = [0], [0], [0], threading.Condition()

    def answer(symbol: str, start: str | None, end: str | None) -> pd.DataFrame:
        with counting:
            flying[0] += 1
            calls[0] += 1
            peak[0] = max(peak[0], flying[0])
            counting.notify_all()
            if calls[0] <= 2:  # the first two meet, then wait a while for a third
                counting.wait_for(lambda: peak[0] >= 2, timeout=5)
                counting.wait_for(lambda: peak[0] >= 3, timeout=0.2)
            flying[0] -= 1
        return yahoo_frame(make_prices(60), symbol)

    fake_yahoo.answers = [answer]
    tickers = ["AAA", "BBB", "CCC", "DDD", "EEE"]
    result = cli("fetch", *tickers, "--concurrency", "2", "--json", yahoo=fake_yahoo)
    assert result.exit_code == 0, result.stderr
    assert [t["ticker"] for t in json.loads(result.stdout)["tickers"]] == tickers
    assert peak[0] == 2
    # the starts were spaced half a second apart on the retry clock (2 a second)
    assert sum(fake_yahoo.sleeps) >= 0.5 * (len(tickers) - 1) - 1e-9


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["fetch", "../x"], ["invalid ticker", "../x"]),
        (["fetch", ""], ["invalid ticker"]),
        (["fetch", "A B"], ["invalid ticker"]),
        (["fetch", "X" * 40], ["invalid ticker"]),
        (["fetch", "--csv", "missing.csv", "X"], ["not found", "missing.csv"]),
        (["fetch", "--sample", "--csv", "a.csv"], ["choose one"]),
        (["fetch", "X", "--start", "2020-02-01", "--end", "2020-01-01"], ["after"]),
        (["fetch", "X", "--start", "yesterday"], ["--start"]),
        (["fetch", "X", "--no-such-option"], ["--no-such-option"]),
        (["fetch", "X", "Y", "--concurrency", "0"], ["--concurrency"]),
        (["fetch", "X", "Y", "--per-second", "0"], ["--per-second"]),
        (["train", "GOOG", "--config", "nope.toml"], ["config file not found"]),
        (["train", "GOOG", "--set", "model.unitz=3"], ["model.unitz"]),
        (["train", "GOOG", "--set", "model.units=many"], ["model.units"]),
        (["train", "GOOG", "--set", "data.window=1"], ["data.window"]),
        (["train", "GOOG", "--set", "data.test_fraction=1.5"], ["test_fraction"]),
        (["train", "GOOG", "--set", "units=3"], ["SECTION.KEY=VALUE"]),
        (["train", "GOOG", "--epochs", "0"], ["--epochs"]),
    ],
)
def test_bad_usage_exits_2(args: list[str], words: list[str]) -> None:
    assert_error(cli(*args), 2, *words)


def test_invalid_toml_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\nunits = 3")
    assert_error(cli("train", "GOOG", "--config", str(bad)), 2, "not valid TOML")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", ["empty"]),
        ("Date,Open,High,Low,Volume\n2020-01-02,1,2,0.5,10\n", ["missing column Close"]),
        ("Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,0.5,abc,10\n", ["non-numeric", "Close"]),
        ("Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,0.5,-1,10\n", ["not positive"]),
        (
            "Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,0.5,1,10\n2020-01-02,1,2,0.5,1,10\n",
            ["duplicate date 2020-01-02"],
        ),
        ("Date,Open,High,Low,Close,Volume\n2020-01-02 10:30,1,2,0.5,1,10\n", ["intraday"]),
    ],
)
def test_bad_csv_exits_3_and_stores_nothing(tmp_path: Path, home: Path, content, words) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert_error(cli("fetch", "BAD", "--csv", str(path)), 3, *words)
    assert store_rows(home) == []


def test_bad_csv_leaves_existing_rows_untouched(tmp_path: Path, prices_csv: Path, home) -> None:
    assert cli("fetch", "ABC", "--csv", str(prices_csv)).exit_code == 0
    before = store_rows(home)
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Open,High,Low,Close,Volume\n2030-01-02,1,2,0.5,abc,10\n")
    assert cli("fetch", "ABC", "--csv", str(bad)).exit_code == 3
    assert store_rows(home) == before


def test_other_source_for_stored_ticker_needs_replace(prices_csv: Path) -> None:
    assert cli("fetch", "GOOG", "--csv", str(prices_csv)).exit_code == 0
    refused = cli("fetch", "--sample")
    assert refused.exit_code == 2
    assert refused.stderr == (
        "error: GOOG is stored from a CSV file, not the bundled sample: use --replace to "
        "start it afresh\n"
    )
    replaced = cli("fetch", "--sample", "--replace", "--json")
    assert json.loads(replaced.stdout)["tickers"][0]["rows"] == 2148


# --- train -----------------------------------------------------------------------------------


def test_train_without_data_exits_3(tiny_config: Path) -> None:
    assert_error(cli("train", "NODATA", "--config", str(tiny_config)), 3, "NODATA", "fetch")


def test_train_with_too_few_rows_exits_3(tmp_path: Path, tiny_config: Path) -> None:
    csv = tmp_path / "short.csv"
    make_prices(15).to_csv(csv)
    assert cli("fetch", "SHORT", "--csv", str(csv)).exit_code == 0
    assert_error(cli("train", "SHORT", "--config", str(tiny_config)), 3, "not enough data", "15")


def test_train_json_contract_and_bundle(trained: dict) -> None:
    out = trained["train"]
    assert set(out) >= {
        "ticker",
        "run_id",
        "path",
        "epochs_run",
        "test",
        "model",
        "naive",
        "beats_naive",
    }
    assert out["ticker"] == "TEST"
    bundle = Path(out["path"])
    assert bundle == trained["home"] / "models" / "TEST" / out["run_id"]
    assert {p.name for p in bundle.iterdir()} == {
        "model.keras",
        "weights.npz",
        "scalers.json",
        "manifest.json",
        "manifest.sha256",
        "train.log",
        # no scored_weights.npz: the tiny network's move does not pass the gate and its own
        # interval is naive_conformal, so nothing served needs it refitted: the bundle's one
        # network is the scored fit (test_refit covers the bundle of a refit)
        "intervals.json",  # whose intervals predict serves
    }
    assert out["serving"]["refit"] is False
    assert manifest_numpy_check(bundle)["passed"] is True
    current = (trained["home"] / "models" / "TEST" / "current").read_text().strip()
    assert current == out["run_id"]
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["schema_version"] == 1
    assert manifest["features"] == ["open", "high", "low", "close", "volume"]
    assert manifest["window"] == 10
    assert manifest["seed"] == 7
    assert manifest["data"]["fingerprint"].startswith("sha256:")
    assert manifest["data"]["test"] == out["test"]
    assert {"tensorflow", "keras", "numpy", "pandas", "python"} <= set(manifest["versions"])
    assert manifest["training"]["epochs_run"] == out["epochs_run"]
    # Scalers saw only rows before the first validation target.
    assert manifest["data"]["scaler_rows"]["end"] < manifest["data"]["validation"]["start"]
    assert manifest["data"]["validation"]["end"] < manifest["data"]["test"]["start"]


@pytest.mark.slow  # trains
def test_train_tells_a_person_what_it_did(tmp_path: Path, tiny_config: Path) -> None:
    """Without --json: one line on stderr (epochs, seconds, the shrink factor and the p-value
    of its validation edge, where it was saved), the scores as tab-separated lines on stdout
    (not a terminal)."""
    csv = tmp_path / "p.csv"
    make_prices(300, seed=4).to_csv(csv)
    assert cli("fetch", "P", "--csv", str(csv)).exit_code == 0
    result = cli("train", "P", "--config", str(tiny_config))
    assert result.exit_code == 0, result.stderr
    line = result.stderr.strip().splitlines()[0]
    match = re.fullmatch(
        r"trained P run (\S+): \d+ epochs \(best \d+\) in [\d.]+s; shrink ([\d.]+)"
        r"(?: \(calibration edge over naive: p = ([\d.]+)\))?; saved to (.+)",
        line,
    )
    assert match, line
    manifest = json.loads((Path(match[4]) / "manifest.json").read_text())
    calibration = manifest["calibration"]
    assert float(match[2]) == pytest.approx(calibration["shrink"][0], abs=0.005)
    p_value = calibration["shrink_p_value"][0]
    assert (match[3] is None) == (p_value is None)
    assert result.stdout.splitlines()[0].split("\t") == ["metric", "model", "naive", "drift"]


# --- evaluate --------------------------------------------------------------------------------


def test_evaluate_json_contract_and_naive_scores(trained: dict, trained_home: Path) -> None:
    result = cli("evaluate", "TEST", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {
        "ticker",
        "run_id",
        "fit",
        "trained_through",
        "calibrated_through",
        "network_used",
        "test",
        "horizon",
        "model",
        "naive",
        "beats_naive",
        "drift",
        "up_share",
        "lag_check",
        "uncalibrated",
        "intervals",
        "steps",
        "significance",
        "risk",
        "warnings",
    }
    assert set(out["test"]) == {"start", "end", "n"}
    assert set(out["model"]) == {
        "rmse",
        "mae",
        "mape",
        "rel_mae",
        "mase",
        "directional_accuracy",
        "n_no_move",
    }
    assert set(out["naive"]) == {"rmse", "mae", "mape", "mase"}
    assert out["run_id"] == trained["train"]["run_id"]
    assert out["test"] == trained["train"]["test"]
    assert out["model"].keys() == trained["train"]["model"].keys()
    for key, value in trained["train"]["model"].items():  # None: not computable (no moves)
        assert out["model"][key] == (None if value is None else pytest.approx(value, rel=1e-6))
    assert out["beats_naive"] == (out["model"]["rel_mae"] < 1)
    # The naive forecast, computed independently from the raw prices.
    close = trained["prices"]["Close"]
    days = close.loc[out["test"]["start"] : out["test"]["end"]]
    previous = close.shift(1).loc[days.index]
    assert len(days) == out["test"]["n"]
    assert out["naive"]["mae"] == pytest.approx(np.mean(np.abs(days - previous)), rel=1e-9)
    assert out["model"]["rel_mae"] == pytest.approx(out["model"]["mae"] / out["naive"]["mae"])


def test_evaluate_table_when_not_json(trained_home: Path) -> None:
    out = json.loads(cli("evaluate", "TEST", "--json").stdout)
    result = cli("evaluate", "TEST")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "metric\tmodel\tnaive\tdrift"
    assert [line.split("\t")[0] for line in lines[1:9]] == [
        "rmse",
        "mae",
        "mape_%",
        "rel_mae",
        "mase",
        f"directional_accuracy ({out['model']['n_no_move']} no-move left out)",
        "uncalibrated_rel_mae",
        "interval_coverage (80%)",
    ]
    # then the model's one-step intervals next to the baselines (tests/risk/test_riskreport.py)
    assert lines[9] == "forecast\tIS80\tcov80\tIS95\tcov95\tQLIKE\tpinball"
    assert "naive" in result.stderr and "MAE / naive MAE" in result.stderr


# --- predict ---------------------------------------------------------------------------------


def test_predict_json_contract(trained: dict, trained_home: Path) -> None:
    result = cli("predict", "TEST", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {
        "ticker",
        "run_id",
        "as_of",
        "last_close",
        "interval_level",
        "interval_method",
        "network_used",
        "calendar",
        "stale_sessions",
        "forecasts",
        "warnings",
    }
    last_day = trained["prices"].index[-1]
    assert out["as_of"] == str(last_day.date())
    assert out["last_close"] == pytest.approx(trained["prices"]["Close"].iloc[-1])
    (forecast,) = out["forecasts"]
    day = pd.Timestamp(forecast["date"])
    assert day > last_day and day.weekday() < 5
    assert (day - last_day).days <= 3
    assert np.isfinite(forecast["close"]) and forecast["close"] > 0
    assert forecast["low"] < forecast["close"] < forecast["high"]
    assert out["interval_level"] == 0.8
    # A second, independent load of the bundle gives the very same forecast.
    again = json.loads(cli("predict", "TEST", "--json").stdout)
    assert again == out


def test_predict_named_run(trained: dict, trained_home: Path) -> None:
    run_id = trained["train"]["run_id"]
    result = cli("predict", "TEST", "--run", run_id, "--json")
    assert json.loads(result.stdout)["run_id"] == run_id


def test_predict_without_model_exits_4(prices_csv: Path) -> None:
    assert cli("fetch", "ABC", "--csv", str(prices_csv)).exit_code == 0
    result = cli("predict", "ABC")
    assert_error(result, 4)
    assert result.stderr == "error: no model for ABC: run `rnnforecast train ABC` first\n"


def test_evaluate_of_an_unknown_group_hints_at_a_global_train(tmp_path: Path) -> None:
    """A group is trained from its tickers: the hint is not `train @NAME`, which is no ticker."""
    result = cli("evaluate", "@sector", home=tmp_path / "home")
    assert_error(result, 4)
    assert result.stderr == (
        "error: no model for @SECTOR: train its tickers first, "
        "`rnnforecast train T1 T2 --global --name SECTOR`\n"
    )


def test_predict_unknown_run_exits_4(trained_home: Path) -> None:
    assert_error(cli("predict", "TEST", "--run", "20990101T000000Z-abcdef"), 4, "no run")


@pytest.fixture
def bundle(trained: dict, trained_home: Path) -> Path:
    """The current bundle in this test's copy of the trained home, for tests that damage it."""
    return trained_home / "models" / "TEST" / trained["train"]["run_id"]


def test_corrupt_model_file_exits_4_with_path(bundle: Path) -> None:
    model = bundle / "model.keras"
    model.write_bytes(model.read_bytes()[:100])
    assert_error(cli("predict", "TEST"), 4, str(model), "corrupt")
    assert_error(cli("evaluate", "TEST"), 4, str(model))


def test_manifest_that_disagrees_with_the_network_exits_4(bundle: Path) -> None:
    """A manifest edited to another window (checksums fixed up) is still refused."""
    from rnnforecast.storage.artifacts import MANIFEST_FILE

    path = bundle / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    manifest["window"] = manifest["config"]["data"]["window"] = 12
    path.write_text(json.dumps(manifest))
    reseal(path)
    assert_error(cli("predict", "TEST"), 4, "weights.npz", "(m, 10, 5)", "(m, 12, 5)")
    # Without numpy weights, the Keras network itself is checked.
    (bundle / "weights.npz").unlink()
    manifest["files"].pop("weights.npz")
    path.write_text(json.dumps(manifest))
    reseal(path)
    assert_error(cli("predict", "TEST"), 4, "model.keras", "(None, 12, 5)")


def test_garbage_current_pointer_exits_4(trained_home: Path) -> None:
    (trained_home / "models" / "TEST" / "current").write_text("../../etc\n")
    assert_error(cli("predict", "TEST"), 4, "current")


def test_internal_errors_exit_1_without_traceback(monkeypatch, trained_home: Path) -> None:

    from rnnforecast.jobs import prediction

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(prediction, "predict", broken)
    result = cli("predict", "TEST")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "internal error: RuntimeError: boom (a bug; set RNNFORECAST_DEBUG=1 for the traceback)"
    ]


def test_same_seed_same_model(trained: dict, tmp_path: Path) -> None:
    """Training twice with the same seed on the same machine gives the same network (weights
    to the bit) and so the same scores, raw and calibrated."""
    home = tmp_path / "again"
    csv = tmp_path / "p.csv"
    trained["prices"].to_csv(csv)
    assert cli("fetch", "TEST", "--csv", str(csv), home=home).exit_code == 0
    result = cli("train", "TEST", "--config", str(trained["config"]), "--json", home=home)
    out = trained_entry(result.stdout)
    assert out["model"] == trained["train"]["model"]
    assert out["uncalibrated"] == trained["train"]["uncalibrated"]
    with (
        np.load(Path(trained["train"]["path"]) / "weights.npz") as first,
        np.load(Path(out["path"]) / "weights.npz") as again,
    ):
        assert sorted(first.files) == sorted(again.files)
        for name in first.files:
            assert np.array_equal(first[name], again[name]), name


# --- the bundled sample end to end -----------------------------------------------------------


@pytest.mark.slow  # trains
def test_sample_end_to_end_with_smoke_config() -> None:
    smoke = REPO / "configs" / "smoke.toml"
    assert cli("fetch", "--sample").exit_code == 0
    trained = cli("train", "GOOG", "--config", str(smoke), "--epochs", "1", "--json")
    assert trained.exit_code == 0, trained.stderr
    evaluated = json.loads(cli("evaluate", "GOOG", "--json").stdout)
    assert evaluated["test"] == {"start": "2011-06-29", "end": "2013-03-01", "n": 420}
    assert evaluated["naive"]["mae"] == pytest.approx(7.2453, abs=1e-4)
    forecast = json.loads(cli("predict", "GOOG", "--json").stdout)
    assert forecast["as_of"] == "2013-03-01"
    assert forecast["forecasts"][0]["date"] == "2013-03-04"  # a Friday's next weekday


def test_a_ticker_manifest_begins_with_its_header_in_the_saved_order(trained: dict) -> None:
    """The header a ticker's and a group's manifests share keeps the order bundles were
    saved in before it was one function (test_global pins the group's)."""
    manifest = json.loads((Path(trained["train"]["path"]) / "manifest.json").read_text())
    assert list(manifest)[:11] == [
        "schema_version",
        "run_id",
        "ticker",
        "created_at",
        "config",
        "features",
        "target",
        "window",
        "horizon",
        "seed",
        "data",
    ]
    assert (manifest["ticker"], manifest["run_id"]) == ("TEST", trained["train"]["run_id"])
    assert (manifest["window"], manifest["horizon"]) == (10, 1)


def test_verbose_prints_epoch_lines_on_stderr_when_not_a_terminal(
    trained: dict, trained_home: Path
) -> None:
    result = cli("--verbose", "train", "TEST", "--config", str(trained["config"]), "--json")
    assert result.exit_code == 0
    assert "epoch 1/2 loss " in result.stderr and "val_loss" in result.stderr
    trained_entry(result.stdout)  # stdout stays one JSON document
    assert trained["stderr"] == ""  # the same training without --verbose said nothing


def test_dates_out_of_order_are_sorted(tmp_path: Path, home: Path) -> None:
    prices = make_prices(30)
    path = tmp_path / "shuffled.csv"
    prices.sample(frac=1.0, random_state=1).to_csv(path)
    result = cli("fetch", "SHUF", "--csv", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    dates = [row[1] for row in store_rows(home)]
    assert dates == sorted(dates) and len(dates) == 30


def test_weekly_bars_are_refused(tmp_path: Path, home: Path) -> None:
    weekly = make_prices(30)
    weekly.index = pd.date_range("2020-01-03", periods=30, freq="W-FRI", name="Date")
    path = tmp_path / "weekly.csv"
    weekly.to_csv(path)
    assert_error(cli("fetch", "WEEK", "--csv", str(path)), 3, "weekly or monthly", "daily")
    assert store_rows(home) == []


def test_config_value_of_the_wrong_type_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "typed.toml"
    path.write_text('[model]\nunits = "many"\n')
    assert_error(cli("train", "GOOG", "--config", str(path)), 2, "model.units", "integer")


def test_delisted_yahoo_symbol_exits_3(fake_yahoo, home: Path) -> None:
    from yfinance.exceptions import YFTzMissingError

    fake_yahoo.answers = [YFTzMissingError("GONE")]
    assert_error(cli("fetch", "GONE", yahoo=fake_yahoo), 3, "GONE", "delisted")
    assert len(fake_yahoo.calls) == 1  # no retry: asking again will not bring it back
    assert store_rows(home) == []
