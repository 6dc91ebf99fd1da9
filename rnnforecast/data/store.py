"""The local store of daily bars: one SQLite database, one row per (ticker, date).

Writes happen in one transaction per ticker, so an interrupted or failed fetch leaves the
ticker exactly as it was. Readers get the canonical frame of :mod:`rnnforecast.data.sources`.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from rnnforecast.data import revisions
from rnnforecast.data.bars import COLUMNS
from rnnforecast.data.calendars import DEFAULT as DEFAULT_CALENDAR
from rnnforecast.data.schema import SCHEMA, migrate
from rnnforecast.errors import DataError, EnvironmentFault, NoStoredData, UsageError

if TYPE_CHECKING:  # pandas is imported where frames are built, not to read a few rows
    import pandas as pd

    from rnnforecast.data.calendars import Sessions
    from rnnforecast.data.sources import Bars

# Days between two stored sessions beyond which the stored sessions have a hole (no
# exchange closes for longer: the longest, Lunar New Year or a national mourning, are ~10).
_ANY_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table'"
_SESSION_HOLE_DAYS = 14


# The ticker's stored rows over a span of dates, oldest first.
_SPAN = (
    "SELECT date, open, high, low, close, volume FROM bars "
    "WHERE ticker = ? AND date BETWEEN ? AND ? ORDER BY date"
)


@dataclass(frozen=True)
class StoreResult:
    """What a write did to one ticker: rows now stored, their date range, rows added."""

    ticker: str
    rows: int
    first: str
    last: str
    added: int
    source: str
    changed: int = 0  # stored rows the source reported differently: its values replaced them
    calendar: str = DEFAULT_CALENDAR  # the ticker's exchange calendar code
    off_calendar: int = 0  # bars of this write dated on days the calendar has no session
    readjusted: bool = False  # stored prices differed: the source's history replaced them
    notices: tuple[str, ...] = ()  # what looks wrong in the stored series (jumps, gaps)

    def to_dict(self) -> dict[str, object]:
        """The fetch JSON entry; ``readjusted`` and ``warnings`` only when there is
        something to say (the keys of a quiet fetch are those of earlier versions)."""
        body = asdict(self)
        notices = body.pop("notices")
        if not self.readjusted:
            del body["readjusted"]
        if notices:
            body["warnings"] = list(notices)
        return body


@dataclass(frozen=True)
class TickerInfo:
    ticker: str
    rows: int
    first: str
    last: str
    source: str
    auto_adjust: bool | None
    calendar: str = DEFAULT_CALENDAR


class Store:
    """The SQLite database of bars at ``path`` (created, with its folder, on first write)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._translated():
            # Autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE.
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA)
            migrate(conn)
        return conn

    def _query(self, sql: str, parameters: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only query. The database is opened read-only (``mode=ro``), so
        that predict, evaluate and models work in a home the user cannot write; a WAL
        database whose ``-shm`` file cannot be created there is read as immutable. Raises
        DataError naming the file if it is not a readable rnnforecast store."""
        uri = self.path.resolve().as_uri()
        last: sqlite3.Error | None = None
        for options in ("mode=ro", "mode=ro&immutable=1"):
            try:
                with closing(sqlite3.connect(f"{uri}?{options}", uri=True, timeout=60)) as conn:
                    try:
                        return conn.execute(sql, parameters).fetchall()
                    except sqlite3.OperationalError as exc:
                        # No table at all: its first write (another thread's or process's,
                        # or a killed one's) has not committed; only other tables refuse it.
                        if "no such table" in str(exc) and not conn.execute(_ANY_TABLE).fetchone():
                            return []
                        raise
            except sqlite3.OperationalError as exc:
                last = exc
                if "unable to open" not in str(exc) and "readonly" not in str(exc):
                    break
            except sqlite3.DatabaseError as exc:
                last = exc
                break
        assert last is not None
        raise self._fault(last) from None

    def _fault(self, exc: sqlite3.Error) -> DataError:
        if isinstance(exc, sqlite3.OperationalError) and "no such table" in str(exc):
            return DataError(
                f"{self.path} is not an rnnforecast data store ({exc}): move it away, "
                "then fetch again"
            )
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return DataError(f"the data store {self.path} is busy ({exc}): try again later")
        return DataError(
            f"the data store {self.path} is corrupt or unreadable ({exc}): move it away "
            "(or restore a backup), then fetch again"
        )

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """sqlite3's errors as DataError naming this store; a read-only home stays an
        OSError-like fault (exit 8) rather than a corrupt store."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if any(w in text for w in ("readonly", "unable to open", "disk is full", "disk I/O")):
                raise EnvironmentFault(f"cannot write the data store {self.path}: {text}") from None
            raise self._fault(exc) from None
        except sqlite3.DatabaseError as exc:
            raise self._fault(exc) from None

    def write(
        self,
        ticker: str,
        bars: Bars,
        replace: bool = False,
        calendar: str | None = None,
        sessions: Sessions | None = None,
    ) -> StoreResult:
        """Add the bars' new dates for ``ticker``; a stored row the bars report with other
        values takes the bars' values (the source's history is the truth: re-adjusted after
        a split, or corrected), counted in ``changed``; stored dates the bars do not hold
        are kept.

        With ``replace``, the ticker's rows are deleted first (in the same transaction).
        ``calendar`` records the ticker's exchange calendar (None keeps the stored one, XNYS
        for a new ticker); ``sessions`` replaces that calendar's stored sessions over their
        span, in the same transaction.
        Raises UsageError if the ticker was stored from another source or adjustment mode
        (mixing them would splice two different price series) unless ``replace``.
        """
        dates, values = _rows(bars)
        with closing(self._connect()) as conn, self._translated():
            conn.execute("BEGIN IMMEDIATE")
            try:
                meta = conn.execute(
                    "SELECT source, auto_adjust FROM tickers WHERE ticker = ?", (ticker,)
                ).fetchone()
                adjust = None if bars.auto_adjust is None else int(bars.auto_adjust)
                if meta and not replace and (meta[0], meta[1]) != (bars.source, adjust):
                    raise SourceChanged(
                        ticker, _describe(meta[0], meta[1]), _describe(bars.source, adjust)
                    )
                if replace:
                    conn.execute("DELETE FROM bars WHERE ticker = ?", (ticker,))
                revision = _upsert(conn, ticker, dates, values)
                added, changed = int(revision.new.sum()), int(revision.differs.sum())
                conn.execute(
                    "INSERT INTO tickers (ticker, source, auto_adjust, updated_at, calendar) "
                    "VALUES (?, ?, ?, ?, COALESCE(?, ?)) ON CONFLICT (ticker) DO UPDATE SET "
                    "source = excluded.source, auto_adjust = excluded.auto_adjust, "
                    "updated_at = excluded.updated_at, calendar = COALESCE(?, calendar)",
                    (
                        ticker,
                        bars.source,
                        adjust,
                        dt.datetime.now(dt.UTC).isoformat(),
                        calendar,
                        DEFAULT_CALENDAR,
                        calendar,
                    ),
                )
                if sessions is not None and len(sessions.dates):
                    _replace_sessions(conn, sessions)
                count, first, last = conn.execute(
                    "SELECT COUNT(*), MIN(date), MAX(date) FROM bars WHERE ticker = ?", (ticker,)
                ).fetchone()
                (stored_calendar,) = conn.execute(
                    "SELECT calendar FROM tickers WHERE ticker = ?", (ticker,)
                ).fetchone()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        stored = (count, first, last, added, bars.source, changed, stored_calendar)
        return StoreResult(ticker, *stored, readjusted=revision.repriced)

    def revision(self, ticker: str, bars: Bars) -> revisions.Revision:
        """How ``bars`` compare with ``ticker``'s stored rows on the same dates (read-only):
        fetch asks before writing whether Yahoo re-adjusted the history."""
        dates, values = _rows(bars)
        # an empty file is an empty store (its first write makes it one)
        if not self.path.exists() or not len(dates) or "bars" not in self._schema()[0]:
            return revisions.compare(dates[:0], values[:0], dates, values)
        found = self._query(_SPAN, (ticker, dates[0], dates[-1]))
        return revisions.compare(*_split(found), dates, values)

    def read(self, ticker: str) -> pd.DataFrame:
        """The ticker's bars as a canonical frame. Raises NoStoredData (a DataError) if none
        are stored."""
        if not self.path.exists():
            raise NoStoredData(ticker)
        rows = self._query(
            "SELECT date, open, high, low, close, volume FROM bars WHERE ticker = ? ORDER BY date",
            (ticker,),
        )
        if not rows:
            raise NoStoredData(ticker)
        import pandas as pd

        dates, *columns = zip(*rows, strict=True)
        frame = pd.DataFrame(
            {
                name: np.asarray(col, dtype=np.float64)
                for name, col in zip(COLUMNS, columns, strict=True)
            },
            index=pd.DatetimeIndex(pd.to_datetime(dates), name="date"),
        )
        return frame

    def read_last(self, ticker: str, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """The ticker's last ``rows`` bars without pandas: dates ``(k,)`` datetime64[D] and
        values ``(k, 5)`` float64 (open, high, low, close, volume), oldest first, ``k <= rows``.
        Raises NoStoredData (a DataError) if none are stored."""
        found = []
        if self.path.exists():
            found = self._query(
                "SELECT date, open, high, low, close, volume FROM bars "
                "WHERE ticker = ? ORDER BY date DESC LIMIT ?",
                (ticker, rows),
            )
        if not found:
            raise NoStoredData(ticker)
        found.reverse()
        dates = np.array([row[0] for row in found], dtype="datetime64[D]")
        return dates, np.array([row[1:] for row in found], dtype=np.float64)

    def info(self, ticker: str) -> TickerInfo | None:
        """Row count, date range and source of one ticker, or None if it is not stored."""
        found = [t for t in self.tickers() if t.ticker == ticker]
        return found[0] if found else None

    def tickers(self) -> list[TickerInfo]:
        """Every stored ticker with its row count, date range and source."""
        if not self.path.exists():
            return []
        calendar = "t.calendar" if self._migrated() else f"'{DEFAULT_CALENDAR}'"
        rows = self._query(
            "SELECT b.ticker, COUNT(*), MIN(b.date), MAX(b.date), t.source, t.auto_adjust, "
            f"{calendar} FROM bars b JOIN tickers t USING (ticker) "
            "GROUP BY b.ticker ORDER BY b.ticker"
        )
        return [
            TickerInfo(t, n, first, last, source, None if adj is None else bool(adj), cal)
            for t, n, first, last, source, adj, cal in rows
        ]

    def delete(self, ticker: str) -> int:
        """Delete the ticker's bars and its source record in one transaction; returns the
        number of bars deleted (0 if none were stored)."""
        if not self.path.exists():
            return 0
        with closing(self._connect()) as conn, self._translated():
            conn.execute("BEGIN IMMEDIATE")
            try:
                deleted = conn.execute("DELETE FROM bars WHERE ticker = ?", (ticker,)).rowcount
                conn.execute("DELETE FROM tickers WHERE ticker = ?", (ticker,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return int(deleted)

    def calendar(self, ticker: str) -> str | None:
        """The exchange calendar code ``ticker`` is stored with, or None if it is not stored."""
        if not self.path.exists():
            return None
        tables, columns = self._schema()
        # fetch asks before its first write: an empty file (a 0-byte SQLite database) holds
        # no ticker yet, and that write turns it into a store
        if "tickers" not in tables:
            return None
        if "calendar" not in columns:  # written by an older rnnforecast: XNYS, until written
            rows = self._query("SELECT 1 FROM tickers WHERE ticker = ?", (ticker,))
            return DEFAULT_CALENDAR if rows else None
        rows = self._query("SELECT calendar FROM tickers WHERE ticker = ?", (ticker,))
        return str(rows[0][0]) if rows else None

    def sessions_after(
        self, calendar: str, after: dt.date, limit: int, now: dt.datetime
    ) -> tuple[list[dt.date], int]:
        """The first ``limit`` stored sessions of ``calendar`` dated after ``after`` (fewer if
        fewer are stored), and how many sessions after ``after`` had closed by the aware
        instant ``now``. sqlite3 only, read-only: this is what predict reads instead of
        importing exchange_calendars."""
        if not self.path.exists() or not self._migrated():
            return [], 0
        instant = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows = self._query(
            "SELECT date FROM sessions WHERE calendar = ? AND date > ? ORDER BY date LIMIT ?",
            (calendar, after.isoformat(), limit),
        )
        [(closed,)] = self._query(
            "SELECT COUNT(*) FROM sessions WHERE calendar = ? AND date > ? AND close <= ?",
            (calendar, after.isoformat(), instant),
        )
        return [dt.date.fromisoformat(row[0]) for row in rows], int(closed)

    def sessions_reach(self, calendar: str, after: dt.date, now: dt.datetime) -> bool:
        """Whether the stored sessions of ``calendar`` can count those closed after ``after``
        by the aware instant ``now``: one stored on or before ``after``, one closing at or
        after ``now``, and no hole over :data:`_SESSION_HOLE_DAYS` days between (fetches of
        tickers with other spans can leave one). If not, the caller asks the calendar."""
        if not self.path.exists() or not self._migrated():
            return False
        instant = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        [(first, last)] = self._query(
            "SELECT (SELECT MAX(date) FROM sessions WHERE calendar = ?1 AND date <= ?2), "
            "(SELECT MIN(date) FROM sessions WHERE calendar = ?1 AND close >= ?3)",
            (calendar, after.isoformat(), instant),
        )
        if first is None or last is None:
            return False
        rows = self._query(
            "SELECT date FROM sessions WHERE calendar = ? AND date BETWEEN ? AND ? ORDER BY date",
            (calendar, first, last),
        )
        holes = np.diff(np.array([row[0] for row in rows], dtype="datetime64[D]"))
        return not len(holes) or int(holes.max().astype(np.int64)) <= _SESSION_HOLE_DAYS

    def _migrated(self) -> bool:
        """Whether the store has the calendar column and the sessions table: a store written
        by an older rnnforecast gets them at its next write (:func:`schema.migrate`), and
        readers, which open it read-only, make do without."""
        tables, columns = self._schema()
        return "calendar" in columns and "sessions" in tables

    def _schema(self) -> tuple[set[str], set[str]]:
        """The store's table names and the columns of its tickers table (read-only)."""
        tables = {row[0] for row in self._query("SELECT name FROM sqlite_master")}
        if "tickers" not in tables:
            return tables, set()
        return tables, {row[1] for row in self._query("PRAGMA table_info(tickers)")}


def _replace_sessions(conn: sqlite3.Connection, sessions: Sessions) -> None:
    """Store ``sessions`` in place of the calendar's stored sessions over the same span (the
    calendar data may have changed, e.g. a holiday announced since)."""
    rows = sessions.rows()
    conn.execute(
        "DELETE FROM sessions WHERE calendar = ? AND date BETWEEN ? AND ?",
        (sessions.calendar, rows[0][0], rows[-1][0]),
    )
    conn.executemany(
        "INSERT INTO sessions (calendar, date, close) VALUES (?, ?, ?)",
        [(sessions.calendar, d, c) for d, c in rows],
    )


class SourceChanged(UsageError):
    """A ticker stored from one source (or Yahoo setting) was written from another: mixing
    them would splice two series. ``stored`` and ``incoming`` describe the two."""

    def __init__(self, ticker: str, stored: str, incoming: str) -> None:
        super().__init__(
            f"{ticker} is stored from {stored}, not {incoming}: replace its stored bars to "
            "start it afresh"
        )
        self.ticker, self.stored, self.incoming = ticker, stored, incoming


def _describe(source: str, auto_adjust: int | None) -> str:
    if source == "yahoo":
        return "Yahoo (auto_adjust on)" if auto_adjust else "Yahoo (auto_adjust off)"
    return {"csv": "a CSV file", "frame": "a DataFrame", "sample": "the bundled sample"}.get(
        source, source
    )


def _rows(bars: Bars) -> tuple[np.ndarray, np.ndarray]:
    """The bars' dates ``(n,)`` (YYYY-MM-DD strings) and values ``(n, 5)`` float64."""
    index = cast("pd.DatetimeIndex", bars.frame.index)  # canonical (sources.validate_bars)
    dates = index.strftime("%Y-%m-%d").to_numpy(dtype=object)
    return dates, bars.frame.loc[:, list(COLUMNS)].to_numpy(dtype=np.float64)


def _split(rows: list[tuple[Any, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """Stored rows (date, open, high, low, close, volume) as dates ``(m,)`` and values
    ``(m, 5)``."""
    dates = np.array([row[0] for row in rows], dtype=object)
    return dates, np.array([row[1:] for row in rows], dtype=np.float64).reshape(-1, 5)


def _stored(
    conn: sqlite3.Connection, ticker: str, dates: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The ticker's stored rows from ``dates[0]`` to ``dates[-1]``, as :func:`_split`."""
    if not len(dates):
        return _split([])
    return _split(conn.execute(_SPAN, (ticker, dates[0], dates[-1])).fetchall())


def _upsert(
    conn: sqlite3.Connection, ticker: str, dates: np.ndarray, values: np.ndarray
) -> revisions.Revision:
    """Write the bars ``dates`` ``(n,)`` / ``values`` ``(n, 5)`` that are new or differ from
    the stored rows (the source's values win); return how they compared."""
    revision = revisions.compare(*_stored(conn, ticker, dates), dates, values)
    write = revision.new | revision.differs
    conn.executemany(
        "INSERT INTO bars (ticker, date, open, high, low, close, volume) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ticker, date) DO UPDATE SET "
        "open = excluded.open, high = excluded.high, low = excluded.low, "
        "close = excluded.close, volume = excluded.volume",
        [(ticker, d, *v) for d, v in zip(dates[write], values[write].tolist(), strict=True)],
    )
    return revision
