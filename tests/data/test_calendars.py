"""Exchange calendars: when a bar is complete, which days are forecast, how stale bars are
reported, old stores, and the calendar a ticker is given. The clock is always injected
(``--now`` on the command line), never the machine's."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, TINY_CONFIG, cli, make_prices, yahoo_frame

from rnnforecast.data import calendars
from rnnforecast.errors import DataError, UsageError

# 2013-03-01 was a Friday; New York was on EST (UTC-5).
NY_1630 = "2013-03-01T21:30:00+00:00"
NY_1000 = "2013-03-01T15:00:00+00:00"


def prices_until(last: str, n: int = 120, every_day: bool = False) -> pd.DataFrame:
    """``n`` synthetic bars ending on ``last``: on weekdays, or on every day."""
    frame = make_prices(n=n, seed=3)
    end = pd.Timestamp(last)
    frame.index = (
        pd.date_range(end=end, periods=n, name="Date")
        if every_day
        else pd.bdate_range(end=end, periods=n, name="Date")
    )
    return frame


def write_csv(folder: Path, name: str, frame: pd.DataFrame) -> Path:
    path = folder / name
    frame.to_csv(path)
    return path


# --- pure functions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exchange", "calendar"),
    [
        ("NMS", "XNYS"),
        ("NGM", "XNYS"),
        ("NCM", "XNYS"),
        ("NYQ", "XNYS"),
        ("ASE", "XNYS"),
        ("PCX", "XNYS"),
        ("BTS", "XNYS"),
        ("NAS", "XNYS"),
        ("LSE", "XLON"),
        ("GER", "XETR"),
        ("FRA", "XFRA"),
        ("TOR", "XTSE"),
        ("JPX", "XTKS"),
        ("TYO", "XTKS"),
        ("CCC", "24/7"),
        ("lse", "XLON"),
        ("XYZ", None),
        ("", None),
        (None, None),
    ],
)
def test_for_yahoo_exchange(exchange: str | None, calendar: str | None) -> None:
    assert calendars.for_yahoo_exchange(exchange) == calendar


def test_every_mapped_yahoo_exchange_is_a_known_calendar() -> None:
    for exchange, calendar in calendars._YAHOO_EXCHANGES.items():
        assert calendars.check_code(calendar) == calendar, exchange


@pytest.mark.parametrize(
    ("given", "canonical"),
    [("XNYS", "XNYS"), ("xlon", "XLON"), ("NYSE", "XNYS"), ("24/7", "24/7"), (" XTKS ", "XTKS")],
)
def test_check_code(given: str, canonical: str) -> None:
    assert calendars.check_code(given) == canonical


def test_check_code_unknown_names_it() -> None:
    with pytest.raises(UsageError, match="unknown exchange calendar 'XNOPE'"):
        calendars.check_code("XNOPE")


def test_choose_prefers_the_user_then_the_store_then_the_source() -> None:
    assert calendars.choose("XLON", "XETR", "XTSE") == "XLON"
    assert calendars.choose(None, "XETR", "XTSE") == "XETR"
    assert calendars.choose(None, None, "XTSE") == "XTSE"
    assert calendars.choose(None, None, None) == "XNYS"


def frame_until(last: str, n: int = 5) -> pd.DataFrame:
    frame = prices_until(last, n)
    frame.columns = [c.lower() for c in frame.columns]
    frame.index.name = "date"
    return frame


def xnys_2013() -> calendars.Sessions:
    return calendars.sessions("XNYS", dt.date(2013, 1, 1), dt.date(2013, 12, 31))


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_sessions_skip_holidays_and_close_in_utc() -> None:
    span = xnys_2013()
    days = [d.isoformat() for d in span.dates.tolist()]
    assert "2013-03-28" in days and "2013-03-29" not in days  # Good Friday
    assert "2013-11-28" not in days  # Thanksgiving
    # 4 pm New York: 21:00 UTC in winter, 20:00 UTC in summer; 1 pm on the day after
    # Thanksgiving (an early close)
    rows = dict(span.rows())
    assert rows["2013-03-01"] == "2013-03-01T21:00:00Z"
    assert rows["2013-07-01"] == "2013-07-01T20:00:00Z"
    assert rows["2013-11-29"] == "2013-11-29T18:00:00Z"


def test_last_closed_is_by_the_instant_not_the_zone() -> None:
    span = xnys_2013()
    assert span.last_closed(at(NY_1630)) == dt.date(2013, 3, 1)
    assert span.last_closed(at(NY_1000)) == dt.date(2013, 2, 28)
    # the same instants seen from Tokyo, where it is already Saturday
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert span.last_closed(at(NY_1000).astimezone(tokyo)) == dt.date(2013, 2, 28)
    assert span.last_closed(at("2013-01-01T00:00:00+00:00")) is None


def test_complete_bars_keeps_a_closed_session() -> None:
    frame = frame_until("2013-03-01")
    kept = calendars.complete_bars(frame, xnys_2013(), at(NY_1630), "t", drop_open=False)
    assert kept.index[-1] == pd.Timestamp("2013-03-01")
    assert len(kept) == 5


def test_complete_bars_drops_an_open_session_from_a_live_source() -> None:
    frame = frame_until("2013-03-01")
    kept = calendars.complete_bars(frame, xnys_2013(), at(NY_1000), "t", drop_open=True)
    assert kept.index[-1] == pd.Timestamp("2013-02-28")
    assert len(kept) == 4


def test_complete_bars_refuses_an_open_session_from_a_file() -> None:
    frame = frame_until("2013-03-01")
    with pytest.raises(DataError) as info:
        calendars.complete_bars(frame, xnys_2013(), at(NY_1000), "f.csv", drop_open=False)
    assert str(info.value) == (
        "f.csv: bar dated 2013-03-01 is after the last closed XNYS session (2013-02-28): "
        "its session has not closed yet, or the date is wrong"
    )


def test_complete_bars_refuses_a_future_bar_even_from_a_live_source() -> None:
    """Monday's bar on Friday morning is misdated, not incomplete: refused, not dropped."""
    frame = frame_until("2013-03-05")
    with pytest.raises(DataError, match="bar dated 2013-03-04 is after the last closed"):
        calendars.complete_bars(frame, xnys_2013(), at(NY_1000), "t", drop_open=True)


