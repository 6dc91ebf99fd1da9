"""Each part of a split holds at least one batch: a training, validation or test part with
fewer windows than ``train.batch_size`` is refused (exit 3, one line naming the part, its
window count, the key and the largest batch every part can hold) before any training.

The counts below are worked out by hand for 300 rows, window 10, horizon 1 and the default
features (a window reads 10 rows): m = 300 - 10 - 1 + 1 = 290 windows; test = ceil(0.2 m);
validation = ceil(val_fraction x the rest); training = what is left."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TINY_CONFIG, assert_error, cli, make_prices

from rnnforecast.config import DataConfig
from rnnforecast.errors import DataError
from rnnforecast.forecast.windows import Split, check_batches


def test_sizes_of_a_split() -> None:
    # 290 windows: test ceil(58.0) = 58; validation ceil(0.2 x 232) = 47; training 185.
    split = Split.plan(300, DataConfig(window=10, test_fraction=0.2, val_fraction=0.2))
    assert split.sizes() == {"training": 185, "validation": 47, "test": 58}


def test_check_batches_names_the_first_short_part() -> None:
    check_batches({"training": 16, "validation": 16, "test": 16}, 16)  # one full batch each
    with pytest.raises(DataError) as caught:
        check_batches({"training": 40, "validation": 12, "test": 9}, 16, "fold 2 of 3: ")
    assert str(caught.value) == (
        "fold 2 of 3: the validation part holds 12 windows, fewer than one batch "
        "(train.batch_size = 16): lower train.batch_size to at most 9, or store more rows"
    )
    # walk-forward passes the smallest part over every fold: one retry is enough
    with pytest.raises(DataError, match=r"at most 7, or store more rows$"):
        check_batches({"training": 40, "validation": 12, "test": 9}, 16, "fold 1 of 3: ", 7)


@pytest.fixture
def stored(tmp_path: Path, home: Path) -> Path:
    """300 rows of TEST stored; the tiny config's path."""
    csv, config = tmp_path / "p.csv", tmp_path / "tiny.toml"
    make_prices(300, seed=3).to_csv(csv)
    config.write_text(TINY_CONFIG)
    assert cli("fetch", "TEST", "--csv", str(csv)).exit_code == 0
    return config


@pytest.mark.parametrize(
    ("settings", "line"),
    [
        # validation ceil(0.2 x 232) = 47 < 64
        (
            ["train.batch_size=64"],
            "error: the validation part holds 47 windows, fewer than one batch "
            "(train.batch_size = 64): lower train.batch_size to at most 47, or store more rows",
        ),
        # test ceil(0.1 x 290) = 29 < 40; validation ceil(0.2 x 261) = 53; training 208
        (
            ["train.batch_size=40", "data.test_fraction=0.1"],
            "error: the test part holds 29 windows, fewer than one batch "
            "(train.batch_size = 40): lower train.batch_size to at most 29, or store more rows",
        ),
        # validation ceil(0.9 x 232) = 209; training 23 < 30
        (
            ["train.batch_size=30", "data.val_fraction=0.9"],
            "error: the training part holds 23 windows, fewer than one batch "
            "(train.batch_size = 30): lower train.batch_size to at most 23, or store more rows",
        ),
    ],
)
def test_train_refuses_a_part_smaller_than_a_batch(
    stored: Path, home: Path, settings: list[str], line: str
) -> None:
    sets = [arg for setting in settings for arg in ("--set", setting)]
    assert assert_error(cli("train", "TEST", "--config", str(stored), *sets), 3) == line
    assert not (home / "models").exists()


@pytest.mark.slow  # trains
def test_one_full_batch_per_part_is_enough(stored: Path, home: Path) -> None:
    # the smallest part, validation, holds 47 windows: batch 47 passes the check (and
    # trains), so the bound is "fewer than", not "at most"
    result = cli("train", "TEST", "--config", str(stored), "--set", "train.batch_size=47")
    assert result.exit_code == 0, result.stderr


def test_walk_forward_refuses_a_fold_smaller_than_a_batch(trained_home: Path) -> None:
    # The single split's 58 test windows (232 .. 289) cut at round(linspace(232, 290, 5)) =
    # 232, 246, 261, 276, 290: folds of 14, 15, 15 and 14 windows, the first < 16.
    assert assert_error(cli("evaluate", "TEST", "--folds", "4"), 3) == (
        "error: fold 1 of 4: the test part holds 14 windows, fewer than one batch "
        "(train.batch_size = 16): lower train.batch_size to at most 14, or store more rows"
    )


def test_a_global_model_counts_the_windows_of_every_member(tmp_path: Path, home: Path) -> None:
    # Two members on the same 300 days: 47 validation windows each, 94 pooled < 100.
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_CONFIG)
    for ticker, seed in (("AAA", 1), ("BBB", 2)):
        make_prices(300, seed=seed).to_csv(tmp_path / f"{ticker}.csv")
        assert cli("fetch", ticker, "--csv", str(tmp_path / f"{ticker}.csv")).exit_code == 0
    result = cli(
        "train", "AAA", "BBB", "--global", "--config", str(config), "--set", "train.batch_size=100"
    )
    assert assert_error(result, 3) == (
        "error: the validation part holds 94 windows, fewer than one batch "
        "(train.batch_size = 100): lower train.batch_size to at most 94, or store more rows"
    )
