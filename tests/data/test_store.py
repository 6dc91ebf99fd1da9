"""The SQLite store: round trips, incremental writes, source checks, atomic failed writes."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import canonical, make_prices

from rnnforecast.data import store as store_module
from rnnforecast.data.calendars import Sessions
from rnnforecast.data.sources import COLUMNS, Bars
from rnnforecast.data.store import Store, StoreResult, TickerInfo
from rnnforecast.errors import EnvironmentFault, NoStoredData, UsageError


def bars(n: int = 50, seed: int = 0, start: str = "2020-01-01", **kwargs) -> Bars:
    return Bars(canonical(make_prices(n=n, seed=seed, start=start)), **{"source": "csv", **kwargs})


@pytest.fixture
def store(home: Path) -> Store:
    return Store(home / "store.sqlite")


def dump(store: Store) -> tuple[list[tuple], list[tuple]]:
    """Every row of both tables, as stored."""
    with sqlite3.connect(store.path) as conn:
        rows = conn.execute("SELECT * FROM bars ORDER BY ticker, date").fetchall()
        tickers = conn.execute("SELECT * FROM tickers ORDER BY ticker").fetchall()
    return rows, tickers


# --- round trip -----------------------------------------------------------------------------


def test_write_creates_folder_and_reads_back_exactly(store: Store) -> None:
    assert not store.path.parent.exists()
    given = bars(n=60)
    result = store.write("AAPL", given)
    assert store.path.is_file()
    assert result == StoreResult(
        "AAPL",
        rows=60,
        first=given.frame.index[0].strftime("%Y-%m-%d"),
        last=given.frame.index[-1].strftime("%Y-%m-%d"),
        added=60,
        source="csv",
        changed=0,
    )
    frame = store.read("AAPL")
    assert list(frame.columns) == list(COLUMNS)
    assert frame.index.name == "date"
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert (frame.index == given.frame.index).all()
    np.testing.assert_array_equal(frame.to_numpy(), given.frame.to_numpy())


def test_result_to_dict(store: Store) -> None:
    result = store.write("AAPL", bars(n=5))
    assert result.to_dict() == {
        "ticker": "AAPL",
        "rows": 5,
        "first": "2020-01-01",
        "last": "2020-01-07",
        "added": 5,
        "source": "csv",
        "changed": 0,
        "calendar": "XNYS",
        "off_calendar": 0,
    }


def test_tickers_are_kept_apart(store: Store) -> None:
    store.write("AAPL", bars(n=30, seed=1))
    store.write("MSFT", bars(n=40, seed=2))
    assert len(store.read("AAPL")) == 30
    assert len(store.read("MSFT")) == 40
    np.testing.assert_array_equal(
        store.read("MSFT").to_numpy(), bars(n=40, seed=2).frame.to_numpy()
    )


# --- incremental writes ---------------------------------------------------------------------


def test_writing_again_adds_nothing(store: Store) -> None:
    given = bars(n=50)
    store.write("AAPL", given)
    result = store.write("AAPL", given)
    assert result.added == 0
    assert result.changed == 0
    assert result.rows == 50
    np.testing.assert_array_equal(store.read("AAPL").to_numpy(), given.frame.to_numpy())


def test_overlap_takes_the_source_values_and_keeps_older_stored_rows(store: Store) -> None:
    first = bars(n=50)
    store.write("AAPL", first)
    # the same dates 30..49 with other values, plus 20 new dates after them
    later = canonical(make_prices(n=70, seed=9))
    second = Bars(later.iloc[30:], source="csv")
    result = store.write("AAPL", second)
    assert result.added == 20
    assert result.rows == 70
    assert result.first == first.frame.index[0].strftime("%Y-%m-%d")
    assert result.last == later.index[-1].strftime("%Y-%m-%d")
    stored = store.read("AAPL")
    assert (stored.index == later.index).all()
    # the source's history is the truth: the overlap takes its values (issue row 1); the
    # stored rows before it are kept
    assert (result.changed, result.readjusted) == (20, True)
    np.testing.assert_array_equal(stored.iloc[:30].to_numpy(), first.frame.iloc[:30].to_numpy())
    np.testing.assert_array_equal(stored.iloc[30:].to_numpy(), later.iloc[30:].to_numpy())


def test_changed_counts_rows_whose_values_differ(store: Store) -> None:
    given = bars(n=40)
    store.write("AAPL", given)
    revised = given.frame.copy()
    revised.iloc[3, revised.columns.get_loc("close")] *= 1.01
    revised.iloc[7, revised.columns.get_loc("volume")] += 100
    revised.iloc[7, revised.columns.get_loc("open")] *= 0.99  # same row: counts once
    revised.iloc[12, revised.columns.get_loc("high")] *= 1 + 1e-9  # below the tolerance
    result = store.write("AAPL", Bars(revised, source="csv"))
    assert result.changed == 2
    assert result.added == 0
    assert result.readjusted
    # changed rows are reported and take the source's values; a difference below the
    # tolerance is no change
    expected = revised.copy()
    expected.iloc[12] = given.frame.iloc[12]
    np.testing.assert_array_equal(store.read("AAPL").to_numpy(), expected.to_numpy())


def test_a_volume_revised_alone_is_no_readjustment(store: Store) -> None:
    given = bars(n=10)
    store.write("AAPL", given)
    revised = given.frame.copy()
    revised.iloc[-1, revised.columns.get_loc("volume")] += 1000  # a late print
    result = store.write("AAPL", Bars(revised, source="csv"))
    assert (result.changed, result.readjusted) == (1, False)
    assert store.read("AAPL")["volume"].iloc[-1] == revised["volume"].iloc[-1]
    assert "readjusted" not in result.to_dict() and "warnings" not in result.to_dict()


def test_changed_only_counts_overlapping_rows(store: Store) -> None:
    store.write("AAPL", bars(n=30))
    other = canonical(make_prices(n=40, seed=5))  # every value differs
    result = store.write("AAPL", Bars(other.iloc[25:], source="csv"))
    assert result.changed == 5  # dates 25..29 overlap
    assert result.added == 10


# --- source checks --------------------------------------------------------------------------


def test_other_source_is_refused(store: Store) -> None:
    store.write("AAPL", bars(n=30))
    before = dump(store)
    with pytest.raises(UsageError) as info:
        store.write("AAPL", bars(n=30, source="yahoo", auto_adjust=True))
    assert str(info.value) == (
        "AAPL is stored from a CSV file, not Yahoo (auto_adjust on): replace its stored bars "
        "to start it afresh"
    )
    assert dump(store) == before


def test_other_adjustment_mode_is_refused(store: Store) -> None:
    store.write("AAPL", bars(n=30, source="yahoo", auto_adjust=True))
    with pytest.raises(UsageError, match="auto_adjust"):
        store.write("AAPL", bars(n=30, source="yahoo", auto_adjust=False))


def test_replace_starts_afresh(store: Store) -> None:
    store.write("AAPL", bars(n=30))
    fresh = bars(n=20, seed=3, start="2021-06-01", source="yahoo", auto_adjust=False)
    result = store.write("AAPL", fresh, replace=True)
    assert result.rows == 20
    assert result.added == 20
    assert result.source == "yahoo"
    stored = store.read("AAPL")
    assert (stored.index == fresh.frame.index).all()
    np.testing.assert_array_equal(stored.to_numpy(), fresh.frame.to_numpy())
    info = store.info("AAPL")
    assert info is not None
    assert (info.source, info.auto_adjust) == ("yahoo", False)


def test_replace_with_same_source(store: Store) -> None:
    store.write("AAPL", bars(n=30))
    result = store.write("AAPL", bars(n=10), replace=True)
    assert result.rows == 10
    assert len(store.read("AAPL")) == 10


# --- failed writes leave everything as it was -----------------------------------------------


def test_write_failing_inside_executemany_changes_nothing(store: Store) -> None:
    original = bars(n=30)
    store.write("AAPL", original)
    store.write("MSFT", bars(n=10, seed=1))
    before = dump(store)

    # New dates with a value that is not a number in the *last* row (only unvalidated bars
    # can carry one): the write fails, before or inside the transaction, and changes nothing.
    frame = canonical(make_prices(n=60, seed=4)).astype(object)
    frame.at[frame.index[-1], "close"] = object()
    with pytest.raises((sqlite3.Error, TypeError)):
        store.write("AAPL", Bars(frame, source="yahoo", auto_adjust=True), replace=True)
    assert dump(store) == before
    np.testing.assert_array_equal(store.read("AAPL").to_numpy(), original.frame.to_numpy())


class _FailingConnection(sqlite3.Connection):
    """A connection whose executemany inserts the rows and then fails."""

    def executemany(self, sql, parameters):  # type: ignore[override]
        cursor = super().executemany(sql, parameters)
        raise sqlite3.OperationalError("disk I/O error (simulated)")
        return cursor  # pragma: no cover


def test_write_failing_at_sqlite_boundary_changes_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write("AAPL", bars(n=30))
    before = dump(store)
    real_connect = sqlite3.connect

    def connect(*args, **kwargs):
        return real_connect(*args, factory=_FailingConnection, **kwargs)

    monkeypatch.setattr(store_module.sqlite3, "connect", connect)
    # The disk's failure is an outside fault (exit 8) naming the store, not a bug.
    with pytest.raises(EnvironmentFault, match="simulated") as caught:
        store.write("AAPL", bars(n=80, seed=2))
    assert str(store.path) in str(caught.value)
    with pytest.raises(EnvironmentFault, match="simulated"):
        store.write("AAPL", bars(n=80, seed=2, source="sample"), replace=True)
    with pytest.raises(EnvironmentFault, match="simulated"):
        store.write("NEW", bars(n=5))
    monkeypatch.undo()
    assert dump(store) == before
    assert store.info("NEW") is None


def test_write_can_continue_after_a_failure(store: Store) -> None:
    store.write("AAPL", bars(n=30))
    frame = canonical(make_prices(n=40)).astype(object)
    frame.at[frame.index[-1], "open"] = object()
    with pytest.raises((sqlite3.Error, TypeError)):
        store.write("AAPL", Bars(frame, source="csv"))
    result = store.write("AAPL", bars(n=40))
    assert result.added == 10
    assert result.rows == 40


# --- reading and listing --------------------------------------------------------------------


def test_read_unknown_ticker_without_database(store: Store) -> None:
    """The core's words only (the CLI adds `rnnforecast fetch ZZZ`), and the ticker as a fact."""
    with pytest.raises(NoStoredData) as info:
        store.read("ZZZ")
    assert str(info.value) == "no data stored for ZZZ"
    assert info.value.ticker == "ZZZ" and info.value.exit_code == 3
    assert not store.path.exists()


