"""The Python API's data side, on a par with the command line: a day-first CSV with its
``date_format``, a London ``calendar``, a DataFrame of one's own, and the stored bars read
back with :func:`rnnforecast.api.bars`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_prices

from rnnforecast import api
from rnnforecast.errors import DataError, NoStoredData, UsageError


@pytest.fixture
def prices() -> pd.DataFrame:
    return make_prices(60, seed=7, start="2021-03-01")


def _frame_like_a_user(prices: pd.DataFrame) -> pd.DataFrame:
    """The bars as a user might hold them: a date column of Timestamps, odd spellings, an
    Adj Close beside the close, and a column rnnforecast does not read."""
    frame = prices.reset_index().rename(
        columns={"Open": "OPEN", "High": "high", "Low": " Low ", "Close": "close"}
    )
    frame["Adj Close"] = frame["close"] * 0.5
    frame["Dividends"] = 0.0
    return frame[["Date", "Adj Close", "close", "OPEN", " Low ", "high", "Volume", "Dividends"]]


def test_day_first_csv_with_its_date_format(prices: pd.DataFrame, tmp_path: Path) -> None:
    csv = tmp_path / "eu.csv"
    prices.to_csv(csv, date_format="%d/%m/%Y")
    fc = api.Forecaster(tmp_path / "home")
    with pytest.raises(DataError):  # 01/03 .. 12/03 and beyond: read as day-first or not at all
        fc.fetch("EU", csv=csv, date_format="%m/%d/%Y")
    stored = fc.fetch("EU", csv=csv, date_format="%d/%m/%Y")
    assert stored["first"].tolist() == ["2021-03-01"]
    bars = fc.bars("EU")
    assert bars.index[0] == pd.Timestamp("2021-03-01")
    assert bars.index[-1] == prices.index[-1]


def test_calendar_is_recorded(prices: pd.DataFrame, tmp_path: Path) -> None:
    csv = tmp_path / "vod.csv"
    prices.to_csv(csv)
    home = tmp_path / "home"
    api.fetch("VOD.L", csv=csv, calendar="XLON", home=home)
    api.fetch("AAA", csv=csv, home=home)
    listed = api.list_tickers(home=home).set_index("ticker")["calendar"].to_dict()
    assert listed == {"AAA": "XNYS", "VOD.L": "XLON"}
    with pytest.raises(UsageError):
        api.fetch("BAD", csv=csv, calendar="NOPE", home=home)


def test_a_dataframe_imports_as_its_csv_does(prices: pd.DataFrame, tmp_path: Path) -> None:
    csv = tmp_path / "aaa.csv"
    prices.to_csv(csv)
    fc = api.Forecaster(tmp_path / "home")
    from_csv = fc.fetch("FILE", csv=csv)
    from_frame = fc.fetch("OWN", data=_frame_like_a_user(prices))
    columns = ["rows", "first", "last", "added"]
    assert from_frame[columns].values.tolist() == from_csv[columns].values.tolist()
    assert from_frame["source"].tolist() == ["frame"]
    pd.testing.assert_frame_equal(fc.bars("OWN"), fc.bars("FILE"))
    # a date index (tz-aware, as yfinance's history() gives it) and text dates work too
    indexed = prices.tz_localize("America/New_York")
    fc.fetch("IDX", data=indexed)
    pd.testing.assert_frame_equal(fc.bars("IDX"), fc.bars("FILE"))
    text = prices.set_axis(prices.index.strftime("%d/%m/%Y"), axis=0)
    fc.fetch("TXT", data=text, date_format="%d/%m/%Y")
    pd.testing.assert_frame_equal(fc.bars("TXT"), fc.bars("FILE"))


def test_bars_round_trip(prices: pd.DataFrame, tmp_path: Path) -> None:
    home = tmp_path / "home"
    api.fetch("rt", data=prices, home=home)
    bars = api.bars("rt", home=home)
    assert isinstance(bars.index, pd.DatetimeIndex)
    assert bars.index.dtype == np.dtype("datetime64[ns]") or bars.index.dtype.kind == "M"
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
    assert (bars.dtypes == np.float64).all()
    np.testing.assert_array_equal(bars.index.values, prices.index.values)
    np.testing.assert_allclose(bars.to_numpy(), prices.to_numpy(), rtol=0, atol=0)


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda h, p: api.fetch("X", data=p.to_numpy(), home=h), UsageError, "DataFrame"),
        (lambda h, p: api.fetch("X", data=[1, 2], home=h), UsageError, "DataFrame"),
        (lambda h, p: api.fetch("X", data=p.iloc[:0], home=h), DataError, "no rows"),
        (lambda h, p: api.fetch("X", data=p.reset_index(drop=True), home=h), DataError, "date"),
        (lambda h, p: api.fetch("X", data=p.drop(columns="Low"), home=h), DataError, "Low"),
        (lambda h, p: api.fetch("X", data=p.assign(Close="x"), home=h), DataError, "Close"),
        (
            lambda h, p: api.fetch("X", data=p.rename(columns={"Open": "close"}), home=h),
            DataError,
            "two columns",
        ),
        (lambda h, p: api.fetch("X", data=pd.concat([p, p]), home=h), DataError, "duplicate"),
        (
            lambda h, p: api.fetch("X", data=p.set_axis(["junk"] * len(p), axis=0), home=h),
            DataError,
            "junk",
        ),
        (lambda h, p: api.fetch("X", data=p, csv="a.csv", home=h), UsageError, "choose one"),
        (lambda h, p: api.fetch("X", date_format="%d/%m/%Y", home=h), UsageError, "date_format"),
        (lambda h, p: api.bars("NONE", home=h), NoStoredData, "NONE"),
        (lambda h, p: api.bars("no/pe", home=h), UsageError, "ticker"),
    ],
)
def test_bad_input_raises_our_errors(
    call: object, error: type[Exception], words: str, prices: pd.DataFrame, tmp_path: Path
) -> None:
    with pytest.raises(error, match=words):
        call(tmp_path / "home", prices)  # type: ignore[operator]
