"""The layouts of CSV exports that need more than pandas' defaults to read.

``yf.download(...).to_csv()`` writes its two-level columns as three header lines; this
module finds them so :func:`rnnforecast.data.sources.read_csv` reads such a file as one
header. Light: the csv module only.
"""

from __future__ import annotations

import csv
from pathlib import Path

from rnnforecast.errors import DataError


def yfinance_header_rows(path: Path, origin: str) -> list[int]:
    """The 0-based lines to skip so that ``yf.download(...).to_csv()``'s three header lines
    read as one: "Price,Close,High,..." (kept: the column names), "Ticker,GOOG,GOOG,..."
    and "Date,,,..." (either order of the first two, as ``group_by`` writes them). [] for
    any other file. Raises DataError if the file holds several tickers; OSError,
    UnicodeDecodeError or csv.Error if it cannot be read as text (the caller reports them)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        head = [row for _, row in zip(range(3), csv.reader(handle), strict=False)]
    firsts = [row[0].strip().lower() if row else "" for row in head]
    if len(head) < 3 or sorted(firsts[:2]) != ["price", "ticker"]:
        return []
    tickers = 1 if firsts[0] == "price" else 0
    symbols = sorted({cell.strip() for cell in head[tickers][1:] if cell.strip()})
    if len(symbols) > 1:
        raise DataError(
            f"{origin}: a yf.download() file of {len(symbols)} tickers "
            f"({', '.join(symbols[:5])}); save one ticker per file: "
            "yf.download('GOOG').to_csv('GOOG.csv')"
        )
    date_row = firsts[2] == "date" and not any(cell.strip() for cell in head[2][1:])
    return [tickers, 2] if date_row else [tickers]