def test_complete_bars_refuses_bars_before_1900() -> None:
    frame = frame_until("1500-01-10")
    with pytest.raises(DataError, match=r"^t: bar dated 1500-01-\d\d is before 1900$"):
        calendars.complete_bars(frame, xnys_2013(), at(NY_1000), "t", drop_open=False)


def test_complete_bars_nothing_closed_yet() -> None:
    frame = frame_until("2013-03-01", n=1)
    with pytest.raises(DataError, match="no complete bars yet"):
        calendars.complete_bars(frame, xnys_2013(), at(NY_1000), "t", drop_open=True)


# --- fetch: a bar is complete once its session has closed, whatever the machine's zone ------


@pytest.fixture
def tokyo(monkeypatch: pytest.MonkeyPatch):
    """The process in Tokyo, where 16:30 New York is already the next morning."""
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(("now", "last"), [(NY_1630, "2013-03-01"), (NY_1000, "2013-02-28")])
def test_yahoo_fetch_stores_the_bar_once_its_session_closed(
    fake_yahoo, tokyo, home: Path, now: str, last: str
) -> None:
    fake_yahoo.answers = [yahoo_frame(prices_until("2013-03-01"))]
    result = cli("--now", now, "fetch", "AAPL", "--json", home=home, yahoo=fake_yahoo)
    assert result.exit_code == 0, result.stderr
    (stored,) = json.loads(result.stdout)["tickers"]
    assert stored["last"] == last


