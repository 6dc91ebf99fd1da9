"""How a source's bars revise the stored ones, and what looks wrong in a stored series.

A source re-adjusts its history after a split or dividend (Yahoo with ``auto_adjust``), or a
CSV is exported again with other values: the source's history is the truth, and the store
takes it (:meth:`rnnforecast.data.store.Store.write`). What no re-adjustment explains is only
warned about: a daily close-to-close jump beyond :data:`JUMP_RATIO` either way, or more than
:data:`GAP_SESSIONS` sessions without a bar. Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnforecast.data.bars import PRICES

TOLERANCE = 1e-6
"""Relative difference above which a re-fetched value counts as changed."""
JUMP_RATIO = 1.4
"""A close more than 1.4 times the previous one, or less than 1/1.4 of it, is a jump worth a
warning (a 2:1 split not reflected in older rows is 0.5; a 3:2 one 0.67)."""
GAP_SESSIONS = 10
"""More sessions than this between two stored bars is a gap worth a warning."""


@dataclass(frozen=True)
class Revision:
    """How ``(n,)`` incoming bars compare with the stored ones on the same dates: ``new``
    ``(n,)`` bool (no stored row that day), ``differs`` ``(n,)`` bool (a stored row with other
    values), ``repriced`` (some stored price differs, not only a volume: a re-adjustment or
    a correction of the history)."""

    new: np.ndarray
    differs: np.ndarray
    repriced: bool


def compare(
    stored_dates: np.ndarray, stored: np.ndarray, dates: np.ndarray, values: np.ndarray
) -> Revision:
    """Compare incoming ``dates`` ``(n,)`` / ``values`` ``(n, 5)`` with the stored
    ``stored_dates`` ``(m,)`` / ``stored`` ``(m, 5)`` (dates sorted YYYY-MM-DD strings)."""
    new = np.ones(len(dates), dtype=bool)
    differs = np.zeros(len(dates), dtype=bool)
    if not len(dates) or not len(stored_dates):
        return Revision(new, differs, False)
    # Both date lists are sorted: a binary search pairs them up.
    where = np.searchsorted(stored_dates, dates)
    at = np.minimum(where, len(stored_dates) - 1)
    found = (where < len(stored_dates)) & (stored_dates[at] == dates)
    a, b = stored[at[found]], values[found]
    cells = np.abs(a - b) > TOLERANCE * np.maximum(np.abs(a), 1.0)
    differs[found] = cells.any(axis=1)
    return Revision(~found, differs, bool(cells[:, : len(PRICES)].any()))


def jumps(dates: np.ndarray, closes: np.ndarray) -> list[str]:
    """One line per close-to-close move beyond :data:`JUMP_RATIO` in ``closes`` ``(n,)``
    (dates ``(n,)`` datetime64[D], ascending)."""
    ratio = closes[1:] / closes[:-1]
    found = np.flatnonzero((ratio > JUMP_RATIO) | (ratio < 1 / JUMP_RATIO))
    return [
        f"the close moved {ratio[i] - 1:+.0%} from {dates[i]} to {dates[i + 1]}"
        for i in found.tolist()
    ]


def gaps(dates: np.ndarray, sessions: np.ndarray) -> list[str]:
    """One line per pair of consecutive ``dates`` ``(n,)`` datetime64[D] with more than
    :data:`GAP_SESSIONS` of the calendar's ``sessions`` (ascending datetime64[D]) between
    them."""
    between = np.searchsorted(sessions, dates[1:]) - np.searchsorted(sessions, dates[:-1], "right")
    found = np.flatnonzero(between > GAP_SESSIONS)
    return [
        f"no bar for {between[i]} sessions between {dates[i]} and {dates[i + 1]}"
        for i in found.tolist()
    ]
