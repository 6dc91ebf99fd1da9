"""The Python API as a notebook uses it: it never exits, raises our errors, returns frames
and Figures, and leaves matplotlib's backend alone. Also runs docs/python-api.md.

Networks are tiny (window 10, 4 units, 2 epochs) on 300 synthetic rows.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from conftest import REPO, TINY_CONFIG, make_prices
from typer.testing import CliRunner

import rnnforecast
from rnnforecast.cli import commands
from rnnforecast.errors import (
    DataError,
    ModelError,
    NoModel,
    NoStoredData,
    PartialFailure,
    RnnForecastError,
    UsageError,
)

ROOT = REPO


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Not conftest's trained home: this one is fetched and trained through the Python API,
    the path under test."""
    folder = tmp_path_factory.mktemp("api")
    home, csv, config = folder / "home", folder / "p.csv", folder / "tiny.toml"
    make_prices(300, seed=4).to_csv(csv)
    config.write_text(TINY_CONFIG)
    stored = rnnforecast.fetch("test", home=home, csv=csv)
    assert stored[["ticker", "rows", "added", "source"]].values.tolist() == [
        ["TEST", 300, 300, "csv"]
    ]
    result = rnnforecast.train("TEST", config, home=home)
    return {"home": home, "run_id": result.run_id}


def stored_closes(home: Path) -> pd.Series:
    with sqlite3.connect(home / "store.sqlite") as conn:
        rows = conn.execute("SELECT date, close FROM bars WHERE ticker = 'TEST' ORDER BY date")
        dates, closes = zip(*rows.fetchall(), strict=True)
    return pd.Series(closes, index=pd.DatetimeIndex(pd.to_datetime(dates)))


@pytest.fixture
def svg_backend() -> Iterator[str]:
    """A backend that is not Agg, so a switch to Agg would show; restored afterwards."""
    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        yield "svg"
    finally:
        matplotlib.use(before)


def test_import_is_light_and_the_api_loads_on_first_use() -> None:
    probe = (
        "import sys, rnnforecast\n"
        "light = 'pandas' not in sys.modules and 'rnnforecast.api' not in sys.modules\n"
        "rnnforecast.Forecaster\n"
        "print(light, 'rnnforecast.api' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


def test_package_names_are_the_api_names() -> None:
    from rnnforecast import api

    assert sorted(api.__all__) == sorted(n for n in rnnforecast.__all__ if n != "__version__")
    with pytest.raises(AttributeError):
        _ = rnnforecast.no_such_name  # type: ignore[attr-defined]


def test_evaluate_forecasts_are_the_stored_closes_of_the_test_period(trained: dict) -> None:
    evaluation = rnnforecast.evaluate("TEST", home=trained["home"])
    days, test = evaluation.forecasts, evaluation.scores["test"]
    assert list(days.columns) == ["actual", "naive", "point", "low", "high", "raw"]
    assert (f"{days.index[0]:%Y-%m-%d}", f"{days.index[-1]:%Y-%m-%d}", len(days)) == (
        test["start"],
        test["end"],
        test["n"],
    )
    closes = stored_closes(trained["home"])
    previous = closes.shift(1)
    assert days.actual.tolist() == closes.loc[days.index].tolist()
    assert days.naive.tolist() == previous.loc[days.index].tolist()
    assert (days.low <= days.point).all() and (days.point <= days.high).all()
    assert evaluation.scores["run_id"] == trained["run_id"]


def test_predict_is_a_frame_of_the_next_weekday(trained: dict) -> None:
    frame = rnnforecast.predict("TEST", home=trained["home"])
    last = stored_closes(trained["home"]).index[-1]
    following = np.busday_offset(np.datetime64(last.date()), 1, roll="forward")
    assert list(frame.index) == [pd.Timestamp(following)]
    assert list(frame.columns) == ["close", "low", "high"]
    assert frame.attrs["as_of"] == f"{last:%Y-%m-%d}"
    assert frame.attrs["run_id"] == trained["run_id"]


def test_lists_and_promote(trained: dict) -> None:
    tickers = rnnforecast.list_tickers(home=trained["home"])
    assert tickers[["ticker", "rows", "source"]].values.tolist() == [["TEST", 300, "csv"]]
    runs = rnnforecast.list_models("TEST", home=trained["home"])
    assert runs[["run_id", "current"]].values.tolist() == [[trained["run_id"], True]]
    done = rnnforecast.promote("TEST", trained["run_id"], home=trained["home"])
    assert (done.run_id, done.previous, done.changed) == (trained["run_id"],) * 2 + (False,)


def nightly_config(folder: Path, *entries: str) -> Path:
    """A run config with the tiny recipe over the ``[run]`` ticker ``entries``."""
    path = folder / "nightly.toml"
    path.write_text(TINY_CONFIG + f"\n[run]\ntickers = [{', '.join(entries)}]\n")
    return path


AAA_CSV = '{ ticker = "AAA", source = "csv", path = "aaa.csv" }'
LOST_CSV = '{ ticker = "BBB", source = "csv", path = "no-such.csv" }'


@pytest.mark.slow  # trains AAA's challenger
def test_run_nightly_keeps_going_and_hands_over_every_outcome(home: Path, tmp_path: Path) -> None:
    """A ticker that fails does not stop the others: PartialFailure at the end, with the
    failures' exit code and every outcome (AAA trained and promoted, as ``run`` would)."""
    make_prices(160, seed=5).to_csv(tmp_path / "aaa.csv")
    config = nightly_config(tmp_path, AAA_CSV, LOST_CSV)
    with pytest.raises(PartialFailure, match=r"^1 of 2 tickers failed: BBB \(") as caught:
        rnnforecast.run_nightly(config, home=tmp_path / "mine")
    aaa, bbb = caught.value.outcomes
    assert caught.value.exit_code == bbb.error.code != 7
    assert aaa.error is None and aaa.result.promoted and aaa.result.rows_added == 160
    assert rnnforecast.list_models("AAA", home=tmp_path / "mine")["run_id"].tolist() == [
        aaa.result.run_id
    ]
    assert not home.exists()


def test_run_nightly_of_one_ticker_raises_its_own_error(tmp_path: Path) -> None:
    with pytest.raises(RnnForecastError) as caught:
        rnnforecast.run_nightly(nightly_config(tmp_path, LOST_CSV), home=tmp_path / "home")
    assert not isinstance(caught.value, PartialFailure)
    assert "no-such.csv" in str(caught.value)


def test_run_nightly_needs_a_run_table(tmp_path: Path) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_CONFIG)
    with pytest.raises(UsageError, match=r"has no \[run\] table"):
        rnnforecast.run_nightly(config, home=tmp_path / "home")


