"""Prices near the top of the float range (a real CSV multiplied by 1e300): every command
either succeeds with one strictly valid JSON document, or fails with a documented exit code
and one stderr line; no numeric warning or traceback leaks out."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import TINY_CONFIG, cli, make_prices, strict_json

pytestmark = pytest.mark.slow  # trains a network

FACTOR = 1e300


def run(*args: str) -> Any:
    """Run the CLI with ``--json``: exit 0, stdout one strict JSON document, stderr nothing
    but our own ``warning:`` lines, and no RuntimeWarning (overflow, invalid value) raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = cli(*args, "--json")
    assert result.exit_code == 0, (args, result.stderr)
    assert [w.message for w in caught if issubclass(w.category, RuntimeWarning)] == []
    for line in result.stderr.splitlines():
        assert line.startswith("warning: "), (args, line)
    return strict_json(result.stdout)


def test_prices_times_1e300_end_to_end(tmp_path: Path) -> None:
    prices = make_prices(300, seed=3)
    for column in ("Open", "High", "Low", "Close"):
        prices[column] *= FACTOR
    csv, config = tmp_path / "huge.csv", tmp_path / "tiny.toml"
    prices.to_csv(csv)
    config.write_text(TINY_CONFIG)

    fetched = run("fetch", "HUGE", "--csv", str(csv))
    assert fetched["tickers"][0]["rows"] == 300
    [trained] = run("train", "HUGE", "--config", str(config))["tickers"]
    evaluated = run("evaluate", "HUGE")
    assert evaluated["test"] == trained["test"]

    # The naive scores, computed here from the CSV's closes (differences of 1e302 are finite).
    close = prices["Close"]
    days = close.loc[evaluated["test"]["start"] : evaluated["test"]["end"]]
    errors = (days - close.shift(1).loc[days.index]).to_numpy()
    assert len(errors) == evaluated["test"]["n"]
    assert evaluated["naive"]["mae"] == pytest.approx(np.mean(np.abs(errors)), rel=1e-9)
    # sqrt(mean(e^2)) overflows in a plain computation: through mean((e / 1e300)^2) instead.
    rms = np.sqrt(np.mean((errors / FACTOR) ** 2)) * FACTOR
    assert evaluated["naive"]["rmse"] == pytest.approx(rms, rel=1e-9)
    assert evaluated["model"]["rmse"] is not None
    assert evaluated["warnings"] == []

    predicted = run("predict", "HUGE")
    (forecast,) = predicted["forecasts"]
    assert predicted["last_close"] == pytest.approx(close.iloc[-1], rel=1e-12)
    assert 0 < forecast["low"] <= forecast["close"] <= forecast["high"]
    assert forecast["close"] == pytest.approx(close.iloc[-1], rel=0.2)
