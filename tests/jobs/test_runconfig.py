"""The [run] table: read through the generic table reader, each ticker with its source."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnnforecast.data.sources import CsvSource, SampleSource
from rnnforecast.data.throttle import RateLimit
from rnnforecast.data.yahoo_source import YahooSource
from rnnforecast.errors import UsageError
from rnnforecast.jobs.runconfig import load_run_config


def write(tmp_path: Path, run_table: str) -> Path:
    path = tmp_path / "nightly.toml"
    path.write_text("[model]\nunits = 4\n\n[run]\n" + run_table)
    return path


def test_each_ticker_gets_the_source_it_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'keep = 2\nauto_adjust = false\nglobal = true\ngroup = "Pair"\ntickers = [\n'
        '  "aapl",\n'
        '  { ticker = "t", source = "csv", path = "t.csv", date_format = "%d/%m/%Y" },\n'
        '  { ticker = "goog", source = "sample", calendar = "XNAS" },\n]\n',
    )
    template = YahooSource(retries=1, timeout=2.0)
    recipe, plan = load_run_config(path, yahoo=template)
    assert recipe.model.units == 4
    assert [(job.ticker, job.calendar) for job in plan.tickers] == [
        ("AAPL", None),
        ("T", None),
        ("GOOG", "XNAS"),
    ]
    assert plan.tickers[0].source == YahooSource(retries=1, timeout=2.0, auto_adjust=False)
    assert plan.tickers[1].source == CsvSource(tmp_path.resolve() / "t.csv", "%d/%m/%Y")
    assert plan.tickers[2].source == SampleSource()
    assert (plan.keep, plan.auto_adjust, plan.global_model, plan.group) == (2, False, True, "pair")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            'tickers = ["X"]\nkeeps = 1\n',
            "unknown config key 'run.keeps' (known: auto_adjust, fetch, global, group, keep, "
            "refit, tickers, warm_start)",
        ),
        (
            'tickers = ["X"]\n[run.fetch]\nat_once = 2\n',
            "unknown config key 'run.fetch.at_once' (known: concurrency, per_second)",
        ),
        ('tickers = ["X"]\nfetch = 3\n', "config section 'run.fetch' must be a table"),
        (
            'tickers = ["X"]\n[run.fetch]\nconcurrency = 0\n',
            "run.fetch.concurrency must be between 1 and 32, got 0",
        ),
        (
            'tickers = ["X"]\n[run.fetch]\nper_second = 0\n',
            "run.fetch.per_second must be above 0 and at most 100, got 0.0",
        ),
        (
            'tickers = ["X"]\n[run.fetch]\nconcurrency = 2.5\n',
            "run.fetch.concurrency must be an integer, got 2.5",
        ),
        (
            'tickers = [{ ticker = "X", sauce = "csv" }]\n',
            "unknown config key 'run.tickers[1].sauce' (known: calendar, date_format, path, "
            "source, ticker)",
        ),
        ('tickers = [{ source = "sample" }]\n', "run.tickers[1].ticker must be a string, got None"),
        (
            'tickers = [{ ticker = "X", calendar = " " }]\n',
            "run.tickers[1].calendar must be a non-empty string, got ' '",
        ),
        (
            'tickers = [{ ticker = "X", source = "csv", path = 3 }]\n',
            "run.tickers[1].path must be a file path, got 3",
        ),
        (
            'tickers = [{ ticker = "X", path = "x.csv" }]\n',
            "run.tickers[1]: path is only for a csv source",
        ),
        (
            'tickers = [{ ticker = "X", source = "ftp" }]\n',
            "run.tickers[1].source must be one of yahoo, csv, sample; got 'ftp'",
        ),
        ("tickers = [3]\n", "run.tickers[1] must be a ticker or a table with ticker and source"),
        ('tickers = ["X"]\nkeep = 0\n', "run.keep must be at least 1, got 0"),
        ('tickers = ["X"]\nkeep = "2"\n', "run.keep must be an integer, got '2'"),
        (
            "tickers = []\n",
            "run.tickers must list at least one ticker, e.g. tickers = "
            '[{ ticker = "AAPL" }, { ticker = "GOOG", source = "sample" }]',
        ),
    ],
)
def test_bad_run_tables_name_the_key(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        load_run_config(write(tmp_path, table))
    assert str(raised.value) == message


def test_the_fetch_table_sets_the_rate_limit_of_the_fetch_stage(tmp_path: Path) -> None:
    _, plan = load_run_config(write(tmp_path, 'tickers = ["X"]\n[run.fetch]\nconcurrency = 8\n'))
    assert plan.fetch == RateLimit(concurrency=8, per_second=2.0)
    _, default = load_run_config(write(tmp_path, 'tickers = ["X"]\n'))
    assert default.fetch == RateLimit() == RateLimit(concurrency=4, per_second=2.0)
    _, slow = load_run_config(write(tmp_path, 'tickers = ["X"]\nfetch = { per_second = 0.5 }\n'))
    assert slow.fetch == RateLimit(concurrency=4, per_second=0.5)


def test_run_must_be_a_table(tmp_path: Path) -> None:
    path = tmp_path / "nightly.toml"
    path.write_text('run = "AAPL"\n')
    with pytest.raises(UsageError) as raised:
        load_run_config(path)
    assert str(raised.value) == "config section 'run' must be a table"
