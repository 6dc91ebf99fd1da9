"""Walk-forward backtests (`evaluate --folds`, fitting.walk_forward): each fold is fitted on
its own expanding past, and never on a row after its test period starts."""

from __future__ import annotations

import itertools
import math
import tomllib

import numpy as np
import pandas as pd
import pytest
from conftest import LEARNABLE_CONFIG, expected_scalers, learnable_prices

from rnnforecast.config import Config, config_from_dict
from rnnforecast.training import fitting

pytestmark = pytest.mark.slow

LOOKBACK = 11  # window 10, plus the row before for the log_return feature


def learnable_frame() -> pd.DataFrame:
    frame = learnable_prices()
    frame.columns = [c.lower() for c in frame.columns]
    frame.index.name = "date"
    return frame


def recipe() -> Config:
    raw = tomllib.loads(LEARNABLE_CONFIG)
    raw["train"]["epochs"] = 2
    return config_from_dict(raw)


def day(frame: pd.DataFrame, row: int) -> str:
    return str(frame.index[row].date())


def test_each_fold_fits_on_its_own_past_and_never_sees_its_future() -> None:
    frame = learnable_frame()
    folds = fitting.walk_forward(frame, recipe(), 2)
    # The documented rule, worked out by hand: m windows, the last ceil(20 %) are the test
    # period, cut in two; fold k trains on the windows before its part, less its own 20 %
    # validation tail. Window i's target is row i + 11.
    m = len(frame) - LOOKBACK
    first_test = m - math.ceil(m * 0.2)
    bounds = np.linspace(first_test, m, 3).round().astype(int)
    assert folds[0]["scalers"] != folds[1]["scalers"]
    for fold, (a, b) in zip(folds, itertools.pairwise(bounds.tolist()), strict=True):
        n_train = a - math.ceil(a * 0.2)
        assert fold["test"] == {
            "start": day(frame, a + LOOKBACK),
            "end": day(frame, b - 1 + LOOKBACK),
            "n": int(b - a),
        }
        assert fold["train"] == {
            "start": day(frame, LOOKBACK),
            "end": day(frame, n_train - 1 + LOOKBACK),
            "n": n_train,
        }
        # What the fold fitted: scalers on its own training windows, not the single split's.
        expected = expected_scalers(frame["close"].to_numpy(), n_train)
        for part in ("features", "target"):
            for key in ("data_min", "data_max"):
                assert fold["scalers"][part][key] == pytest.approx(expected[part][key], rel=1e-12)
    # Rows from the second fold's first test day on are changed wildly: the first fold (all
    # its rows come before) is the same to the bit, the second fold's fit too (its shrink
    # factor), only the second fold's test scores move.
    changed = frame.copy()
    changed.iloc[int(bounds[1]) + LOOKBACK :, :4] *= 1.5
    again = fitting.walk_forward(changed, recipe(), 2)
    assert again[0] == folds[0]
    assert again[1]["shrink"] == folds[1]["shrink"]
    assert again[1]["scalers"] == folds[1]["scalers"]
    assert again[1]["train"] == folds[1]["train"]
    assert again[1]["model"]["mae"] != folds[1]["model"]["mae"]
