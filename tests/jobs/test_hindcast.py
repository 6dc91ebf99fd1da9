"""A hindcast is what predict would have served: for each of the last days of a series, the
served point and interval of :func:`rnnforecast.jobs.hindcast.served_days` equal what
``predict`` prints in a home whose store ends the evening before that day (the same bundle
copied in). Two bundles: the default one, which serves its fan's one-session interval
(:mod:`rnnforecast.risk.fans`), and a served baseline with adaptive widths
(``calibration.adaptive_baseline``, which only the one-day intervals have)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import TINY_CONFIG, cli, make_prices

from rnnforecast.jobs import hindcast
from rnnforecast.storage import loading
from rnnforecast.storage.home import Home

pytestmark = pytest.mark.slow

ROWS, LAST_DAYS = 620, 3


def train(folder: Path, *sets: str) -> Path:
    """A home with ``ROWS`` bars of ticker HND and one tiny model trained on them."""
    home, csv, config = folder / "home", folder / "prices.csv", folder / "tiny.toml"
    make_prices(ROWS, seed=5).to_csv(csv)
    config.write_text(TINY_CONFIG)
    assert cli("fetch", "HND", "--csv", str(csv), home=home).exit_code == 0
    result = cli("train", "HND", "--config", str(config), *sets, "--json", home=home)
    assert result.exit_code == 0, result.stderr
    return home


def predicted_before(home: Path, folder: Path, rows: int) -> dict[str, Any]:
    """``predict --json``'s first forecast in a home holding the first ``rows`` bars and the
    bundles of ``home``."""
    other, csv = folder / f"home{rows}", folder / f"prices{rows}.csv"
    make_prices(ROWS, seed=5).iloc[:rows].to_csv(csv)
    assert cli("fetch", "HND", "--csv", str(csv), home=other).exit_code == 0
    shutil.copytree(home / "models", other / "models")
    result = cli("predict", "HND", "--json", home=other)
    assert result.exit_code == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    return {**out["forecasts"][0], "method": out["interval_method"]}


@pytest.mark.parametrize(
    ("sets", "method"),
    [
        # the fan's one-session interval (its method read from fan.json); fitted before the
        # test period, so that the days hindcast are the days predict served with it
        (("--no-refit", "--set", 'calibration.intervals="auto"'), "fan"),
        # the bundle's own interval when the recipe pins it (no fan)
        ((), "naive_conformal"),
        (
            (
                "--set",
                'calibration.intervals="hist50"',
                "--set",
                "calibration.adaptive_baseline=true",
            ),
            "hist50+rolling",
        ),
    ],
)
def test_served_days_are_what_predict_served(tmp_path: Path, sets: tuple, method: str) -> None:
    home = train(tmp_path, *sets)
    loaded = loading.load(Home(home), "HND", None)
    frame = Home(home).store.read("HND")
    days = frame.index[-LAST_DAYS:]
    served = hindcast.served_days(
        loaded,
        loaded.fitted("served"),
        frame,
        str(days[0].date()),
        str(days[-1].date()),
    )
    if method == "fan":
        method = json.loads(next((home / "models" / "HND").glob("*/fan.json")).read_text())[
            "methods"
        ][0]
    assert served.method == method and len(served) == LAST_DAYS
    for k in range(LAST_DAYS):
        expected = predicted_before(home, tmp_path, ROWS - LAST_DAYS + k)
        assert expected["method"] == method
        assert expected["date"] == str(days[k].date())
        assert served.point[k] == pytest.approx(expected["close"], rel=1e-9)
        assert served.low[k] == pytest.approx(expected["low"], rel=1e-9)
        assert served.high[k] == pytest.approx(expected["high"], rel=1e-9)
    assert served.actual.tolist() == frame["close"].iloc[-LAST_DAYS:].tolist()
