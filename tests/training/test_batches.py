"""The batch a fit trains with (rnnforecast.training.batches): the recipe's when every part of
the split holds a full batch of it; else the largest of its halvings (down to 16) that every
part holds; below that, exit 3 before any training, one line naming the part, its windows
and (for one ticker) the rows needed.

The counts below are worked out by hand for 300 rows, window 10, horizon 1 and the default
features (a window reads 10 rows): m = 300 - 10 - 1 + 1 = 290 windows; test = ceil(0.2 m);
validation = ceil(val_fraction x the rest); training = what is left."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import TINY_CONFIG, assert_error, cli, make_prices

from rnnforecast.config import Config, DataConfig
from rnnforecast.errors import DataError
from rnnforecast.forecast.windows import Split
from rnnforecast.training import batches


def test_sizes_of_a_split() -> None:
    # 290 windows: test ceil(58.0) = 58; validation ceil(0.2 x 232) = 47; training 185.
    split = Split.plan(300, DataConfig(window=10, test_fraction=0.2, val_fraction=0.2))
    assert split.sizes() == {"training": 185, "validation": 47, "test": 58}


@pytest.mark.parametrize(
    ("recipe", "tried"),
    [
        (128, [128, 64, 32, 16]),
        (100, [100, 50, 25, 16]),
        (30, [30, 16]),
        (17, [17, 16]),
        (16, [16]),
        (8, [8]),
    ],
)
def test_the_batches_tried_are_the_recipes_halved_down_to_the_floor(
    recipe: int, tried: list[int]
) -> None:
    assert batches.candidates(recipe) == tried


@pytest.mark.parametrize(
    ("validation", "used"),
    [(128, 128), (127, 64), (64, 64), (63, 32), (32, 32), (31, 16), (16, 16)],
)
def test_the_largest_batch_every_part_holds_is_used(validation: int, used: int) -> None:
    sizes = {"training": 1000, "validation": validation, "test": 300}
    batch = batches.choose(sizes, 128)
    assert (batch.recipe, batch.used, batch.adapted) == (128, used, used != 128)
    assert batch.learning_rate(0.004) == pytest.approx(0.004 * used / 128)
    if used != 128:
        assert batch.why.startswith(f"the validation part holds {validation} windows")


def test_an_adapted_batch_trains_with_its_learning_rate_scaled() -> None:
    config = Config()
    adapted = batches.Batch(128, 32, "").apply(config)
    assert (adapted.train.batch_size, adapted.train.learning_rate) == (32, pytest.approx(0.001))
    assert adapted.data == config.data and adapted.model == config.model
    assert batches.Batch(128, 128, "").apply(config) is config


def test_below_the_floor_is_refused_naming_the_part() -> None:
    with pytest.raises(DataError) as caught:
        batches.choose({"training": 40, "validation": 15, "test": 20}, 128, where="fold 2 of 3: ")
    assert str(caught.value) == (
        "fold 2 of 3: the validation part holds 15 windows, fewer than the smallest batch, 16 "
        "(train.batch_size = 128, halved down to at most 16): store more rows"
    )
    # a recipe batch at or below the floor is never adapted
    assert batches.choose({"training": 8, "validation": 8, "test": 8}, 8).used == 8
    with pytest.raises(DataError, match=r"smallest batch, 8 \(train.batch_size = 8\)"):
        batches.choose({"training": 8, "validation": 7, "test": 8}, 8)


def test_the_default_recipe_trains_from_239_rows() -> None:
    # window 50, test 0.2, validation 0.1: the validation part is the smallest, and reaches
    # 16, 32, 64 and 128 windows at 239, 439, 839 and 1,639 rows.
    config = Config()
    assert [batches.rows_for(b, config.data) for b in (16, 32, 64, 128)] == [239, 439, 839, 1639]
    for rows, used in [(239, 16), (438, 16), (439, 32), (504, 32), (756, 32), (1639, 128)]:
        assert batches.for_rows(rows, config)[1].used == used, rows
    split, batch = batches.for_rows(504, config)  # 2 years: 10 batches of 32 per epoch
    assert split.sizes() == {"training": 326, "validation": 37, "test": 91}
    assert batch.to_dict() == {
        "recipe": 128,
        "used": 32,
        "why": "the validation part holds 37 windows, fewer than train.batch_size = 128: "
        "the largest halving every part holds; train.learning_rate scaled alike, "
        "0.004 x 32/128 = 0.001",
    }
    with pytest.raises(DataError, match=r"store at least 239 rows \(there are 238\)$"):
        batches.for_rows(238, config)


def test_walk_forward_folds_share_one_batch() -> None:
    folds = [
        {"training": 500, "validation": 60, "test": 40},
        {"training": 540, "validation": 64, "test": 30},
    ]
    assert batches.smallest_parts(folds) == {"training": 500, "validation": 60, "test": 30}
    assert batches.choose(batches.smallest_parts(folds), 128).used == 16


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
        # validation ceil(0.05 x 232) = 12 < 16; 387 rows give 377 windows, validation
        # ceil(0.05 x (377 - 76)) = 16
        (
            ["data.val_fraction=0.05"],
            "error: the validation part holds 12 windows, fewer than the smallest batch, 16 "
            "(train.batch_size = 16): store at least 387 rows (there are 300)",
        ),
        # test 145, validation ceil(0.9 x 145) = 131, training 14 < 16 (30 halved: 16);
        # training reaches 16 at 160 usable windows: floor(m / 2) = 160, m = 320, 330 rows
        (
            ["train.batch_size=30", "data.val_fraction=0.9", "data.test_fraction=0.5"],
            "error: the training part holds 14 windows, fewer than the smallest batch, 16 "
            "(train.batch_size = 30, halved down to at most 16): store at least 330 rows "
            "(there are 300)",
        ),
    ],
)
def test_train_refuses_a_part_smaller_than_the_smallest_batch(
    stored: Path, home: Path, settings: list[str], line: str
) -> None:
    sets = [arg for setting in settings for arg in ("--set", setting)]
    assert assert_error(cli("train", "TEST", "--config", str(stored), *sets), 3) == line
    assert not (home / "models").exists()


@pytest.mark.slow  # trains
def test_a_batch_larger_than_a_part_is_halved_and_said(stored: Path, home: Path) -> None:
    # validation 47 < 64: the fits train on batches of 32, said in the output and the manifest
    sets = ["--set", "train.batch_size=64"]
    result = cli("train", "TEST", "--config", str(stored), *sets)
    assert result.exit_code == 0, result.stderr
    assert (
        "batch 32, not train.batch_size = 64: the validation part holds 47 windows, fewer "
        "than train.batch_size = 64: the largest halving every part holds; "
        "train.learning_rate scaled alike, 0.004 x 32/64 = 0.002"
    ) in result.stderr
    manifest = next((home / "models" / "TEST").glob("*/manifest.json"))
    record = json.loads(manifest.read_text())
    assert record["batch_size"]["used"] == 32
    assert record["config"]["train"]["batch_size"] == 64  # the recipe is saved as it was


@pytest.mark.slow  # trains
def test_one_full_batch_per_part_keeps_the_recipes_batch(stored: Path, home: Path) -> None:
    # the smallest part, validation, holds 47 windows: batch 47 is kept, so the bound is
    # "fewer than", not "at most"; nothing is said of a batch kept
    result = cli("train", "TEST", "--config", str(stored), "--set", "train.batch_size=47")
    assert result.exit_code == 0, result.stderr
    assert "not train.batch_size" not in result.stderr


def test_walk_forward_refuses_a_fold_smaller_than_the_smallest_batch(trained_home: Path) -> None:
    # The single split's 58 test windows (232 .. 289) cut at round(linspace(232, 290, 5)) =
    # 232, 246, 261, 276, 290: folds of 14, 15, 15 and 14 windows, the first < 16.
    assert assert_error(cli("evaluate", "TEST", "--folds", "4"), 3) == (
        "error: fold 1 of 4: the test part holds 14 windows, fewer than the smallest batch, 16 "
        "(train.batch_size = 16): store more rows"
    )


@pytest.mark.slow  # trains
def test_a_global_model_with_a_short_member_adapts_its_batch(tmp_path: Path, home: Path) -> None:
    # AAA has 300 days, BBB only its last 120: the pooled validation part holds fewer than
    # 100 windows, so the group trains on batches of 50 instead of being refused.
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_CONFIG)
    for ticker, seed, rows in (("AAA", 1, 300), ("BBB", 2, 120)):
        make_prices(300, seed=seed).tail(rows).to_csv(tmp_path / f"{ticker}.csv")
        assert cli("fetch", ticker, "--csv", str(tmp_path / f"{ticker}.csv")).exit_code == 0
    sets = ["--set", "train.batch_size=100", "--json"]
    result = cli("train", "AAA", "BBB", "--global", "--config", str(config), *sets)
    assert result.exit_code == 0, result.stderr
    batch = json.loads(result.stdout)["batch_size"]
    assert (batch["recipe"], batch["used"]) == (100, 50)
    assert batch["why"].startswith("the validation part holds ")


def test_a_global_model_below_the_smallest_batch_is_refused(tmp_path: Path, home: Path) -> None:
    # Two members on the same 300 days: ceil(0.03 x 232) = 7 validation windows each, 14
    # pooled < 16.
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_CONFIG)
    for ticker, seed in (("AAA", 1), ("BBB", 2)):
        make_prices(300, seed=seed).to_csv(tmp_path / f"{ticker}.csv")
        assert cli("fetch", ticker, "--csv", str(tmp_path / f"{ticker}.csv")).exit_code == 0
    sets = ["--set", "train.batch_size=100", "--set", "data.val_fraction=0.03"]
    result = cli("train", "AAA", "BBB", "--global", "--config", str(config), *sets)
    assert assert_error(result, 3) == (
        "error: the validation part holds 14 windows, fewer than the smallest batch, 16 "
        "(train.batch_size = 100, halved down to at most 16): store more rows"
    )


def test_a_replay_starts_where_train_would_train() -> None:
    from rnnforecast.errors import UsageError
    from rnnforecast.jobs.replay import check_start

    check_start(504, Config(), "2012-03-01")  # 2 years before its first refit: batches of 32
    with pytest.raises(UsageError, match=r"store at least 239 rows \(there are 238\)$"):
        check_start(238, Config(), "2012-03-01")
