"""Every setting is bounded when the config is read: a bad value ends with exit 2 and one
line naming the key, before any lock, data or TensorFlow; no error path loops in
proportion to a setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rnnforecast.cli.commands import app
from rnnforecast.config import DataConfig
from rnnforecast.errors import DataError, ModelError
from rnnforecast.faults import translate
from rnnforecast.forecast.windows import Split

runner = CliRunner()


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ("data.test_fraction=0.9999999999", ["data.test_fraction", "(0, 0.9]"]),
        ("data.val_fraction=0.9999999999", ["data.val_fraction", "(0, 0.9]"]),
        ("data.test_fraction=nan", ["data.test_fraction"]),
        ("data.horizon=1000000000", ["data.horizon", "between 1 and 260"]),
        ("data.horizon=261", ["data.horizon", "between 1 and 260"]),
        ("data.horizon=1e7", ["data.horizon", "integer"]),
        ("data.window=1000000", ["data.window", "between 2 and 10000"]),
        ("model.layers=1000000", ["model.layers", "between 1 and 8"]),
        ("model.units=1000000000", ["model.units", "between 1 and 4096"]),
        ("model.dense_units=4097", ["model.dense_units", "between 0 and 4096"]),
        ("train.epochs=100001", ["train.epochs", "between 1 and 100000"]),
        ("train.seed=4294967296", ["train.seed", "between 0 and 4294967295"]),
        ("train.seed=-1", ["train.seed", "between 0 and 4294967295"]),
        ("train.learning_rate=inf", ["train.learning_rate"]),
    ],
)
def test_out_of_bounds_setting_exits_2_before_anything_else(setting: str, words: list[str]) -> None:
    # No data is stored: a check after reading the store would say exit 3 instead.
    result = runner.invoke(app, ["train", "AAA", "--set", setting])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    for word in words:
        assert word in line, (word, line)


def test_seed_option_above_32_bits_exits_2() -> None:
    result = runner.invoke(app, ["train", "AAA", "--seed", "4294967296"])
    assert result.exit_code == 2
    assert "train.seed" in result.stderr


def test_largest_seed_is_accepted_up_to_the_data_check() -> None:
    result = runner.invoke(app, ["train", "AAA", "--seed", "4294967295"])
    assert result.exit_code == 3  # no data stored: the seed itself passed
    assert "no data stored for AAA" in result.stderr


def test_bounds_hold_for_a_config_file_too(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text("[model]\nlayers = 9\n")
    result = runner.invoke(app, ["train", "AAA", "--config", str(path)])
    assert result.exit_code == 2
    assert "model.layers must be between 1 and 8, got 9" in result.stderr


def test_rows_needed_for_a_tiny_test_share_are_found_without_counting_up() -> None:
    """A split leaving a sliver for training needs about 1/sliver rows; the message gives
    that number at once instead of counting up to it (the config refuses such a fraction
    now; the split itself must not hang on one either)."""
    data = DataConfig(window=10, test_fraction=1 - 1e-9, val_fraction=0.5)
    with pytest.raises(DataError) as caught:
        Split.plan(300, data)
    need = int(str(caught.value).rsplit(" ", 1)[1])
    assert need > 10**9
    assert Split.plan(need, data).train.stop >= 1
    with pytest.raises(DataError):
        Split.plan(need - 1, data)


def test_json_error_document_for_a_bad_setting() -> None:
    result = runner.invoke(app, ["train", "AAA", "--set", "model.layers=9", "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {
        "error": {
            "code": 2,
            "kind": "usage",
            "message": "model.layers must be between 1 and 8, got 9",
        }
    }


class ResourceExhaustedError(Exception):
    """Named as TensorFlow names its allocation failure."""


@pytest.mark.parametrize("exc", [MemoryError(), ResourceExhaustedError("OOM when allocating")])
def test_memory_exhaustion_is_model_too_large(exc: Exception) -> None:
    known = translate(exc)
    assert isinstance(known, ModelError) and known.exit_code == 4
    message = str(known)
    assert message.startswith("model too large for memory")
    for key in ("model.units", "model.dense_units", "model.layers", "train.batch_size"):
        assert key in message


def test_other_errors_are_not_memory_errors() -> None:
    assert translate(ValueError("other")) is None


def test_memory_exhaustion_during_training_exits_4(
    monkeypatch: pytest.MonkeyPatch, prices_csv: Path, tiny_config: Path
) -> None:
    from rnnforecast.nn import keras_training

    def exhausted(*args: object, **kwargs: object) -> None:
        raise ResourceExhaustedError("OOM when allocating tensor with shape[1000000000,4]")

    monkeypatch.setattr(keras_training, "fit", exhausted)
    assert runner.invoke(app, ["fetch", "AAA", "--csv", str(prices_csv)]).exit_code == 0
    result = runner.invoke(app, ["train", "AAA", "--config", str(tiny_config)])
    assert result.exit_code == 4, result.stderr
    assert result.stderr.startswith("error: model too large for memory: lower model.units")
