"""benchmarks/bench_replay.py adds up the seconds of each part per refit date and tests warm
against cold as docs/reports/replay.md says: equal losses give no test, a warm replay that
is worse every day is found worse, the pool divides each series by its naive MAE."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

# benchmarks/ is not a package: import the script by its folder
sys.path.insert(0, str(REPO / "benchmarks"))
import bench_replay


def test_the_clock_counts_a_wrapped_function_and_its_keras_seconds() -> None:
    history = types.SimpleNamespace(seconds=2.5)
    owner = types.SimpleNamespace(
        fit=lambda: types.SimpleNamespace(trained=types.SimpleNamespace(history=history))
    )
    clock = bench_replay.Clock()
    clock.wrap(owner, "fit", "network")
    owner.fit()
    owner.fit()
    taken = clock.take()
    assert taken["keras_fit"] == 5.0 and taken["network"] >= 0.0
    assert clock.take() == {}


def test_sums_leave_out_the_first_date_when_asked() -> None:
    dates = [{"refit": 10.0, "keras_fit": 6.0}, {"refit": 4.0, "keras_fit": 1.0}]
    assert bench_replay.sums(dates, False)["refit"] == 14.0
    assert bench_replay.sums(dates, True)["keras_fit"] == 1.0
    assert bench_replay.sums(dates, True)["fan"] == 0.0


def test_equal_losses_give_no_test_and_worse_ones_a_small_p() -> None:
    rng = np.random.default_rng(0)
    cold = rng.uniform(1, 2, 300)
    same = bench_replay.dm(cold.tolist(), cold.tolist())
    assert same["statistic"] is None and same["p_value"] is None and same["days_differ"] == 0
    rounded = bench_replay.dm((cold * (1 + 1e-15)).tolist(), cold.tolist())
    assert rounded["p_value"] is None and rounded["days_differ"] == 0
    worse = bench_replay.dm((cold + rng.uniform(0.1, 0.2, 300)).tolist(), cold.tolist())
    assert worse["days_differ"] == 300 and worse["p_value"] < 0.001 and worse["statistic"] > 0


def test_the_pool_scales_each_series(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    def doc(ticker: str, scale: float, warm_extra: float) -> dict:
        rng = np.random.default_rng(len(ticker))
        cold = scale * rng.uniform(1, 2, 50)
        modes = {}
        for mode, loss in (("cold", cold), ("warm", cold + scale * warm_extra)):
            losses = {key: loss.tolist() for key in bench_replay.LOSSES}
            losses.update(network_interval_score_80=losses["abs_error"])
            losses.update(network_abs_error=losses["abs_error"])
            modes[mode] = {"losses": losses, "naive_mae": scale}
        times = {p: {"cold": 3.0, "warm": 1.0} for p in bench_replay.PARTS}
        when = {"all dates": times, "dates after the first": times}
        return {"ticker": ticker, **modes, "time": when}

    paths = []
    for ticker, scale in (("AAA", 1.0), ("BBBB", 1000.0)):
        paths.append(tmp_path / f"{ticker}.json")
        paths[-1].write_text(json.dumps(doc(ticker, scale, 0.0)), encoding="utf-8")
    bench_replay.pool(paths)
    out = capsys.readouterr().out
    assert "0 of 100 days differ, DM None" in out
    assert "interval_score_80 / naive MAE: means 1." in out  # BBBB's 1000s scaled to AAA's
    assert "refit, all dates, sum" in out and "3.00" in out


def test_the_raw_point_is_kept_from_the_windows_before_each_day() -> None:
    seen = []

    def forecast_scale(base: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
        seen.append(base.copy())
        return base[:, -1, 3:4] * 2, np.ones((len(base), steps))

    model = types.SimpleNamespace(forecast_scale=forecast_scale)
    choice = types.SimpleNamespace(served=types.SimpleNamespace(model=model))
    config = types.SimpleNamespace(data=types.SimpleNamespace(lookback=3))
    ohlcv = np.arange(50.0).reshape(10, 5)
    bench_replay.RAW.clear()
    track = bench_replay.keep_raw(lambda *args: "track")
    assert track(choice, config, ohlcv, np.array([4, 5])) == "track"
    assert seen[0].shape == (2, 3, 5) and seen[0][0, -1, 3] == ohlcv[3, 3]
    np.testing.assert_array_equal(bench_replay.RAW[0], 2 * ohlcv[[3, 4], 3])
