"""Exchange calendars: the days an exchange trades and the instant each session closes.

The session data comes from exchange_calendars (maintained holiday and session rules for
about 50 exchanges, plus ``24/7`` for series that trade every day), imported only inside
:func:`check_code` and :func:`sessions`, at fetch time. ``predict`` never imports it (it
costs about 0.4 s): fetch stores the sessions in the SQLite store and predict reads them
back with sqlite3 (:meth:`rnnforecast.data.store.Store.sessions_after`).

A daily bar is complete once its session has closed, in the exchange's own time zone,
whatever the machine's clock zone: :func:`complete_bars` applies that rule given ``now``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rnnforecast.errors import DataError, UsageError

if TYPE_CHECKING:
    import pandas as pd

DEFAULT = "XNYS"
"""The calendar of a ticker nobody chose one for: the New York Stock Exchange."""
ALWAYS_OPEN = "24/7"
EARLIEST = dt.date(1900, 1, 1)
"""Bars dated before this are refused: no daily price series starts earlier."""
SESSIONS_AHEAD_DAYS = 730
"""How far past ``now`` fetch stores sessions, so predict knows ~2 years of future dates."""

# Yahoo's exchange codes (yfinance ``history_metadata["exchangeName"]``) -> calendar codes.
_YAHOO_EXCHANGES = {
    # United States: NASDAQ tiers, NYSE, NYSE American, NYSE Arca, Cboe BZX, OTC, indices
    "NMS": "XNYS",
    "NGM": "XNYS",
    "NCM": "XNYS",
    "NAS": "XNYS",
    "NYQ": "XNYS",
    "NYS": "XNYS",
    "ASE": "XNYS",
    "PCX": "XNYS",
    "BTS": "XNYS",
    "PNK": "XNYS",
    "SNP": "XNYS",
    "DJI": "XNYS",
    "NIM": "XNYS",
    "WCB": "XNYS",
    "LSE": "XLON",
    "IOB": "XLON",
    "GER": "XETR",
    "FRA": "XFRA",
    "STU": "XSTU",
    "DUS": "XDUS",
    "HAM": "XHAM",
    "TOR": "XTSE",
    "VAN": "XTSE",
    "JPX": "XTKS",
    "TYO": "XTKS",
    "OSA": "XTKS",
    "PAR": "XPAR",
    "AMS": "XAMS",
    "BRU": "XBRU",
    "LIS": "XLIS",
    "MIL": "XMIL",
    "MCE": "XMAD",
    "EBS": "XSWX",
    "VTX": "XSWX",
    "STO": "XSTO",
    "CPH": "XCSE",
    "HEL": "XHEL",
    "OSL": "XOSL",
    "VIE": "XWBO",
    "ISE": "XDUB",
    "ASX": "XASX",
    "HKG": "XHKG",
    "SHH": "XSHG",
    "KSC": "XKRX",
    "KOE": "XKRX",
    "TAI": "XTAI",
    "BSE": "XBOM",
    "SAO": "BVMF",
    "MEX": "XMEX",
    "JNB": "XJSE",
    "SES": "XSES",
    "NZE": "XNZE",
    "CCC": ALWAYS_OPEN,  # crypto currencies trade every day
    "CCY": "24/5",  # currency pairs (EURUSD=X) trade round the clock on weekdays
}


class Clock(Protocol):
    """Tells the time: an aware datetime (any zone; compared as UTC). The CLI passes
    :func:`system_clock`; tests pass a fixed instant."""

    def __call__(self) -> dt.datetime: ...


def system_clock() -> dt.datetime:
    """Now, in UTC."""
    return dt.datetime.now(dt.UTC)


def for_yahoo_exchange(code: str | None) -> str | None:
    """The calendar code for the exchange code Yahoo reports for a quote ("NMS" -> "XNYS"),
    or None when Yahoo gave none or one this table does not know (the caller keeps its
    default)."""
    if not code:
        return None
    return _YAHOO_EXCHANGES.get(code.strip().upper())


def check_code(code: str) -> str:
    """The canonical calendar code for ``code`` (case-insensitive; aliases such as NYSE or
    LSE resolve to XNYS, XLON). Raises UsageError naming the code if it is unknown."""
    import exchange_calendars as xcals

    wanted = code.strip().upper()
    names = {name.upper(): name for name in xcals.get_calendar_names(include_aliases=True)}
    if wanted not in names:
        shown = code if len(code) <= 30 else code[:27] + "..."
        raise UsageError(
            f"unknown exchange calendar {shown!r} (examples: XNYS New York, XLON London, "
            "XETR Xetra, XTSE Toronto, XTKS Tokyo, 24/7 every day)"
        )
    return str(xcals.resolve_alias(names[wanted]))


def choose(explicit: str | None, stored: str | None, reported: str | None) -> str:
    """The calendar of a ticker: the user's choice, else the one it is stored with (a choice
    made once sticks), else the one its source reports, else :data:`DEFAULT`."""
    return explicit or stored or reported or DEFAULT


@dataclass(frozen=True)
class Sessions:
    """One calendar's sessions over a span: ``dates`` ``(n,)`` datetime64[D] ascending (the
    exchange's calendar dates) and ``closes`` ``(n,)`` datetime64[s], each session's close
    in UTC."""

    calendar: str
    dates: np.ndarray
    closes: np.ndarray

    def last_closed(self, now: dt.datetime) -> dt.date | None:
        """The latest session whose close is at or before ``now`` (aware), or None."""
        instant = np.datetime64(_utc_naive(now), "s")
        closed = int(np.searchsorted(self.closes, instant, side="right"))
        return self.dates[closed - 1].item() if closed else None

    def rows(self) -> list[tuple[str, str]]:
        """(YYYY-MM-DD, close as ISO 8601 UTC 'YYYY-MM-DDTHH:MM:SSZ') pairs, for the store."""
        return [(str(d), f"{c}Z") for d, c in zip(self.dates.tolist(), self.closes, strict=True)]


def sessions(code: str, start: dt.date, end: dt.date) -> Sessions:
    """The sessions of calendar ``code`` from ``start`` to ``end`` (inclusive), clipped to the
    span the calendar has data for. Raises UsageError for an unknown code."""
    canonical = check_code(code)
    calendar = _calendar(canonical, start, end)
    closes = calendar.closes
    dates = np.asarray(closes.index.values, dtype="datetime64[D]")
    inside = (dates >= np.datetime64(start, "D")) & (dates <= np.datetime64(end, "D"))
    return Sessions(
        canonical,
        dates[inside],
        np.asarray(closes.dt.tz_convert(None).to_numpy(), dtype="datetime64[s]")[inside],
    )


# How far _calendar widens the span it asks for on each side: exchange_calendars refuses a
# span of one day or without a session (the day after a Friday; Lunar New Year in Shanghai).
_MARGIN = dt.timedelta(days=14)


def _calendar(canonical: str, start: dt.date, end: dt.date) -> Any:
    """exchange_calendars' calendar ``canonical`` from ``start`` to ``end`` widened by
    :data:`_MARGIN` on each side, clipped to the span it has data for."""
    import exchange_calendars as xcals
    import pandas as pd

    first, last = pd.Timestamp(start - _MARGIN), pd.Timestamp(end + _MARGIN)
    try:
        return xcals.get_calendar(canonical, start=first, end=last)
    except ValueError:  # outside the calendar's bounds (XTKS starts in 1997): clip to them
        bounds = xcals.get_calendar(canonical)  # cached; building it costs ~0.3 s, so only here
        low, high = bounds.bound_min(), bounds.bound_max()
        first = max(first, low) if low is not None else first
        last = min(last, high) if high is not None else last
        return xcals.get_calendar(canonical, start=first, end=last)


def session_dates(code: str, stamps: np.ndarray) -> np.ndarray:
    """The session of calendar ``code`` each instant of ``stamps`` (``(n,)`` datetime64[s],
    UTC, n >= 1) falls in, as ``(n,)`` datetime64[D]: TradingView stamps a daily bar at its
    session's open, 23:00 UTC the day before for Sydney in summer. An instant in no session
    (a bar on a day the calendar does not trade) keeps its date in the exchange's time
    zone. Raises UsageError for an unknown code."""
    import pandas as pd

    canonical = check_code(code)
    days = stamps.astype("datetime64[D]")
    span = np.timedelta64(3, "D")
    calendar = _calendar(canonical, (days.min() - span).item(), (days.max() + span).item())
    opens = np.asarray(calendar.opens.dt.tz_convert(None).to_numpy(), dtype="datetime64[s]")
    closes = np.asarray(calendar.closes.dt.tz_convert(None).to_numpy(), dtype="datetime64[s]")
    names = np.asarray(calendar.closes.index.values, dtype="datetime64[D]")
    # the first session closing after the instant; the instant is in it if it has opened
    after = np.searchsorted(closes, stamps, side="right")
    found = after < len(closes)
    at = np.minimum(after, max(len(closes) - 1, 0))
    inside = found & (opens[at] <= stamps) if len(closes) else found
    local = pd.DatetimeIndex(stamps, tz="UTC").tz_convert(calendar.tz).tz_localize(None)
    dates = np.asarray(local.normalize().values, dtype="datetime64[D]")
    if len(closes):
        dates = np.where(inside, names[at], dates)
    return dates


def closed_after(code: str, after: dt.date, now: dt.datetime) -> int:
    """How many sessions of calendar ``code`` dated after ``after`` had closed by the aware
    instant ``now``, from the calendar itself (the stored sessions may not reach ``now``).
    Raises UsageError for an unknown code."""
    today = _utc_naive(now).date()
    if today <= after:
        return 0
    found = sessions(code, after + dt.timedelta(days=1), today)
    instant = np.datetime64(_utc_naive(now), "s")
    return int(np.count_nonzero(found.closes <= instant))


def complete_bars(
    frame: pd.DataFrame,
    calendar: Sessions,
    now: dt.datetime,
    origin: str,
    *,
    drop_open: bool,
) -> pd.DataFrame:
    """``frame`` (a canonical frame, tz-naive dates) without bars whose session is still open.

    A bar is complete once its session has closed (``calendar`` closes, compared with the
    aware instant ``now``). Bars dated after the last closed session: with ``drop_open``
    (a live source such as Yahoo, whose newest bar moves until the close) those dated up to
    ``now``'s date in UTC + 1 day are dropped; any other is refused. Raises DataError naming
    ``origin`` and the date for a bar before 1900, a bar after the last closed session that
    is not dropped, or when nothing is left.
    """
    import pandas as pd

    if frame.empty:
        return frame
    first = frame.index[0]
    if first < pd.Timestamp(EARLIEST):
        raise DataError(f"{origin}: bar dated {first.date()} is before {EARLIEST.year}")
    last_closed = calendar.last_closed(now)
    limit = pd.Timestamp(last_closed) if last_closed else pd.Timestamp(EARLIEST)
    late = frame.index > limit
    if not late.any():
        return frame
    # Exchanges are at most ~14 h from UTC: a session dated after UTC's tomorrow has not
    # even opened, so such a bar is misdated, not merely incomplete.
    opening = pd.Timestamp(_utc_naive(now).date() + dt.timedelta(days=1))
    refused = late & ~(drop_open & (frame.index <= opening))
    if refused.any():
        when = frame.index[refused][0].date()
        closed = f"{last_closed}" if last_closed else "none in the calendar"
        raise DataError(
            f"{origin}: bar dated {when} is after the last closed {calendar.calendar} "
            f"session ({closed}): its session has not closed yet, or the date is wrong"
        )
    kept = frame[~late]
    if kept.empty:
        raise DataError(
            f"{origin}: no complete bars yet (the {calendar.calendar} session of "
            f"{frame.index[0].date()} has not closed)"
        )
    return kept


def off_sessions(frame: pd.DataFrame, calendar: Sessions) -> int:
    """How many bars of ``frame`` are dated, within the span of ``calendar``, on days that
    are not its sessions: a few are holidays the data source filled in; many (weekends)
    mean the series trades on another calendar."""
    if not len(calendar.dates):
        return 0
    days = np.asarray(frame.index.values, dtype="datetime64[D]")
    inside = (days >= calendar.dates[0]) & (days <= calendar.dates[-1])
    return int((inside & ~np.isin(days, calendar.dates)).sum())


def _utc_naive(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return now.astimezone(dt.UTC).replace(tzinfo=None)