def test_read_unknown_ticker_with_database(store: Store) -> None:
    store.write("AAPL", bars(n=5))
    for read in (store.read, lambda ticker: store.read_last(ticker, 10)):
        with pytest.raises(NoStoredData) as info:
            read("ZZZ")
        assert str(info.value) == "no data stored for ZZZ"
        assert info.value.ticker == "ZZZ"


def test_tickers_and_info(store: Store) -> None:
    assert store.tickers() == []
    assert store.info("AAPL") is None
    store.write("MSFT", bars(n=10, seed=1, start="2021-01-01", source="yahoo", auto_adjust=True))
    store.write("AAPL", bars(n=5, source="csv"))
    store.write("GOOG", bars(n=7, source="sample"))
    listed = store.tickers()
    assert [t.ticker for t in listed] == ["AAPL", "GOOG", "MSFT"]
    assert listed[0] == TickerInfo("AAPL", 5, "2020-01-01", "2020-01-07", "csv", None)
    assert listed[1] == TickerInfo("GOOG", 7, "2020-01-01", "2020-01-09", "sample", None)
    assert listed[2] == TickerInfo("MSFT", 10, "2021-01-01", "2021-01-14", "yahoo", True)
    assert store.info("MSFT") == listed[2]
    assert store.info("NOPE") is None


