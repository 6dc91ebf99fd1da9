"""The store's SQLite schema, and bringing a store written by an older rnnforecast up to it."""

from __future__ import annotations

import sqlite3

from rnnforecast.data.calendars import DEFAULT as DEFAULT_CALENDAR

SCHEMA = """
CREATE TABLE IF NOT EXISTS bars (
    ticker TEXT NOT NULL,
    date   TEXT NOT NULL,          -- YYYY-MM-DD, the exchange's calendar date
    open   REAL NOT NULL,
    high   REAL NOT NULL,
    low    REAL NOT NULL,
    close  REAL NOT NULL,
    volume REAL NOT NULL,
    PRIMARY KEY (ticker, date)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tickers (
    ticker      TEXT PRIMARY KEY,
    source      TEXT NOT NULL,     -- yahoo | csv | sample
    auto_adjust INTEGER,           -- Yahoo only: 1 if prices are split/dividend adjusted
    updated_at  TEXT NOT NULL,     -- UTC, ISO 8601
    calendar    TEXT NOT NULL DEFAULT 'XNYS'  -- exchange calendar code (exchange_calendars)
);
CREATE TABLE IF NOT EXISTS sessions (
    calendar TEXT NOT NULL,        -- exchange calendar code, e.g. XNYS, 24/7
    date     TEXT NOT NULL,        -- YYYY-MM-DD, the session's calendar date
    close    TEXT NOT NULL,        -- the session's close in UTC, YYYY-MM-DDTHH:MM:SSZ
    PRIMARY KEY (calendar, date)
) WITHOUT ROWID;
"""


def migrate(conn: sqlite3.Connection) -> None:
    """Bring a store written by an older rnnforecast up to :data:`SCHEMA`: its tickers get
    the calendar column (XNYS, the only calendar that version knew). The sessions table is
    created by the schema script; it stays empty until the next fetch."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(tickers)")}
    if "calendar" in columns:
        return
    try:
        conn.execute(
            f"ALTER TABLE tickers ADD COLUMN calendar TEXT NOT NULL DEFAULT '{DEFAULT_CALENDAR}'"
        )
    except sqlite3.OperationalError as exc:  # another process migrated it first
        if "duplicate column" not in str(exc):
            raise
