"""Re-adjusted history (issue "Years of nights on real data", row 1): when the overlap of a
fetch differs from the stored rows, the source's history is the truth. Yahoo's whole history
is fetched again and replaces the stored rows, a CSV's rows are taken, in one transaction,
and fetch says so; the next `run` retrains a model fitted on the old basis. An unexplained
daily jump over 40% or a gap of more than 10 sessions is warned about, not refused."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_CONFIG, FakeYahoo, cli, make_prices, yahoo_frame

from rnnforecast.data.store import Store

SPLIT = 2.0  # a 2:1 split: adjusted prices before it halve, volumes double


def split_adjusted(prices: pd.DataFrame) -> pd.DataFrame:
    """``prices`` as a source shows them after a 2:1 split that follows them."""
    adjusted = prices.copy()
    adjusted[["Open", "High", "Low", "Close"]] /= SPLIT
    adjusted["Volume"] *= SPLIT
    return adjusted


def after_split(prices: pd.DataFrame, n: int, seed: int = 8) -> pd.DataFrame:
    """``n`` new bars after ``prices``, trading at the post-split level."""
    more = make_prices(len(prices) + n, seed=seed).iloc[-n:].copy()
    scale = prices["Close"].iloc[-1] / SPLIT / more["Open"].iloc[0]
    more[["Open", "High", "Low", "Close"]] *= scale
    more.index = pd.bdate_range(prices.index[-1] + pd.offsets.BDay(1), periods=n, name="Date")
    return more


def yahoo_history(fake: FakeYahoo, history: list[pd.DataFrame]) -> None:
    """Make ``fake`` answer every request with ``history[0]`` between its start and end."""

    def answer(symbol: str, start: str | None, end: str | None) -> pd.DataFrame:
        frame = history[0]
        if start:
            frame = frame[frame.index >= pd.Timestamp(start)]
        if end:
            frame = frame[frame.index < pd.Timestamp(end)]
        return yahoo_frame(frame, symbol)

    fake.answers = [answer]


def now_after(prices: pd.DataFrame) -> str:
    return f"{(prices.index[-1] + pd.offsets.BDay(1)).date()}T12:00:00+00:00"


def fetch_json(home: Path, fake: FakeYahoo, now: str) -> tuple[dict, str]:
    result = cli("--now", now, "fetch", "AAPL", "--json", home=home, yahoo=fake)
    assert result.exit_code == 0, result.stderr
    (stored,) = json.loads(result.stdout)["tickers"]
    return stored, result.stderr


def log_returns(home: Path, ticker: str) -> np.ndarray:
    return np.diff(np.log(Store(home / "store.sqlite").read(ticker)["close"].to_numpy()))


def test_yahoo_split_refetches_the_whole_history(home: Path, fake_yahoo: FakeYahoo) -> None:
    old = make_prices(300)
    history = [old]
    yahoo_history(fake_yahoo, history)
    first, _ = fetch_json(home, fake_yahoo, now_after(old))
    assert first["rows"] == 300 and "readjusted" not in first
    # a quiet night: the overlap matches, one request, nothing to say
    quiet, stderr = fetch_json(home, fake_yahoo, now_after(old))
    assert (quiet["added"], quiet["changed"], stderr) == (0, 0, "")
    assert "readjusted" not in quiet and "warnings" not in quiet
    # the split: Yahoo re-adjusts every earlier row; five new bars at the new level
    new = pd.concat([split_adjusted(old), after_split(old, 5)])
    history[0] = new
    calls = len(fake_yahoo.calls)
    stored, stderr = fetch_json(home, fake_yahoo, now_after(new))
    week_before = str((old.index[-1] - pd.Timedelta(days=7)).date())
    assert [c["start"] for c in fake_yahoo.calls[calls:]] == [week_before, None]
    assert stored["readjusted"] is True
    assert (stored["rows"], stored["added"], stored["changed"]) == (305, 5, 300)
    assert "warnings" not in stored
    assert "AAPL: the source re-adjusted its history (300 stored rows differed" in stderr
    frame = Store(home / "store.sqlite").read("AAPL")
    np.testing.assert_allclose(frame["close"].to_numpy(), new["Close"].to_numpy())
    assert np.abs(log_returns(home, "AAPL")).max() < 0.1  # not the split's -0.69


def write_csv(path: Path, prices: pd.DataFrame) -> Path:
    prices.to_csv(path)
    return path


def fetch_csv(home: Path, path: Path) -> tuple[dict, str]:
    result = cli("fetch", "T", "--csv", str(path), "--json", home=home)
    assert result.exit_code == 0, result.stderr
    (stored,) = json.loads(result.stdout)["tickers"]
    return stored, result.stderr


def test_csv_rows_replace_the_stored_ones_and_an_old_basis_left_is_warned(
    tmp_path: Path, home: Path
) -> None:
    old = make_prices(300)
    fetch_csv(home, write_csv(tmp_path / "t.csv", old))
    # a re-export of the last 100 days only, adjusted for a split, and 5 new days
    recent = pd.concat([split_adjusted(old.iloc[200:]), after_split(old, 5)])
    stored, stderr = fetch_csv(home, write_csv(tmp_path / "t.csv", recent))
    assert stored["readjusted"] is True
    assert (stored["rows"], stored["added"], stored["changed"]) == (305, 5, 100)
    frame = Store(home / "store.sqlite").read("T")
    # the CSV's rows were taken; the 200 rows before it are kept as stored (nothing lost)
    np.testing.assert_allclose(frame["close"].iloc[200:], recent["Close"])
    np.testing.assert_allclose(frame["close"].iloc[:200], old["Close"].iloc[:200])
    # ... and the jump where the old basis meets the new is warned about, not refused
    day, next_day = old.index[199].date(), old.index[200].date()
    (warning,) = stored["warnings"]
    assert warning.startswith(f"T: the close moved -50% from {day} to {next_day}")
    assert "`rnnforecast fetch T --replace`" in warning
    assert f"warning: {warning}\n" in stderr
    # the same file again: nothing new, nothing changed, nothing to say
    again, stderr = fetch_csv(home, tmp_path / "t.csv")
    assert (again["added"], again["changed"]) == (0, 0)
    assert "re-adjusted" not in stderr and "moved" not in stderr
    assert "warnings" not in again and "readjusted" not in again


def test_a_gap_of_more_than_ten_sessions_is_warned(tmp_path: Path, home: Path) -> None:
    prices = make_prices(120)
    holed = pd.concat([prices.iloc[:50], prices.iloc[62:]])  # 12 weekdays missing
    stored, _ = fetch_csv(home, write_csv(tmp_path / "t.csv", holed))
    gap = f"no bar for 12 sessions between {prices.index[49].date()} and {prices.index[62].date()}"
    assert [w for w in stored["warnings"] if "no bar" in w] == [
        f"T: {gap}: check the source's bars there; `rnnforecast fetch T --replace` stores "
        "its whole history again"
    ]
    assert stored["rows"] == 108  # warned, not refused
    ten = pd.concat([prices.iloc[:50], prices.iloc[60:]])  # 10 missing: nothing to say
    path = write_csv(tmp_path / "u.csv", ten)
    result = cli("fetch", "U", "--csv", str(path), "--json", home=home)
    assert result.exit_code == 0, result.stderr
    assert "warnings" not in json.loads(result.stdout)["tickers"][0]


@pytest.mark.parametrize(("factor", "move"), [(10.0, "+"), (0.1, "-")])
def test_an_unadjusted_1_to_10_split_in_a_csv_is_warned_at_fetch(
    tmp_path: Path, home: Path, factor: float, move: str
) -> None:
    """A CSV whose older rows were never adjusted for a 1:10 (reverse) split, or a 10:1 one:
    the close jumps x10 or /10 on one day; the fetch stores it and says where to look."""
    prices = make_prices(120)
    prices.iloc[60:, :4] *= factor
    result = cli("fetch", "T", "--csv", str(write_csv(tmp_path / "t.csv", prices)), home=home)
    assert result.exit_code == 0, result.stderr
    day, before = prices.index[60].date(), prices.index[59].date()
    [line] = [w for w in result.stderr.splitlines() if w.startswith("warning: T: the close")]
    assert f"the close moved {move}" in line and f"from {before} to {day}" in line
    assert "`rnnforecast fetch T --replace`" in line


@pytest.mark.slow  # trains twice
def test_run_retrains_a_model_fitted_on_the_old_basis(tmp_path: Path, home: Path) -> None:
    old = make_prices(220, seed=1)
    write_csv(tmp_path / "aaa.csv", old)
    config = tmp_path / "nightly.toml"
    config.write_text(
        TINY_CONFIG
        + textwrap.dedent(
            """
            [run]
            warm_start = true
            tickers = [{ ticker = "AAA", source = "csv", path = "aaa.csv" }]
            """
        )
    )
    first = cli("run", "--config", str(config), "--json", home=home)
    assert first.exit_code == 0, first.stderr
    champion = json.loads(first.stdout)["tickers"][0]["run_id"]
    write_csv(tmp_path / "aaa.csv", pd.concat([split_adjusted(old), after_split(old, 1)]))
    second = cli("run", "--config", str(config), "--json", home=home)
    assert second.exit_code == 0, second.stderr
    (aaa,) = json.loads(second.stdout)["tickers"]
    assert aaa["promoted"] is True
    assert (
        aaa["reason"] == f"current model {champion} was trained on bars since re-adjusted; replaced"
    )
    assert aaa["warm_start"] is None
    assert (
        aaa["from_scratch"] == f"the bars current model {champion} was trained on were re-adjusted"
    )