@pytest.mark.parametrize(
    ("call", "error", "code"),
    [
        (lambda h: rnnforecast.predict("NOMODEL", home=h), ModelError, 4),
        (lambda h: rnnforecast.evaluate("NOMODEL", home=h), ModelError, 4),
        (lambda h: rnnforecast.plot_test_period("NOMODEL", home=h), ModelError, 4),
        (lambda h: rnnforecast.train("NODATA", home=h), DataError, 3),
        (lambda h: rnnforecast.fetch("../x", home=h, sample=True), UsageError, 2),
        (lambda h: rnnforecast.fetch("X", home=h, start="2020-13-01"), UsageError, 2),
        (lambda h: rnnforecast.make_config(overrides={"model.unitz": 4}), UsageError, 2),
        (lambda h: rnnforecast.backtest("TEST", folds=0, home=h), UsageError, 2),
        (lambda h: rnnforecast.forget("NOTHING", home=h), DataError, 3),
        (lambda h: rnnforecast.promote("TEST", "nope", home=h), ModelError, 4),
    ],
)
def test_errors_are_raised_never_an_exit(home: Path, call, error: type, code: int) -> None:
    with pytest.raises(error) as caught:
        call(home)
    assert isinstance(caught.value, RnnForecastError)
    assert caught.value.exit_code == code


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda h: rnnforecast.predict("NOMODEL", home=h), NoModel, "no model for NOMODEL"),
        (lambda h: rnnforecast.evaluate("NOMODEL", home=h), NoModel, "no model for NOMODEL"),
        (
            lambda h: rnnforecast.train("NODATA", home=h),
            NoStoredData,
            "no data stored for NODATA",
        ),
    ],
)
def test_core_messages_name_no_command_and_no_option(
    home: Path, call, error: type, message: str
) -> None:
    """A Python caller has no `rnnforecast fetch` to run: the hint is the CLI's to add
    (test_cli and test_outcomes pin the command line's line with it)."""
    with pytest.raises(error) as caught:
        call(home)
    text = str(caught.value)
    assert text == message
    assert "rnnforecast " not in text and "--" not in text


def test_cli_main_returns_its_exit_code_and_the_process_goes_on(home: Path) -> None:
    assert commands.main(["--home", str(home), "predict", "NOMODEL"]) == 4
    assert commands.main(["--version"]) == 0
    assert commands.main(["--home", str(home), "tickers", "--json"]) == 0


def test_python_m_still_ends_with_the_commands_exit_code(home: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rnnforecast", "--home", str(home), "predict", "NOMODEL"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 4
    assert done.stderr == "error: no model for NOMODEL: run `rnnforecast train NOMODEL` first\n"


def test_figure_is_returned_and_the_backend_unchanged(trained: dict, svg_backend: str) -> None:
    from matplotlib.figure import Figure

    figure = rnnforecast.plot_test_period("TEST", home=trained["home"])
    assert isinstance(figure, Figure)
    top, bottom = figure.axes
    assert (
        len(top.lines[0].get_xdata())
        == rnnforecast.evaluate("TEST", home=trained["home"]).scores["test"]["n"]
    )
    assert bottom.get_xlabel() == "epoch"
    assert matplotlib.get_backend() == svg_backend


def test_cli_plot_still_writes_a_png_without_switching_backend(
    trained: dict, svg_backend: str, tmp_path: Path
) -> None:
    out = tmp_path / "plot.png"
    result = CliRunner().invoke(
        commands.app, ["--home", str(trained["home"]), "evaluate", "TEST", "--plot", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert matplotlib.get_backend() == svg_backend


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), re.M | re.S)


def test_the_python_api_page_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, svg_backend: str
) -> None:
    blocks = python_blocks(ROOT / "docs" / "python-api.md")
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/python-api.md", "exec"), namespace)
    assert (tmp_path / "rnnforecast-play" / "store.sqlite").is_file()
    assert (tmp_path / "goog-test-period.png").read_bytes()[:4] == b"\x89PNG"
    assert isinstance(namespace["days"], pd.DataFrame) and len(namespace["days"]) > 100
    # The group block: one model for both tickers, a member scored as its share of it.
    pair, late = namespace["pair"], namespace["late"]
    assert pair.group == "@PAIR"
    assert (late.member, late.run_id) == ("LATE", pair.run_id)
    assert late.scores == namespace["group"].scores["members"]["LATE"]
    assert matplotlib.get_backend() == svg_backend


def test_the_package_offers_exactly_the_api_names() -> None:
    """rnnforecast lists the API's names itself, so that importing it stays light."""
    import rnnforecast
    import rnnforecast.api

    assert list(rnnforecast._API) == rnnforecast.api.__all__