def test_info_follows_writes(store: Store) -> None:
    store.write("AAPL", bars(n=5))
    store.write("AAPL", bars(n=8))
    info = store.info("AAPL")
    assert info is not None
    assert (info.rows, info.first, info.last) == (8, "2020-01-01", "2020-01-10")


def test_updated_at_is_recorded(store: Store) -> None:
    store.write("AAPL", bars(n=5))
    _, tickers = dump(store)
    (ticker, source, auto_adjust, updated_at, calendar) = tickers[0]
    assert (ticker, source, auto_adjust, calendar) == ("AAPL", "csv", None, "XNYS")
    assert pd.Timestamp(updated_at).tzinfo is not None


# --- calendars and sessions -------------------------------------------------------------------

OLD_SCHEMA = """
CREATE TABLE bars (
    ticker TEXT NOT NULL, date TEXT NOT NULL, open REAL NOT NULL, high REAL NOT NULL,
    low REAL NOT NULL, close REAL NOT NULL, volume REAL NOT NULL, PRIMARY KEY (ticker, date)
) WITHOUT ROWID;
CREATE TABLE tickers (
    ticker TEXT PRIMARY KEY, source TEXT NOT NULL, auto_adjust INTEGER, updated_at TEXT NOT NULL
);
INSERT INTO bars VALUES ('OLD', '2020-01-02', 10, 11, 9, 10.5, 100);
INSERT INTO bars VALUES ('OLD', '2020-01-03', 10.5, 11, 10, 10.7, 200);
INSERT INTO tickers VALUES ('OLD', 'csv', NULL, '2020-01-04T00:00:00+00:00');
"""


