"""Windows, the chronological split, scalers (no leakage), datasets, targets and
fingerprints."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from conftest import canonical, recipe
from sklearn.preprocessing import MinMaxScaler as SkMinMaxScaler

from rnnforecast.config import BASE_FEATURES, DERIVED_FEATURES, DataConfig
from rnnforecast.errors import DataError, ModelError
from rnnforecast.forecast.windows import (
    MIN_WINDOWS,
    Dataset,
    MinMaxScaler,
    Scalers,
    Split,
    base_matrix,
    build_dataset,
    decode_targets,
    encode_inputs,
    encode_targets,
    fingerprint,
    fit_scalers,
    latest_base,
    make_windows,
    scale_targets,
    unscale_outputs,
    window_features,
)

ALL_FEATURES = BASE_FEATURES + DERIVED_FEATURES
DERIVED = DERIVED_FEATURES


def numbered(n: int, f: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """values[r, j] = 10 * r + j, targets[r] = r: every cell tells where it came from."""
    values = np.arange(n)[:, None] * 10.0 + np.arange(f)[None, :]
    return values, np.arange(n, dtype=np.float64)


# --- make_windows ---------------------------------------------------------------------------


@pytest.mark.parametrize(("horizon", "m"), [(1, 90), (3, 88)])
def test_make_windows_shapes(horizon: int, m: int) -> None:
    values, targets = numbered(100, f=4)
    x, y = make_windows(values, targets, window=10, horizon=horizon)
    assert x.shape == (m, 10, 4)
    assert y.shape == (m, horizon)


@pytest.mark.parametrize("horizon", [1, 3])
def test_make_windows_rows_and_targets(horizon: int) -> None:
    n, w, f = 100, 10, 3
    values, targets = numbered(n, f)
    x, y = make_windows(values, targets, w, horizon)
    for i in (0, 1, 37, len(x) - 1):
        np.testing.assert_array_equal(x[i], values[i : i + w])  # rows i .. i+w-1
        np.testing.assert_array_equal(y[i], targets[i + w : i + w + horizon])
        assert y[i, 0] == i + w  # the first target is the row right after the window
    # the last window's last target is the last row
    assert y[-1, -1] == n - 1
    assert x[-1, -1, 0] == (n - horizon - 1) * 10


def test_make_windows_are_views() -> None:
    values, targets = numbered(100)
    x, y = make_windows(values, targets, 10, 3)
    assert np.shares_memory(x, values)
    assert np.shares_memory(y, targets)
    assert x.base is not None and y.base is not None
    assert not x.flags.writeable and not y.flags.writeable
    # a view follows its input
    values[5, 0] = -1.0
    assert x[0, 5, 0] == -1.0


def test_make_windows_minimum_rows() -> None:
    values, targets = numbered(12)
    x, y = make_windows(values, targets, 10, 2)  # exactly window + horizon rows
    assert x.shape == (1, 10, 3)
    assert y.shape == (1, 2)


@pytest.mark.parametrize(("n", "w", "h"), [(10, 10, 1), (11, 10, 2), (0, 3, 1)])
def test_make_windows_too_few_rows(n: int, w: int, h: int) -> None:
    values, targets = numbered(n)
    with pytest.raises(DataError, match=rf"at least {w + h} rows.*have {n}"):
        make_windows(values, targets, w, h)


# --- Split.plan -----------------------------------------------------------------------------


SPLIT_CASES = [
    (300, recipe(window=10)),
    (300, recipe(window=10, horizon=3)),
    (2148, recipe()),
    (1000, recipe(window=20, horizon=5, test_fraction=0.3, val_fraction=0.25)),
    # the fewest rows the default window accepts: 14 windows, test ceil(2.8) = 3, validation
    # ceil(0.1 x 11) = 2, one to early-stop and one to calibrate
    (64, recipe(window=50)),
    # validation ceil(0.1 x 71) = 8: 1 early-stops, 6 purged, 1 calibrates (ceil(0.5 x 8) = 4
    # calibrate: 175 rows is the fewest this recipe accepts)
    (175, recipe(window=10, horizon=7, test_fraction=0.1)),
    (300, recipe(window=10, horizon=3, calibration_fraction=0.2)),
    # derived features that need the row before: one window reads window + 1 rows
    (300, recipe(window=10, features=("close", "log_return"))),
    (65, recipe(window=50, features=(*BASE_FEATURES, "volume_change"))),
    (500, recipe(window=20, horizon=4, features=ALL_FEATURES, target="log_return")),
    (200, recipe(window=10, horizon=3, features=("close", "range"), strategy="recursive")),
]
SPLIT_IDS = [f"n{n}-w{d.window}-h{d.horizon}-L{d.lookback}" for n, d in SPLIT_CASES]


def test_lookback_counts_the_row_before() -> None:
    assert recipe(window=10).lookback == 10
    assert recipe(window=10, features=("close", "range")).lookback == 10
    assert recipe(window=10, features=("close", "log_return")).lookback == 11
    assert recipe(window=10, features=("close", "volume_change")).lookback == 11
    assert recipe(window=10, features=ALL_FEATURES).lookback == 11


@pytest.mark.parametrize(("n_rows", "data"), SPLIT_CASES, ids=SPLIT_IDS)
def test_split_parts(n_rows: int, data: DataConfig) -> None:
    split = Split.plan(n_rows, data)
    m = n_rows - data.lookback - data.horizon + 1
    gap = data.horizon - 1
    assert split.windows == m
    train, val, test = (range(m)[s] for s in (split.train, split.val, split.test))
    assert min(len(train), len(val), len(test)) >= 1
    # ordered and disjoint, with exactly the purge gap before validation and before test
    assert train[0] == 0
    assert val[0] == train[-1] + 1 + gap
    assert test[0] == val[-1] + 1 + gap
    assert test[-1] == m - 1
    assert len(train) + len(val) + len(test) + 2 * gap == m
    assert not set(train) & set(val) and not set(val) & set(test)
    # test is the last ceil(test_fraction) of the windows
    assert len(test) == math.ceil(m * data.test_fraction)
    # validation is the last ceil(val_fraction) of what is left for training
    assert len(val) == math.ceil((m - len(test) - 2 * gap) * data.val_fraction)
    # ... cut in two: the last ceil(calibration_fraction) calibrate, the purge gap before
    # them, the rest early-stop
    stop, calibration = (range(m)[s] for s in (split.stop, split.calibration))
    assert len(calibration) == math.ceil(len(val) * data.calibration_fraction)
    assert min(len(stop), len(calibration)) >= 1
    assert stop[0] == val[0] and calibration[-1] == val[-1]
    assert calibration[0] == stop[-1] + 1 + gap
    # the refit trains on every window but a tail as long as the calibration piece
    refit_train, tail = (range(m)[s] for s in (split.refit_train, split.refit_calibration))
    assert list(tail) == list(range(m - len(calibration), m))
    assert refit_train[0] == 0 and tail[0] == refit_train[-1] + 1 + gap


@pytest.mark.parametrize(("n_rows", "data"), SPLIT_CASES, ids=SPLIT_IDS)
def test_split_matches_the_dataset(n_rows: int, data: DataConfig) -> None:
    ds = build_dataset(canonical(n_rows), data)
    assert len(ds) == Split.plan(n_rows, data).windows


@pytest.mark.parametrize(("n_rows", "data"), SPLIT_CASES, ids=SPLIT_IDS)
def test_split_targets_never_overlap(n_rows: int, data: DataConfig) -> None:
    split = Split.plan(n_rows, data)
    lookback, h = data.lookback, data.horizon

    def target_rows(part: slice) -> set[int]:
        return {i + lookback + k for i in range(split.windows)[part] for k in range(h)}

    train, val, test = (target_rows(s) for s in (split.train, split.val, split.test))
    assert max(train) < min(val)
    assert max(val) < min(test)
    assert max(test) == n_rows - 1
    # no early-stopping target is a calibration target, nor a refit training target a tail's
    assert max(target_rows(split.stop)) < min(target_rows(split.calibration))
    assert max(target_rows(split.refit_train)) < min(target_rows(split.refit_calibration))
    assert max(target_rows(split.refit_calibration)) == n_rows - 1


@pytest.mark.parametrize(("n_rows", "data"), SPLIT_CASES, ids=SPLIT_IDS)
def test_scaler_rows_stop_before_validation_targets(n_rows: int, data: DataConfig) -> None:
    split = Split.plan(n_rows, data)
    n_train = split.train.stop
    first_val_target = split.val.start + data.lookback
    first_test_target = split.test.start + data.lookback
    assert split.scaler_rows == n_train + data.lookback + data.horizon - 1
    assert split.scaler_rows == first_val_target  # rows [0, scaler_rows) exclude it
    assert split.scaler_rows < first_test_target
    # ... and cover every training window's rows and every one of its targets
    last_train_target = (n_train - 1) + data.lookback + data.horizon - 1
    assert split.scaler_rows == last_train_target + 1


def test_split_too_few_rows_names_the_numbers() -> None:
    data = recipe(window=50)
    # MIN_WINDOWS windows leave one validation window; it takes 14 for two (one to
    # early-stop, one to calibrate: see SPLIT_CASES)
    need = 50 + MIN_WINDOWS + 4
    Split.plan(need, data)
    with pytest.raises(DataError, match=rf"{need - 1} rows.*window of 50.*horizon of 1") as info:
        Split.plan(need - 1, data)
    assert f"at least {need}" in str(info.value)


def test_split_too_few_rows_counts_the_lookback() -> None:
    data = recipe(window=50, features=("close", "log_return"))
    need = data.lookback + MIN_WINDOWS + 4
    assert need == 65
    Split.plan(need, data)
    with pytest.raises(DataError, match=rf"{need - 1} rows.*at least {need}\b"):
        Split.plan(need - 1, data)


@pytest.mark.parametrize("n_rows", [0, 1, 10, 50])
def test_split_far_too_few_rows(n_rows: int) -> None:
    with pytest.raises(DataError, match="not enough data"):
        Split.plan(n_rows, recipe(window=50))


@pytest.mark.parametrize(
    "data",
    [
        recipe(window=10, horizon=20),
        recipe(window=10, val_fraction=0.95),
        recipe(window=10, test_fraction=0.9),
        recipe(window=10, horizon=5, features=("close", "log_return")),
    ],
    ids=["long-horizon", "big-val-fraction", "big-test-fraction", "lookback"],
)
def test_split_stated_minimum_is_enough(data: DataConfig) -> None:
    for n_rows in range(data.window, 1000):
        try:
            Split.plan(n_rows, data)
            return  # the smallest accepted size was reached without a wrong message
        except DataError as exc:
            stated = int(re.search(r"at least (\d+)", str(exc)).group(1))
            assert stated > n_rows, f"{n_rows} rows refused, message says {exc}"
            # the stated minimum must really be accepted, and be the minimum
            Split.plan(stated, data)
            with pytest.raises(DataError):
                Split.plan(stated - 1, data)
    pytest.fail("no size below 1000 rows was accepted")


# --- Split.folds ----------------------------------------------------------------------------


FOLD_CASES = [
    (300, recipe(window=10), 3),
    (300, recipe(window=10, horizon=4, features=ALL_FEATURES), 4),
    (1000, recipe(window=20, horizon=5, test_fraction=0.3, val_fraction=0.25), 5),
    (200, recipe(window=10, horizon=2), 1),
]


@pytest.mark.parametrize(("n_rows", "data", "k"), FOLD_CASES)
def test_folds_cut_the_test_windows(n_rows: int, data: DataConfig, k: int) -> None:
    single = Split.plan(n_rows, data)
    folds = Split.folds(n_rows, data, k)
    assert len(folds) == k
    blocks = [range(single.windows)[f.test] for f in folds]
    assert all(len(b) >= 1 for b in blocks)
    # consecutive, disjoint, exactly the single split's test windows
    for a, b in itertools.pairwise(blocks):
        assert b[0] == a[-1] + 1
    assert [i for b in blocks for i in b] == list(range(single.windows)[single.test])
    # the first fold trains exactly like the single split
    assert (folds[0].train, folds[0].val) == (single.train, single.val)
    assert all(f.windows == single.windows for f in folds)


@pytest.mark.parametrize(("n_rows", "data", "k"), FOLD_CASES)
def test_folds_train_before_test_with_purge_gap(n_rows: int, data: DataConfig, k: int) -> None:
    gap = data.horizon - 1
    lookback, h = data.lookback, data.horizon
    folds = Split.folds(n_rows, data, k)
    for fold in folds:
        train, val, test = (range(fold.windows)[s] for s in (fold.train, fold.val, fold.test))
        assert min(len(train), len(val), len(test)) >= 1
        assert train[0] == 0
        assert val[0] == train[-1] + 1 + gap
        assert test[0] == val[-1] + 1 + gap
        # no target of train or validation reaches the first target of the test block
        assert train[-1] + lookback + h - 1 < val[0] + lookback
        assert val[-1] + lookback + h - 1 < test[0] + lookback
        first_val_target = val[0] + lookback
        assert fold.scaler_rows <= first_val_target
        assert fold.scaler_rows == train[-1] + lookback + h  # covers the training targets
        assert len(val) == math.ceil((test[0] - 2 * gap) * data.val_fraction)
    sizes = [f.train.stop for f in folds]
    assert sizes == sorted(sizes)  # expanding window
    if k > 1:
        assert sizes[-1] > sizes[0]


def test_folds_one_window_each() -> None:
    data = recipe(window=10)
    single = Split.plan(100, data)
    n_test = single.test.stop - single.test.start
    folds = Split.folds(100, data, n_test)
    assert [f.test.stop - f.test.start for f in folds] == [1] * n_test


def test_folds_more_than_test_windows() -> None:
    data = recipe(window=10)
    single = Split.plan(100, data)
    n_test = single.test.stop - single.test.start
    with pytest.raises(DataError, match=rf"{n_test + 1} folds.*there are {n_test}"):
        Split.folds(100, data, n_test + 1)


def test_folds_too_few_rows() -> None:
    with pytest.raises(DataError, match="not enough data"):
        Split.folds(30, recipe(window=50), 2)


# --- scalers: no leakage --------------------------------------------------------------------


LEAK_CASES = [
    recipe(window=10, horizon=horizon, features=features, target=target, normalise=normalise)
    for horizon, features, target, normalise in itertools.product(
        (1, 4), (BASE_FEATURES, ALL_FEATURES), ("close", "log_return"), ("global", "window")
    )
] + [
    recipe(window=10, horizon=4, features=("close", "volume"), strategy="recursive"),
    recipe(
        window=10,
        horizon=3,
        features=("close", "log_return"),
        target="log_return",
        normalise="window",
        strategy="recursive",
    ),
]
LEAK_IDS = [
    f"h{d.horizon}-{'derived' if d.lookback > d.window else 'base'}-{d.target}-"
    f"{d.normalise}-{d.strategy}"
    for d in LEAK_CASES
]


def train_scalers(frame: pd.DataFrame, data: DataConfig, split: Split) -> Scalers:
    return fit_scalers(build_dataset(frame, data).select(split.train), data)


@pytest.mark.parametrize("data", LEAK_CASES, ids=LEAK_IDS)
def test_scalers_never_see_validation_or_test_rows(data: DataConfig) -> None:
    frame = canonical(300)
    split = Split.plan(len(frame), data)
    clean = train_scalers(frame, data, split)
    spiked = frame.copy()
    spiked.iloc[split.scaler_rows :] *= 1000.0
    spiked.iloc[split.scaler_rows + 3 :] = 1e-6
    assert train_scalers(spiked, data, split) == clean
    # whereas a spike on the last training window's first target does move them
    inside = frame.copy()
    inside.iloc[split.train.stop - 1 + data.lookback] *= 1000.0
    assert train_scalers(inside, data, split) != clean


def test_fit_scalers_uses_exactly_the_training_windows() -> None:
    data = recipe(window=10)  # global normalisation of raw columns: easy to check
    frame = canonical(300)
    split = Split.plan(len(frame), data)
    train = build_dataset(frame, data).select(split.train)
    scalers = fit_scalers(train, data)
    # inputs: rows 0 .. n_train + w - 2; targets: rows w .. scaler_rows - 1
    rows = frame.iloc[: split.train.stop + data.window - 1]
    assert scalers.features.data_min == tuple(rows[list(data.features)].min())
    assert scalers.features.data_max == tuple(rows[list(data.features)].max())
    targets = frame["close"].iloc[data.window : split.scaler_rows]
    assert scalers.target == MinMaxScaler((targets.min(),), (targets.max(),))


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_fit_scalers_fits_the_network_targets(strategy: str) -> None:
    data = recipe(
        window=10, horizon=3, features=ALL_FEATURES, target="log_return", strategy=strategy
    )
    train = build_dataset(canonical(300), data).select(slice(0, 150))
    scalers = fit_scalers(train, data)
    f = len(data.features)
    assert scalers.features == MinMaxScaler.fit(train.features.reshape(-1, f))
    first = train.targets[:, : data.outputs]
    assert scalers.target == MinMaxScaler((first.min(),), (first.max(),))
    if strategy == "recursive":  # only the first step is a network target
        assert scalers.target.data_max == train.targets[:, 0].max()


# --- MinMaxScaler ---------------------------------------------------------------------------


def scaler_input() -> np.ndarray:
    rng = np.random.default_rng(3)
    rows = rng.normal(100, 20, size=(50, 4))
    rows[:, 2] = 7.25  # a constant column
    rows[:, 3] *= 1e6
    return rows


def test_min_max_scaler_matches_sklearn() -> None:
    rows = scaler_input()
    ours = MinMaxScaler.fit(rows)
    theirs = SkMinMaxScaler().fit(rows)
    other = np.random.default_rng(4).normal(100, 30, size=(20, 4))
    for x in (rows, other):
        np.testing.assert_allclose(ours.transform(x), theirs.transform(x), rtol=0, atol=1e-12)
        np.testing.assert_allclose(
            ours.inverse(x), theirs.inverse_transform(x), rtol=1e-12, atol=1e-12
        )
    scaled = ours.transform(rows)
    assert scaled.min() == pytest.approx(0.0, abs=1e-12)
    assert scaled.max() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(ours.inverse(scaled), rows, rtol=1e-12)


def test_min_max_scaler_constant_column() -> None:
    rows = np.full((10, 1), 3.5)
    scaler = MinMaxScaler.fit(rows)
    np.testing.assert_array_equal(scaler.transform(rows), SkMinMaxScaler().fit_transform(rows))
    np.testing.assert_array_equal(scaler.transform(rows), np.zeros((10, 1)))
    np.testing.assert_array_equal(scaler.inverse(scaler.transform(rows)), rows)


def test_min_max_scaler_works_on_3d_windows() -> None:
    rows = scaler_input()
    scaler = MinMaxScaler.fit(rows)
    x = np.stack([rows[:10], rows[10:20]])
    np.testing.assert_allclose(scaler.transform(x)[1], scaler.transform(rows[10:20]))


def test_min_max_scaler_json_round_trip() -> None:
    scaler = MinMaxScaler.fit(scaler_input())
    restored = MinMaxScaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    assert restored == scaler
    scalers = Scalers(scaler, MinMaxScaler((0.1,), (1 / 3,)))
    assert Scalers.from_dict(json.loads(json.dumps(scalers.to_dict()))) == scalers


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"data_min": [1.0]},
        {"data_max": [1.0]},
        {"data_min": [1.0, 2.0], "data_max": [3.0]},
        {"data_min": [], "data_max": []},
        {"data_min": ["x"], "data_max": [1.0]},
        {"data_min": 1.0, "data_max": 2.0},
        {"data_min": [None], "data_max": [1.0]},
        [1.0, 2.0],
        None,
        "data_min",
    ],
)
def test_min_max_scaler_malformed(raw) -> None:
    with pytest.raises(ModelError, match="malformed"):
        MinMaxScaler.from_dict(raw)


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"features": {"data_min": [1.0], "data_max": [2.0]}},
        {"target": {"data_min": [1.0], "data_max": [2.0]}},
        {"features": {"data_min": [1.0], "data_max": [2.0]}, "target": {}},
        [],
        None,
    ],
)
def test_scalers_malformed(raw) -> None:
    with pytest.raises(ModelError, match="malformed"):
        Scalers.from_dict(raw)


# --- build_dataset --------------------------------------------------------------------------


DATASET_CASES = [
    recipe(window=10, horizon=1),
    recipe(window=10, horizon=3),
    recipe(window=10, horizon=3, features=ALL_FEATURES, target="log_return"),
    recipe(window=8, horizon=2, features=ALL_FEATURES, normalise="window"),
    recipe(window=8, horizon=2, features=("close", "range"), normalise="window"),
]
DATASET_IDS = [f"h{d.horizon}-L{d.lookback}-{d.target}-{d.normalise}" for d in DATASET_CASES]


@pytest.mark.parametrize("data", DATASET_CASES, ids=DATASET_IDS)
def test_build_dataset_alignment(data: DataConfig) -> None:
    frame = canonical(200)
    ds = build_dataset(frame, data)
    lookback, w, horizon = data.lookback, data.window, data.horizon
    m = len(frame) - lookback - horizon + 1
    rows = frame[list(BASE_FEATURES)].to_numpy()
    close = frame["close"].to_numpy()
    assert len(ds) == m
    assert ds.base.shape == (m, lookback, 5)
    assert ds.features.shape == (m, w, len(data.features))
    assert ds.targets.shape == ds.actual.shape == ds.target_dates.shape == (m, horizon)
    assert ds.last_close.shape == ds.drift.shape == (m,)
    assert ds.features.dtype == ds.targets.dtype == ds.actual.dtype == np.float64
    for i in (0, 1, 50, m - 1):
        np.testing.assert_array_equal(ds.base[i], rows[i : i + lookback])
        assert ds.last_close[i] == close[i + lookback - 1]
        np.testing.assert_array_equal(ds.actual[i], close[i + lookback : i + lookback + horizon])
        np.testing.assert_array_equal(
            ds.target_dates[i], frame.index[i + lookback : i + lookback + horizon].to_numpy()
        )
        end = i + lookback - 1
        assert ds.drift[i] == pytest.approx((close[end] - close[0]) / end, rel=1e-12)
    # the last window's last target is the last row
    assert ds.actual[-1, -1] == close[-1]
    assert ds.target_dates[-1, -1] == frame.index[-1]


def test_build_dataset_features_global_are_the_raw_columns() -> None:
    data = recipe(window=10, horizon=2, features=("volume", "close", "low"))
    frame = canonical(120)
    ds = build_dataset(frame, data)
    for i in (0, 7, len(ds) - 1):
        expected = frame[list(data.features)].to_numpy()[i : i + data.window]
        np.testing.assert_array_equal(ds.features[i], expected)


def test_build_dataset_features_global_skip_the_extra_row() -> None:
    data = recipe(window=10, features=("open", "close", "log_return"))
    frame = canonical(120)
    ds = build_dataset(frame, data)
    i = 5  # window 5 reads rows 5 .. 15; its inputs are rows 6 .. 15
    np.testing.assert_array_equal(
        ds.features[i, :, :2], frame[["open", "close"]].to_numpy()[i + 1 : i + 11]
    )


def test_build_dataset_features_window_normalised() -> None:
    data = recipe(window=10, normalise="window", features=ALL_FEATURES)
    frame = canonical(120)
    ds = build_dataset(frame, data)
    lookback, w = data.lookback, data.window
    for i in (0, 33, len(ds) - 1):
        rows = frame.iloc[i + lookback - w : i + lookback]
        c0 = frame["close"].iloc[i + lookback - w]  # the first input row's close
        for j, name in enumerate(("open", "high", "low", "close")):
            np.testing.assert_allclose(
                ds.features[i, :, j], rows[name].to_numpy() / c0 - 1, rtol=1e-12, atol=1e-15
            )
        assert ds.features[i, 0, 3] == pytest.approx(0.0, abs=1e-15)
        volume = rows["volume"].to_numpy()
        np.testing.assert_allclose(
            ds.features[i, :, 4], volume / volume.mean() - 1, rtol=1e-12, atol=1e-12
        )
        assert ds.features[i, :, 4].mean() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("normalise", ["global", "window"])
def test_derived_features_by_hand(normalise: str) -> None:
    data = recipe(window=5, features=DERIVED, normalise=normalise)
    frame = canonical(40)
    ds = build_dataset(frame, data)
    i = 7  # reads rows 7 .. 12 (lookback 6); inputs are rows 8 .. 12
    bars = frame.to_dict("records")
    expected = []
    for r in range(i + 1, i + 6):
        now, before = bars[r], bars[r - 1]
        expected.append(
            [
                math.log(now["close"] / before["close"]),
                (now["high"] - now["low"]) / now["close"],
                math.log(1 + now["volume"]) - math.log(1 + before["volume"]),
                math.log(now["high"] / now["low"]) ** 2 / (4 * math.log(2)),
                0.5 * math.log(now["high"] / now["low"]) ** 2
                - (2 * math.log(2) - 1) * math.log(now["close"] / now["open"]) ** 2,
                math.log(now["open"] / before["close"]),
            ]
        )
    np.testing.assert_allclose(ds.features[i], expected, rtol=1e-12, atol=1e-15)


def test_gap_alone_reads_the_row_before() -> None:
    assert recipe(window=5, features=("gap",)).lookback == 6
    assert recipe(window=5, features=("parkinson", "garman_klass")).lookback == 5


@pytest.mark.parametrize(
    ("target", "normalise"),
    [("close", "global"), ("close", "window"), ("log_return", "global"), ("log_return", "window")],
)
def test_build_dataset_targets_by_hand(target: str, normalise: str) -> None:
    data = recipe(window=10, horizon=3, target=target, normalise=normalise, features=ALL_FEATURES)
    frame = canonical(100)
    ds = build_dataset(frame, data)
    close = frame["close"].to_numpy()
    lookback, w = data.lookback, data.window
    for i in (0, 20, len(ds) - 1):
        future = close[i + lookback : i + lookback + 3]
        if target == "log_return":
            expected = np.log(future / close[i + lookback - 1])
        elif normalise == "window":
            expected = future / close[i + lookback - w] - 1
        else:
            expected = future
        np.testing.assert_allclose(ds.targets[i], expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("target", ["close", "log_return"])
@pytest.mark.parametrize("normalise", ["global", "window"])
@pytest.mark.parametrize("features", [BASE_FEATURES, ALL_FEATURES], ids=["base", "derived"])
def test_encode_decode_targets_round_trip(
    target: str, normalise: str, features: tuple[str, ...]
) -> None:
    data = recipe(window=10, horizon=4, target=target, normalise=normalise, features=features)
    ds = build_dataset(canonical(150), data)
    encoded = encode_targets(ds.actual, ds.base, data)
    np.testing.assert_array_equal(encoded, ds.targets)
    np.testing.assert_allclose(decode_targets(encoded, ds.base, data), ds.actual, rtol=1e-12)
    # any other prices too, e.g. the naive forecast: log move 0, or the first close
    naive = np.repeat(ds.last_close[:, None], 2, axis=1)
    np.testing.assert_allclose(
        decode_targets(encode_targets(naive, ds.base, data), ds.base, data), naive, rtol=1e-12
    )
    if target == "log_return":
        np.testing.assert_allclose(encode_targets(naive, ds.base, data), 0.0, atol=1e-15)


def test_dataset_select() -> None:
    data = recipe(window=10)
    frame = canonical(200)
    split = Split.plan(len(frame), data)
    ds = build_dataset(frame, data)
    test = ds.select(split.test)
    assert isinstance(test, Dataset)
    parts = [getattr(test, f.name) for f in dataclasses.fields(Dataset)]
    assert {len(p) for p in parts} == {split.test.stop - split.test.start} == {len(test)}
    for field in dataclasses.fields(Dataset):
        np.testing.assert_array_equal(
            getattr(test, field.name), getattr(ds, field.name)[split.test]
        )
    mask = np.zeros(len(ds), dtype=bool)
    mask[[3, 9]] = True
    np.testing.assert_array_equal(ds.select(mask).last_close, ds.last_close[[3, 9]])
    np.testing.assert_array_equal(ds.select(mask).base, ds.base[[3, 9]])


@pytest.mark.parametrize(
    "data",
    [recipe(window=10), recipe(window=10, horizon=3, features=ALL_FEATURES)],
    ids=["base", "derived"],
)
def test_build_dataset_too_few_rows(data: DataConfig) -> None:
    frame = canonical(100)
    need = data.lookback + data.horizon
    assert len(build_dataset(frame.iloc[:need], data)) == 1
    with pytest.raises(DataError, match=rf"at least {need} rows"):
        build_dataset(frame.iloc[: need - 1], data)


# --- network scaling --------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
@pytest.mark.parametrize("target", ["close", "log_return"])
def test_scale_targets_unscale_outputs_round_trip(strategy: str, target: str) -> None:
    data = recipe(window=10, horizon=3, target=target, strategy=strategy)
    ds = build_dataset(canonical(200), data)
    scalers = fit_scalers(ds.select(slice(0, 120)), data)
    scaled = scale_targets(ds.targets, scalers, data)
    assert scaled.shape == (len(ds), data.outputs)
    assert scaled.dtype == np.float32
    train_scaled = scaled[:120]
    assert train_scaled.min() == pytest.approx(0.0, abs=1e-6)
    assert train_scaled.max() == pytest.approx(1.0, abs=1e-6)
    back = unscale_outputs(scaled, scalers)
    assert back.dtype == np.float64 and back.shape == scaled.shape
    span = scalers.target.data_max[0] - scalers.target.data_min[0]
    np.testing.assert_allclose(back, ds.targets[:, : data.outputs], rtol=0, atol=1e-6 * span)


def test_unscale_outputs_by_hand() -> None:
    scalers = Scalers(MinMaxScaler((1.0,), (2.0,)), MinMaxScaler((100.0,), (200.0,)))
    out = unscale_outputs(np.array([[0.0, 0.5], [1.0, 0.25]], dtype=np.float32), scalers)
    np.testing.assert_allclose(out, [[100.0, 150.0], [200.0, 125.0]])


def test_encode_inputs() -> None:
    data = recipe(window=10, features=ALL_FEATURES, normalise="window")
    ds = build_dataset(canonical(200), data)
    scalers = fit_scalers(ds.select(slice(0, 100)), data)
    x = encode_inputs(ds.features, scalers)
    assert x.shape == ds.features.shape
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, scalers.features.transform(ds.features), rtol=1e-6, atol=1e-6)
    assert x[:100].min() == pytest.approx(0.0, abs=1e-6)
    assert x[:100].max() == pytest.approx(1.0, abs=1e-6)


# --- latest_base ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        recipe(window=10, features=("close", "volume")),
        recipe(window=10, features=ALL_FEATURES),
    ],
    ids=["base", "derived"],
)
def test_latest_base(data: DataConfig) -> None:
    frame = canonical(100)
    lookback = data.lookback
    base = latest_base(base_matrix(frame), data)
    assert base.shape == (1, lookback, 5)
    np.testing.assert_array_equal(base[0], base_matrix(frame)[-lookback:])
    np.testing.assert_array_equal(base[0], frame[list(BASE_FEATURES)].to_numpy()[-lookback:])
    assert latest_base(base_matrix(frame.iloc[:lookback]), data).shape == (1, lookback, 5)
    # the window ending at a row is the dataset's window ending there
    ds = build_dataset(frame, data)
    i = 42
    cut = latest_base(base_matrix(frame.iloc[: i + lookback]), data)
    np.testing.assert_array_equal(cut[0], ds.base[i])
    np.testing.assert_array_equal(window_features(cut, data)[0], ds.features[i])


@pytest.mark.parametrize(
    "data",
    [recipe(window=10), recipe(window=10, features=("close", "log_return"))],
    ids=["base", "derived"],
)
def test_latest_base_too_few_rows(data: DataConfig) -> None:
    frame = canonical(100)
    lookback = data.lookback
    with pytest.raises(DataError, match=rf"last {lookback} bars.*have {lookback - 1}"):
        latest_base(base_matrix(frame.iloc[: lookback - 1]), data)


# --- fingerprint ----------------------------------------------------------------------------


def test_fingerprint() -> None:
    a, b = canonical(100), canonical(100)
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a).startswith("sha256:")
    changed = b.copy()
    changed.iloc[42, 3] += 0.01
    assert fingerprint(changed) != fingerprint(a)
    shifted = b.copy()
    shifted.index = shifted.index + pd.Timedelta(days=1)
    assert fingerprint(shifted) != fingerprint(a)
    assert fingerprint(a.iloc[:-1]) != fingerprint(a)


def test_dataclasses_are_frozen() -> None:
    split = Split.plan(300, recipe(window=10))
    with pytest.raises(dataclasses.FrozenInstanceError):
        split.windows = 3  # type: ignore[misc]
