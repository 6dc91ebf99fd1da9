"""The layout of a daily bar, in one place: column names, their order, their indices.

Frames of bars have the columns :data:`COLUMNS` in this order; numpy matrices of bars are
``(rows, 5)`` float64 with the same order, so ``rows[:, CLOSE]`` are the closes. Prices are
in the instrument's currency, volume in shares. Light: no pandas, no numpy (predict uses it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the frame's type only: importing pandas costs predict 0.3 s
    import numpy as np
    import pandas as pd

COLUMNS = ("open", "high", "low", "close", "volume")
"""A bar's columns, in the order of every frame and matrix of bars."""
OPEN, HIGH, LOW, CLOSE, VOLUME = range(len(COLUMNS))
"""Column indices into a ``(..., 5)`` matrix of bars."""
PRICES = COLUMNS[:VOLUME]
"""The four price columns (open, high, low, close), at indices ``0:VOLUME``."""
INDEX = {name: i for i, name in enumerate(COLUMNS)}
"""Column name -> index."""


@dataclass(frozen=True)
class Bars:
    """A validated canonical frame and where it came from (recorded in the store).

    ``frame``: a tz-naive ``DatetimeIndex`` named ``date`` (one row per trading day,
    ascending, unique) and float64 columns :data:`COLUMNS`. ``stamps``: when the source
    stamped its bars with instants rather than dates (TradingView's Unix time, the session's
    open), those instants, ``(rows,)`` datetime64[s] UTC in the frame's order; fetch maps
    them to the session each opens on the ticker's calendar (the frame's dates are then only
    their UTC dates).
    """

    frame: pd.DataFrame
    source: str  # the source's name: "yahoo", "csv", "frame" (a DataFrame) or "sample"
    auto_adjust: bool | None = None  # Yahoo only: were prices adjusted for splits/dividends?
    exchange: str | None = None  # the exchange code the source reports (Yahoo's "NMS"), if any
    stamps: np.ndarray | None = None