def old_store(store: Store) -> None:
    """A store as rnnforecast wrote it before calendars: no calendar column, no sessions."""
    store.path.parent.mkdir(parents=True)
    with sqlite3.connect(store.path) as conn:
        conn.executescript(OLD_SCHEMA)


def test_old_store_reads_as_xnys_and_is_migrated_by_the_next_write(store: Store) -> None:
    old_store(store)
    written = store.path.read_bytes()
    assert store.info("OLD") == TickerInfo("OLD", 2, "2020-01-02", "2020-01-03", "csv", None)
    assert store.calendar("OLD") == "XNYS"
    # no sessions stored yet: none known, none counted as closed
    now = dt.datetime(2020, 2, 1, tzinfo=dt.UTC)
    assert store.sessions_after("XNYS", dt.date(2020, 1, 3), 5, now) == ([], 0)
    frame = store.read("OLD")
    assert list(frame["close"]) == [10.5, 10.7]
    assert store.path.read_bytes() == written  # readers open it read-only
    store.write("NEW", bars(n=5))
    with sqlite3.connect(store.path) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(tickers)")]
        assert columns == ["ticker", "source", "auto_adjust", "updated_at", "calendar"]
        assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone() == (0,)
    assert store.calendar("OLD") == "XNYS"
    assert list(store.read("OLD")["close"]) == [10.5, 10.7]


def test_calendar_is_recorded_and_kept_when_not_given(store: Store) -> None:
    store.write("BP.L", bars(n=5), calendar="XLON")
    assert store.calendar("BP.L") == "XLON"
    store.write("BP.L", bars(n=8))  # a later fetch that names no calendar keeps it
    assert store.calendar("BP.L") == "XLON"
    assert store.info("BP.L").calendar == "XLON"  # type: ignore[union-attr]
    store.write("NEW", bars(n=5))
    assert store.calendar("NEW") == "XNYS"
    assert store.calendar("NOPE") is None


def sessions(calendar: str, dates: list[str], hour: int) -> Sessions:
    days = np.array(dates, dtype="datetime64[D]")
    return Sessions(calendar, days, days.astype("datetime64[s]") + np.timedelta64(hour, "h"))


