"""CSV dates: one format per file, inferred or given with --date-format; a file whose dates
read month-first and day-first alike is refused, never guessed."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from rnnforecast.cli.commands import app
from rnnforecast.data import sources

runner = CliRunner()


def fetch(home: Path, *args: str):
    return runner.invoke(app, ["--home", str(home), "fetch", *args])


def sample_with_dates(folder: Path, fmt: str) -> Path:
    """The bundled GOOG sample (2,148 bars, 2004-08-19 to 2013-03-01) with its dates
    written in ``fmt``."""
    frame = pd.read_csv(sources.sample_path()).rename(columns={"Unnamed: 0": "Date"})
    frame["Date"] = pd.to_datetime(frame["Date"], format="%Y-%m-%d").dt.strftime(fmt)
    path = folder / "goog.csv"
    frame.to_csv(path, index=False)
    return path


def stored_dates(home: Path, ticker: str = "GOOG") -> list[str]:
    from rnnforecast.data.store import Store

    return [str(d.date()) for d in Store(home / "store.sqlite").read(ticker).index]


def sample_dates() -> list[str]:
    return list(pd.read_csv(sources.sample_path()).iloc[:, 0])


@pytest.mark.parametrize("fmt", ["%d/%m/%Y", "%d.%m.%Y", "%m/%d/%Y", "%Y-%m-%d", "%d-%b-%Y"])
def test_whole_sample_in_each_format_keeps_every_date(tmp_path: Path, home: Path, fmt: str) -> None:
    """Day-first files were read month-first whenever the day was 12 or less (777 of the
    sample's 2,148 bars on wrong dates); now every date survives in every format."""
    csv = sample_with_dates(tmp_path, fmt)
    result = fetch(home, "GOOG", "--csv", str(csv), "--json")
    assert result.exit_code == 0, result.stderr
    (stored,) = json.loads(result.stdout)["tickers"]
    assert (stored["rows"], stored["first"], stored["last"]) == (2148, "2004-08-19", "2013-03-01")
    assert stored_dates(home) == sample_dates()


ROW = ",10,11,9,10.5,1000"


def small_csv(folder: Path, dates: list[str]) -> Path:
    path = folder / "bars.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n" + "".join(f"{d}{ROW}\n" for d in dates))
    return path


AMBIGUOUS = ["02/01/2020", "03/01/2020", "06/01/2020", "07/01/2020", "08/01/2020"]


def test_ambiguous_dates_are_refused(tmp_path: Path, home: Path) -> None:
    csv = small_csv(tmp_path, AMBIGUOUS)
    result = fetch(home, "T", "--csv", str(csv))
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {csv}: dates such as '02/01/2020' read as MM/DD/YYYY and DD/MM/YYYY alike "
        "(no day after the 12th tells them apart): give --date-format, e.g. %d/%m/%Y or "
        "%m/%d/%Y\n"
    )
    assert not (home / "store.sqlite").exists()


def test_date_format_settles_ambiguous_dates(tmp_path: Path, home: Path) -> None:
    csv = small_csv(tmp_path, AMBIGUOUS)
    result = fetch(home, "T", "--csv", str(csv), "--date-format", "%d/%m/%Y", "--json")
    assert result.exit_code == 0, result.stderr
    (stored,) = json.loads(result.stdout)["tickers"]
    assert (stored["rows"], stored["first"], stored["last"]) == (5, "2020-01-02", "2020-01-08")
    # read month-first, the same file is one bar a month: refused as not daily
    result = fetch(home, "U", "--csv", str(csv), "--date-format", "%m/%d/%Y")
    assert result.exit_code == 3
    assert "bars are 30 days apart (median)" in result.stderr


def test_one_day_after_the_12th_settles_the_whole_file(tmp_path: Path, home: Path) -> None:
    csv = small_csv(tmp_path, [*AMBIGUOUS, "13/01/2020"])
    result = fetch(home, "T", "--csv", str(csv), "--json")
    assert result.exit_code == 0, result.stderr
    assert stored_dates(home, "T") == [
        "2020-01-02",
        "2020-01-03",
        "2020-01-06",
        "2020-01-07",
        "2020-01-08",
        "2020-01-13",
    ]


def test_formats_are_never_mixed_within_a_file(tmp_path: Path, home: Path) -> None:
    csv = small_csv(tmp_path, ["2020-01-02", "2020-01-03", "01/06/2020", "2020-01-07"])
    result = fetch(home, "T", "--csv", str(csv))
    assert result.exit_code == 3
    assert result.stderr == (
        f"error: {csv}: unreadable date '01/06/2020' on line 4 (read as YYYY-MM-DD, like the "
        "other dates)\n"
    )


def test_date_format_that_does_not_fit(tmp_path: Path, home: Path) -> None:
    csv = small_csv(tmp_path, ["13/01/2020", "14/01/2020", "15/01/2020"])
    result = fetch(home, "T", "--csv", str(csv), "--date-format", "%m/%d/%Y")
    assert result.exit_code == 3
    assert result.stderr == (
        f"error: {csv}: unreadable date '13/01/2020' on line 2 (read as %m/%d/%Y, like the "
        "other dates)\n"
    )


def test_date_format_is_for_csv_only(home: Path) -> None:
    result = fetch(home, "--sample", "--date-format", "%d/%m/%Y")
    assert result.exit_code == 2
    assert result.stderr == "error: --date-format is for a csv source only\n"


def test_run_config_date_format_per_csv_ticker(tmp_path: Path) -> None:
    from rnnforecast.data.sources import CsvSource
    from rnnforecast.errors import UsageError
    from rnnforecast.jobs.runconfig import load_run_config

    config = tmp_path / "run.toml"
    config.write_text(
        '[run]\ntickers = [{ ticker = "T", source = "csv", path = "t.csv", '
        'date_format = "%d/%m/%Y" }]\n'
    )
    _, plan = load_run_config(config)
    assert plan.tickers[0].source == CsvSource(tmp_path.resolve() / "t.csv", "%d/%m/%Y")
    config.write_text('[run]\ntickers = [{ ticker = "T", date_format = "%d/%m/%Y" }]\n')
    with pytest.raises(UsageError, match=r"^run.tickers\[1\]: date_format is only for a csv"):
        load_run_config(config)