def fetch_csv_in_tokyo(home: Path, csv: Path, now: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh process with TZ=Asia/Tokyo, as cron would start it there."""
    env = {**os.environ, "TZ": "Asia/Tokyo", "PYTHONPATH": str(REPO)}
    command = ["--home", str(home), "--now", now, "fetch", "T", "--csv", str(csv), "--json"]
    return subprocess.run(
        [sys.executable, "-m", "rnnforecast", *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_csv_fetch_in_tokyo_at_1630_new_york(tmp_path: Path, home: Path) -> None:
    csv = write_csv(tmp_path, "t.csv", prices_until("2013-03-01"))
    done = fetch_csv_in_tokyo(home, csv, NY_1630)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tickers"][0]["last"] == "2013-03-01"


def test_csv_fetch_in_tokyo_at_1000_new_york_refuses_the_open_session(
    tmp_path: Path, home: Path
) -> None:
    csv = write_csv(tmp_path, "t.csv", prices_until("2013-03-01"))
    done = fetch_csv_in_tokyo(home, csv, NY_1000)
    message = (
        f"{csv}: bar dated 2013-03-01 is after the last closed XNYS session "
        "(2013-02-28): its session has not closed yet, or the date is wrong"
    )
    assert done.returncode == 3
    assert json.loads(done.stdout) == {"error": {"code": 3, "kind": "data", "message": message}}
    assert done.stderr == f"error: {message}\n"


@pytest.mark.parametrize(("first", "bad"), [("1500-01-05", "1500-01-05"), (None, "2090-01-04")])
def test_csv_bars_out_of_range_are_refused(
    tmp_path: Path, home: Path, first: str | None, bad: str
) -> None:
    frame = prices_until("2013-03-01", n=30)
    dates = list(frame.index)
    if first:
        dates[0] = pd.Timestamp(first)
    else:
        dates[-1] = pd.Timestamp(bad)
    frame.index = pd.DatetimeIndex(dates, name="Date")
    csv = write_csv(tmp_path, "t.csv", frame)
    result = cli("--now", NY_1630, "fetch", "T", "--csv", str(csv), home=home)
    assert result.exit_code == 3, result.stderr
    assert result.stdout == ""
    line = result.stderr.strip()
    assert line.startswith(f"error: {csv}: bar dated {bad} is ")
    assert ("before 1900" if first else "after the last closed XNYS session") in line
    assert not (home / "store.sqlite").exists() or "T" not in stored_tickers(home)


def stored_tickers(home: Path) -> dict[str, str]:
    with sqlite3.connect(home / "store.sqlite") as conn:
        return dict(conn.execute("SELECT ticker, calendar FROM tickers").fetchall())


def test_unknown_calendar_exits_2_naming_it(tmp_path: Path, home: Path) -> None:
    csv = write_csv(tmp_path, "t.csv", prices_until("2013-03-01"))
    result = cli("fetch", "T", "--csv", str(csv), "--calendar", "XNOPE", home=home)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: unknown exchange calendar 'XNOPE' (examples:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_now_exits_2(home: Path) -> None:
    result = cli("--now", "2013-03-01T21:30:00", "fetch", "--sample", home=home)
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --now '2013-03-01T21:30:00' needs a UTC offset, e.g. 2013-03-01T21:30:00+00:00\n"
    )


def test_fetch_records_the_calendar_and_later_fetches_keep_it(tmp_path: Path, home: Path) -> None:
    csv = write_csv(tmp_path, "t.csv", prices_until("2013-03-01"))
    assert cli("fetch", "T", "--csv", str(csv), "--calendar", "xlon", home=home).exit_code == 0
    assert cli("fetch", "U", "--csv", str(csv), home=home).exit_code == 0
    again = cli("fetch", "T", "--csv", str(csv), "--json", home=home)
    assert json.loads(again.stdout)["tickers"][0]["calendar"] == "XLON"
    assert stored_tickers(home) == {"T": "XLON", "U": "XNYS"}


# --- predict: forecast dates are sessions; stale bars are reported -------------------------


@pytest.fixture(scope="module")
def recursive_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ticker T with a tiny recursive model (so it forecasts any number of days), trained
    on weekday bars up to 2013-03-27. Not conftest's trained home: these tests need the
    recursive strategy and bars around Good Friday 2013."""
    folder = tmp_path_factory.mktemp("calendars")
    home, config = folder / "home", folder / "tiny.toml"
    config.write_text(TINY_CONFIG)
    csv = write_csv(folder, "t.csv", prices_until("2013-03-27", n=200))
    assert cli("fetch", "T", "--csv", str(csv), home=home).exit_code == 0
    trained = cli(
        "train", "T", "--config", str(config), "--set", "data.strategy=recursive", home=home
    )
    assert trained.exit_code == 0, trained.stderr
    return home


@pytest.fixture
def model_home(recursive_model: Path, home: Path) -> Path:
    """This test's own copy of ``recursive_model``; the test stores the bars it needs with
    fetch --replace."""
    shutil.copytree(recursive_model, home)
    return home


def store_bars(home: Path, folder: Path, frame: pd.DataFrame, calendar: str = "XNYS") -> None:
    csv = write_csv(folder, "bars.csv", frame)
    result = cli("fetch", "T", "--csv", str(csv), "--replace", "--calendar", calendar, home=home)
    assert result.exit_code == 0, result.stderr


def predict(home: Path, now: str, horizon: int) -> tuple[dict, str]:
    result = cli("--now", now, "predict", "T", "--horizon", str(horizon), "--json", home=home)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def test_xnys_forecast_skips_good_friday(model_home: Path, tmp_path: Path) -> None:
    store_bars(model_home, tmp_path, prices_until("2013-03-27"))
    out, stderr = predict(model_home, "2013-03-27T21:00:00+00:00", 3)
    assert [f["date"] for f in out["forecasts"]] == ["2013-03-28", "2013-04-01", "2013-04-02"]
    assert (out["calendar"], out["stale_sessions"], out["warnings"]) == ("XNYS", 0, [])
    assert stderr == ""


def test_xnys_forecast_skips_thanksgiving(model_home: Path, tmp_path: Path) -> None:
    store_bars(model_home, tmp_path, prices_until("2017-11-21"))
    out, _ = predict(model_home, "2017-11-21T22:00:00+00:00", 3)
    assert [f["date"] for f in out["forecasts"]] == ["2017-11-22", "2017-11-24", "2017-11-27"]


def test_24_7_forecasts_the_next_calendar_day(model_home: Path, tmp_path: Path) -> None:
    saturday = "2021-05-08"
    assert pd.Timestamp(saturday).day_name() == "Saturday"
    store_bars(model_home, tmp_path, prices_until(saturday, every_day=True), "24/7")
    out, _ = predict(model_home, "2021-05-09T00:00:00+00:00", 2)
    assert [f["date"] for f in out["forecasts"]] == ["2021-05-09", "2021-05-10"]
    assert out["calendar"] == "24/7"
    assert out["warnings"] == []


def test_predict_warns_when_sessions_closed_after_the_last_bar(
    model_home: Path, tmp_path: Path
) -> None:
    store_bars(model_home, tmp_path, prices_until("2013-03-01"))
    # 2013-03-19 16:30 New York (EDT since the 10th): 12 sessions have closed since the 1st
    out, stderr = predict(model_home, "2013-03-19T20:30:00+00:00", 1)
    message = "T: last bar 2013-03-01 is 12 sessions old; run `rnnforecast fetch T`"
    assert out["warnings"] == [message]
    assert out["stale_sessions"] == 12
    assert stderr == f"warning: {message}\n"
    # forecast dates still follow the last stored bar
    assert out["forecasts"][0]["date"] == "2013-03-04"
    # one session later
    out, _ = predict(model_home, "2013-03-04T21:00:00+00:00", 1)
    assert out["warnings"] == ["T: last bar 2013-03-01 is 1 session old; run `rnnforecast fetch T`"]


def test_predict_on_an_old_store_without_sessions(model_home: Path, tmp_path: Path) -> None:
    """A store written before calendars: no calendar column, no sessions table."""
    store_bars(model_home, tmp_path, prices_until("2013-03-27"))
    with sqlite3.connect(model_home / "store.sqlite") as conn:
        conn.executescript(
            "DROP TABLE sessions; ALTER TABLE tickers RENAME TO new; CREATE TABLE tickers ("
            "ticker TEXT PRIMARY KEY, source TEXT NOT NULL, auto_adjust INTEGER, "
            "updated_at TEXT NOT NULL); INSERT INTO tickers "
            "SELECT ticker, source, auto_adjust, updated_at FROM new; DROP TABLE new;"
        )
    out, stderr = predict(model_home, "2013-03-27T21:00:00+00:00", 3)
    # weekdays, as before calendars: Good Friday is not known
    assert [f["date"] for f in out["forecasts"]] == ["2013-03-28", "2013-03-29", "2013-04-01"]
    message = (
        "T: the XNYS sessions after 2013-03-27 are not stored; forecast dates from 2013-03-28 "
        "on are weekdays, holidays not known; run `rnnforecast fetch T`"
    )
    assert out["warnings"] == [message]
    assert stderr == f"warning: {message}\n"
    # the next fetch stores the sessions, and Good Friday is skipped again
    store_bars(model_home, tmp_path, prices_until("2013-03-27"))
    out, _ = predict(model_home, "2013-03-27T21:00:00+00:00", 3)
    assert [f["date"] for f in out["forecasts"]] == ["2013-03-28", "2013-04-01", "2013-04-02"]


def test_predict_on_an_old_store_the_morning_after_the_last_bar(
    model_home: Path, tmp_path: Path
) -> None:
    """Without stored sessions predict counts them from exchange_calendars, which refuses a
    span of one day: the morning after the last bar (and a weekend) predict failed."""
    store_bars(model_home, tmp_path, prices_until("2013-03-22"))  # a Friday
    with sqlite3.connect(model_home / "store.sqlite") as conn:
        conn.execute("DROP TABLE sessions")
    for now, stale in (("2013-03-23T10:00:00+00:00", 0), ("2013-03-25T21:00:00+00:00", 1)):
        out, _ = predict(model_home, now, 1)
        assert (out["stale_sessions"], out["forecasts"][0]["date"]) == (stale, "2013-03-25")


def xnys_closed(after: str, now: str) -> int:
    """The XNYS sessions after ``after`` closed by ``now``, counted by exchange_calendars."""
    import exchange_calendars as xcals

    instant = pd.Timestamp(now)
    found = xcals.get_calendar("XNYS", start=after, end=instant.tz_convert(None).normalize())
    closes = found.closes[found.closes.index > pd.Timestamp(after)]
    return int((closes <= instant).sum())


def test_stale_sessions_on_a_store_older_than_calendars(model_home: Path, tmp_path: Path) -> None:
    """Issue row 5: a store without sessions counted 0 stale sessions."""
    store_bars(model_home, tmp_path, prices_until("2013-03-01"))
    with sqlite3.connect(model_home / "store.sqlite") as conn:
        conn.executescript(
            "DROP TABLE sessions; ALTER TABLE tickers RENAME TO new; CREATE TABLE tickers ("
            "ticker TEXT PRIMARY KEY, source TEXT NOT NULL, auto_adjust INTEGER, "
            "updated_at TEXT NOT NULL); INSERT INTO tickers "
            "SELECT ticker, source, auto_adjust, updated_at FROM new; DROP TABLE new;"
        )
    out, _ = predict(model_home, "2013-03-19T20:30:00+00:00", 1)
    assert out["stale_sessions"] == 12
    assert out["warnings"][0].startswith("T: last bar 2013-03-01 is 12 sessions old")


def test_stale_sessions_when_the_sessions_were_fetched_years_ago(
    model_home: Path, tmp_path: Path
) -> None:
    """Issue row 5: sessions stored by a fetch over two years ago end before now; the count
    goes on from the calendar to now."""
    csv = write_csv(tmp_path, "bars.csv", prices_until("2013-03-01"))
    fetched = cli("--now", NY_1630, "fetch", "T", "--csv", str(csv), "--replace", home=model_home)
    assert fetched.exit_code == 0, fetched.stderr
    now = "2026-12-04T22:00:00+00:00"
    out, _ = predict(model_home, now, 1)
    expected = xnys_closed("2013-03-01", now)
    assert expected > 3400  # ~13.8 years of sessions, not the ~500 stored ones
    assert out["stale_sessions"] == expected
    assert f"is {expected} sessions old" in out["warnings"][0]


def test_stale_sessions_across_a_hole_in_the_stored_sessions(
    model_home: Path, tmp_path: Path
) -> None:
    """Two fetches years apart of tickers with different spans leave a hole in the stored
    sessions; the count does not skip it."""
    store_bars(model_home, tmp_path, prices_until("2013-03-01"))
    with sqlite3.connect(model_home / "store.sqlite") as conn:
        conn.execute("DELETE FROM sessions WHERE date BETWEEN '2014-01-01' AND '2014-12-31'")
    now = "2015-06-01T22:00:00+00:00"
    out, _ = predict(model_home, now, 1)
    assert out["stale_sessions"] == xnys_closed("2013-03-01", now)


@pytest.mark.slow  # trains
def test_run_config_calendar_per_ticker(tmp_path: Path, home: Path) -> None:
    from rnnforecast.jobs.runconfig import load_run_config

    csv = write_csv(tmp_path, "t.csv", prices_until("2013-03-01"))
    config = tmp_path / "run.toml"
    config.write_text(
        TINY_CONFIG
        + "\n[run]\ntickers = [\n"
        + f'  {{ ticker = "T", source = "csv", path = "{csv.name}", calendar = "XLON" }},\n'
        + '  { ticker = "U", source = "sample" },\n]\n'
    )
    _, plan = load_run_config(config)
    assert [(j.ticker, j.calendar) for j in plan.tickers] == [("T", "XLON"), ("U", None)]
    config.write_text(config.read_text().replace('"XLON"', '"XNOPE"'))
    result = cli("run", "--config", str(config), home=home)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown exchange calendar 'XNOPE'")
    assert not (home / "store.sqlite").exists()  # refused before any ticker was fetched


def test_fetch_warns_when_many_bars_fall_off_the_calendar(tmp_path: Path, home: Path) -> None:
    """Every-day bars (crypto) stored on XNYS: the weekends give the calendar away."""
    csv = write_csv(tmp_path, "btc.csv", prices_until("2021-05-08", n=69, every_day=True))
    result = cli("fetch", "BTC-USD", "--csv", str(csv), "--json", home=home)
    assert result.exit_code == 0, result.stderr
    (stored,) = json.loads(result.stdout)["tickers"]
    # 69 days from Monday 2021-03-01: 19 weekend days and Good Friday (2021-04-02)
    assert (stored["calendar"], stored["off_calendar"]) == ("XNYS", 20)
    assert result.stderr == (
        "warning: BTC-USD: 20 bars fall on days XNYS does not trade: if the series trades "
        "then, choose its calendar with --calendar (e.g. --calendar 24/7)\n"
    )
    again = cli("fetch", "BTC-USD", "--csv", str(csv), "--calendar", "24/7", "--json", home=home)
    assert json.loads(again.stdout)["tickers"][0]["off_calendar"] == 0
    assert again.stderr == ""


def test_a_few_holidays_in_the_data_are_not_worth_a_warning(tmp_path: Path, home: Path) -> None:
    # weekdays from 2013-01-14: Martin Luther King Day, Presidents' Day, Good Friday
    csv = write_csv(tmp_path, "t.csv", prices_until("2013-04-05", n=60))
    result = cli("fetch", "T", "--csv", str(csv), "--json", home=home)
    assert json.loads(result.stdout)["tickers"][0]["off_calendar"] == 3
    assert result.stderr == ""


def test_sessions_are_clipped_to_the_calendars_bounds() -> None:
    """exchange_calendars evaluates XTKS from 1997 on: earlier bars get no sessions."""
    span = calendars.sessions("XTKS", dt.date(1990, 1, 1), dt.date(1997, 1, 10))
    assert str(span.dates[0]) == "1997-01-06"  # the first session after the New Year holidays
    assert span.rows()[0] == ("1997-01-06", "1997-01-06T06:00:00Z")  # 15:00 Tokyo