def test_sessions_after_counts_closed_sessions(store: Store) -> None:
    span = sessions("XNYS", ["2020-01-06", "2020-01-07", "2020-01-08", "2020-01-10"], 21)
    store.write("AAPL", bars(n=3), sessions=span)
    at = dt.datetime(2020, 1, 7, 21, 0, tzinfo=dt.UTC)  # the 7th's close, to the second
    assert store.sessions_after("XNYS", dt.date(2020, 1, 3), 3, at) == (
        [dt.date(2020, 1, 6), dt.date(2020, 1, 7), dt.date(2020, 1, 8)],
        2,
    )
    # the same instant in another zone is the same instant
    tokyo = at.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert store.sessions_after("XNYS", dt.date(2020, 1, 3), 3, tokyo)[1] == 2
    assert store.sessions_after("XNYS", dt.date(2020, 1, 8), 5, at) == ([dt.date(2020, 1, 10)], 0)
    assert store.sessions_after("XLON", dt.date(2020, 1, 3), 5, at) == ([], 0)


def test_sessions_are_replaced_over_their_span(store: Store) -> None:
    store.write("AAPL", bars(n=3), sessions=sessions("XNYS", ["2020-01-06", "2020-01-07"], 21))
    # a later fetch knows the 7th is a holiday, and one more session
    store.write("AAPL", bars(n=3), sessions=sessions("XNYS", ["2020-01-06", "2020-01-08"], 21))
    later = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert store.sessions_after("XNYS", dt.date(2020, 1, 1), 9, later) == (
        [dt.date(2020, 1, 6), dt.date(2020, 1, 8)],
        2,
    )


# --- several threads --------------------------------------------------------------------------


def test_threads_write_different_tickers_at_once_into_a_new_store(store: Store) -> None:
    """fetch writes from several threads: each write opens its own connection, SQLite
    serialises the transactions (BEGIN IMMEDIATE waits for the one in hand), and the first
    writes, which all create the schema and turn WAL on, do not trip over each other."""
    tickers = [f"T{n}" for n in range(8)]
    span = sessions("XNYS", ["2020-01-06", "2020-01-07", "2020-01-08"], 21)
    start = threading.Barrier(len(tickers))
    results: dict[str, StoreResult] = {}
    errors: list[BaseException] = []

    def write(n: int, ticker: str) -> None:
        try:
            start.wait()
            for _ in range(3):  # new rows, then the same again: each in its transaction
                results[ticker] = store.write(ticker, bars(n=60, seed=n), sessions=span)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=item) for item in enumerate(tickers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [info.ticker for info in store.tickers()] == tickers
    assert {(r.rows, r.added) for r in results.values()} == {(60, 0)}
    for n, ticker in enumerate(tickers):
        assert np.array_equal(store.read(ticker).to_numpy(), bars(n=60, seed=n).frame.to_numpy())
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone() == (3,)


# --- edges a mutation run found untested (docs/tests.md) ------------------------------------


def test_write_creates_the_folders_above_the_store(home: Path) -> None:
    store = Store(home / "a" / "b" / "store.sqlite")
    store.write("AAPL", bars(n=3))
    assert store.info("AAPL") is not None


@pytest.mark.parametrize(
    ("stored", "incoming", "said"),
    [
        ({"source": "yahoo", "auto_adjust": True}, {"source": "yahoo", "auto_adjust": False},
         "Yahoo (auto_adjust on), not Yahoo (auto_adjust off)"),
        ({"source": "yahoo", "auto_adjust": False}, {"source": "yahoo", "auto_adjust": True},
         "Yahoo (auto_adjust off), not Yahoo (auto_adjust on)"),
        ({"source": "frame"}, {"source": "sample"}, "a DataFrame, not the bundled sample"),
        ({"source": "fake"}, {"source": "csv"}, "fake, not a CSV file"),
    ],
)  # fmt: skip
def test_the_refusal_names_both_sources(
    store: Store, stored: dict, incoming: dict, said: str
) -> None:
    store.write("AAPL", bars(n=3, **stored))
    with pytest.raises(UsageError) as info:
        store.write("AAPL", bars(n=3, **incoming))
    assert str(info.value) == (
        f"AAPL is stored from {said}: replace its stored bars to start it afresh"
    )


def test_read_last_gives_the_newest_rows_oldest_first(store: Store) -> None:
    given = bars(n=10)
    store.write("AAPL", given)
    dates, values = store.read_last("AAPL", 3)
    assert dates.tolist() == [d.date() for d in given.frame.index[-3:]]
    assert values.tolist() == given.frame.to_numpy()[-3:].tolist()
    assert store.read_last("AAPL", 50)[1].shape == (10, 5)
    with pytest.raises(NoStoredData):
        store.read_last("MSFT", 3)


def test_an_old_store_knows_no_calendar_for_a_ticker_it_does_not_hold(store: Store) -> None:
    old_store(store)
    assert (store.calendar("OLD"), store.calendar("NOPE")) == ("XNYS", None)


def test_a_store_without_its_sessions_table_has_no_sessions(store: Store) -> None:
    """The calendar column without the sessions table (dropped): no sessions known."""
    store.write("AAPL", bars(n=3), sessions=sessions("XNYS", ["2020-01-06"], 21))
    with sqlite3.connect(store.path) as conn:
        conn.execute("DROP TABLE sessions")
    now = dt.datetime(2020, 2, 1, tzinfo=dt.UTC)
    assert store.sessions_after("XNYS", dt.date(2020, 1, 3), 5, now) == ([], 0)
    assert store.sessions_reach("XNYS", dt.date(2020, 1, 3), now) is False


def test_sessions_after_counts_in_utc_whatever_the_machines_zone(store: Store) -> None:
    from conftest import machine_zone

    span = sessions("XNYS", ["2020-01-06", "2020-01-07", "2020-01-08"], 21)
    store.write("AAPL", bars(n=3), sessions=span)
    at = dt.datetime(2020, 1, 7, 21, 0, tzinfo=dt.UTC)
    with machine_zone("Pacific/Kiritimati"):  # UTC+14
        assert store.sessions_after("XNYS", dt.date(2020, 1, 3), 3, at)[1] == 2
    with machine_zone("America/Los_Angeles"):
        assert store.sessions_after("XNYS", dt.date(2020, 1, 3), 3, at)[1] == 2


def test_sessions_are_replaced_over_their_whole_span_only(store: Store) -> None:
    """Three sessions, the middle one dropped by a later fetch; a 24/7 session closes at
    midnight UTC, the next day: the session dated that next day, stored by another fetch,
    is outside the span and kept."""
    days = ["2020-01-06", "2020-01-07", "2020-01-08"]
    store.write("AAPL", bars(n=3), sessions=sessions("XNYS", days, 21))
    store.write("AAPL", bars(n=3), sessions=sessions("XNYS", [days[0], days[2]], 21))
    later = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert store.sessions_after("XNYS", dt.date(2020, 1, 1), 9, later)[0] == [
        dt.date(2020, 1, 6),
        dt.date(2020, 1, 8),
    ]
    store.write("BTC", bars(n=3), sessions=sessions("24/7", ["2020-01-06", "2020-01-07"], 24))
    store.write("BTC", bars(n=3), sessions=sessions("24/7", ["2020-01-05", "2020-01-06"], 24))
    assert store.sessions_after("24/7", dt.date(2020, 1, 1), 9, later)[0] == [
        dt.date(2020, 1, 5),
        dt.date(2020, 1, 6),
        dt.date(2020, 1, 7),
    ]


def test_a_store_in_a_read_only_home_is_read(store: Store, home: Path, tmp_path: Path) -> None:
    """The WAL store cannot get its -shm file in a folder the user cannot write: it is read
    as immutable (predict, evaluate and models work in such a home)."""
    from conftest import read_only

    given = bars(n=5)
    store.write("AAPL", given, sessions=sessions("XNYS", ["2020-01-06"], 21))
    with read_only(home, tmp_path) as folder:
        frozen = Store(folder / "store.sqlite")
        assert frozen.read("AAPL").equals(given.frame)
        assert frozen.calendar("AAPL") == "XNYS"
