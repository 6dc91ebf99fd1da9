"""Configuration: defaults, TOML loading, validation and ``--set`` overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO

from rnnforecast.config import (
    BASE_FEATURES,
    DERIVED_FEATURES,
    FEATURES,
    CalibrationConfig,
    Config,
    DataConfig,
    ModelConfig,
    TrainConfig,
    apply_overrides,
    config_from_dict,
    load_config,
    parse_override,
)
from rnnforecast.errors import UsageError

CONFIGS = REPO / "configs"
CONFIG_FILES = sorted(CONFIGS.glob("*.toml")) if CONFIGS.is_dir() else []


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- defaults -------------------------------------------------------------------------------


def test_defaults_are_the_recipe_on_window_normalised_returns() -> None:
    """The recipe's features, window and network; what it predicts is the measured choice
    (README, "Accuracy"): the next log return, each window relative to itself."""
    config = Config()
    assert config.data.features == ("open", "high", "low", "close", "volume")
    assert config.data.features == BASE_FEATURES
    assert config.data.target == "log_return"
    assert config.data.window == 50
    assert config.data.horizon == 1
    assert config.data.test_fraction == 0.2
    assert config.model.cell == "lstm"
    assert config.model.units == 32
    assert config.model.activation == "relu"
    assert config.model.dense_units == 32
    assert config.model.layers == 1
    assert config.data.normalise == "window"
    assert config.data.strategy == "direct"
    assert config.calibration == CalibrationConfig(shrink=True, interval_level=0.8)


def test_defaults_validate_and_none_path_gives_default() -> None:
    assert Config().validate() == Config()
    assert load_config(None) == Config()


def test_config_is_frozen() -> None:
    config = Config()
    with pytest.raises(AttributeError):
        config.data.window = 10  # type: ignore[misc]


# --- configs/*.toml ---------------------------------------------------------------------------


def test_config_files_are_shipped() -> None:
    assert {"default.toml", "nightly.toml"} <= {p.name for p in CONFIG_FILES}


@pytest.mark.parametrize("path", CONFIG_FILES, ids=[p.name for p in CONFIG_FILES])
def test_shipped_config_files_load(path: Path) -> None:
    config = load_config(path)
    assert isinstance(config, Config)
    assert config.validate() is config


def test_default_toml_equals_builtin_default() -> None:
    assert load_config(CONFIGS / "default.toml") == Config()


def test_load_config_reads_a_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[data]\nwindow = 10\nfeatures = ["Close", "volume"]\n'
        '[model]\ncell = "GRU"\nunits = 8\n[train]\nlearning_rate = 1\n',
    )
    config = load_config(path)
    assert config.data.window == 10
    assert config.data.features == ("close", "volume")  # lower-cased, tuple
    assert config.model.cell == "gru"
    assert config.model.units == 8
    assert config.train.learning_rate == 1.0
    assert isinstance(config.train.learning_rate, float)
    # untouched keys keep their defaults
    assert config.data.horizon == 1
    assert config.model.dense_units == 32
    assert config.train.epochs == TrainConfig().epochs


def test_tiny_config_fixture_loads(tiny_config: Path) -> None:
    config = load_config(tiny_config)
    assert config.data.window == 10
    assert config.model.units == 4


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")) == Config()


# --- file errors ----------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(UsageError, match="not found") as info:
        load_config(missing)
    assert str(missing) in str(info.value)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        load_config(tmp_path)


def test_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "[data\nwindow = = 3\n")
    with pytest.raises(UsageError, match="not valid TOML") as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"# caf\xe9\n[data]\nwindow = 3\n")
    with pytest.raises(UsageError):
        load_config(path)


# --- unknown names --------------------------------------------------------------------------


def test_unknown_section(tmp_path: Path) -> None:
    path = write(tmp_path, "[optimizer]\nlr = 0.1\n")
    with pytest.raises(UsageError, match="optimizer"):
        load_config(path)


def test_unknown_key(tmp_path: Path) -> None:
    path = write(tmp_path, "[model]\nunitz = 64\n")
    with pytest.raises(UsageError, match=r"model\.unitz"):
        load_config(path)


def test_top_level_key_is_unknown_section(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="window"):
        load_config(write(tmp_path, "window = 10\n"))


def test_section_must_be_a_table() -> None:
    with pytest.raises(UsageError, match="data"):
        config_from_dict({"data": 5})


# --- wrong types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('window = "50"', "data.window"),  # string for int
        ("window = true", "data.window"),  # bool for int
        ("window = 50.0", "data.window"),  # float for int
        ("horizon = 1.5", "data.horizon"),
        ('test_fraction = "0.2"', "data.test_fraction"),
        ("test_fraction = false", "data.test_fraction"),
        ("target = 3", "data.target"),
        ('features = "close"', "data.features"),
        ("features = [1, 2]", "data.features"),
    ],
)
def test_wrong_type_in_data(tmp_path: Path, line: str, key: str) -> None:
    with pytest.raises(UsageError, match=key.replace(".", r"\.")):
        load_config(write(tmp_path, f"[data]\n{line}\n"))


@pytest.mark.parametrize(
    ("section", "line"),
    [
        ("model", 'units = "32"'),
        ("model", "units = true"),
        ("model", "units = 32.0"),
        ("model", "cell = 1"),
        ("train", "epochs = 1.0"),
        ("train", "batch_size = false"),
        ("train", 'learning_rate = "fast"'),
        ("train", "learning_rate = true"),
    ],
)
def test_wrong_type_in_model_and_train(tmp_path: Path, section: str, line: str) -> None:
    key = line.split("=")[0].strip()
    with pytest.raises(UsageError, match=rf"{section}\.{key}"):
        load_config(write(tmp_path, f"[{section}]\n{line}\n"))


def test_int_is_accepted_for_float() -> None:
    config = config_from_dict({"model": {"dropout": 0}, "train": {"learning_rate": 1}})
    assert config.model.dropout == 0.0
    assert isinstance(config.train.learning_rate, float)


# --- out of range ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"data": {"window": 1}}, "data.window"),
        ({"data": {"window": 0}}, "data.window"),
        ({"data": {"horizon": 0}}, "data.horizon"),
        ({"data": {"test_fraction": 0}}, "data.test_fraction"),
        ({"data": {"test_fraction": 1}}, "data.test_fraction"),
        ({"data": {"test_fraction": -0.1}}, "data.test_fraction"),
        ({"data": {"val_fraction": 1.5}}, "data.val_fraction"),
        ({"data": {"val_fraction": 0}}, "data.val_fraction"),
        ({"data": {"features": ["close", "adj_close"]}}, "adj_close"),
        ({"data": {"features": []}}, "data.features"),
        ({"data": {"features": ["close", "close"]}}, "data.features"),
        # no close to predict
        ({"data": {"features": ["open", "high"], "target": "close"}}, "data.features"),
        ({"data": {"target": "open"}}, "data.target"),
        ({"data": {"normalise": "minmax"}}, "data.normalise"),
        ({"data": {"strategy": "seq2seq"}}, "data.strategy"),
        ({"calibration": {"interval_level": 0}}, "calibration.interval_level"),
        ({"calibration": {"interval_level": 1}}, "calibration.interval_level"),
        ({"calibration": {"significance": 0}}, "calibration.significance"),
        ({"calibration": {"significance": 1.5}}, "calibration.significance"),
        ({"model": {"units": 0}}, "model.units"),
        ({"model": {"layers": 0}}, "model.layers"),
        ({"model": {"dense_units": -1}}, "model.dense_units"),
        ({"model": {"dropout": 1.0}}, "model.dropout"),
        ({"model": {"dropout": -0.1}}, "model.dropout"),
        ({"model": {"cell": "transformer"}}, "model.cell"),
        ({"model": {"activation": "softmax"}}, "model.activation"),
        ({"train": {"epochs": 0}}, "train.epochs"),
        ({"train": {"batch_size": 0}}, "train.batch_size"),
        ({"train": {"learning_rate": 0}}, "train.learning_rate"),
        ({"train": {"patience": -1}}, "train.patience"),
        ({"train": {"seed": -1}}, "train.seed"),
    ],
)
def test_out_of_range(raw: dict, key: str) -> None:
    with pytest.raises(UsageError, match=key.replace(".", r"\.")):
        config_from_dict(raw)


def test_out_of_range_from_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"data\.window"):
        load_config(write(tmp_path, "[data]\nwindow = 1\n"))


def test_unknown_cell_names_the_choices() -> None:
    with pytest.raises(UsageError, match="lstm, gru, simple_rnn") as info:
        config_from_dict({"model": {"cell": "transformer"}})
    assert "transformer" in str(info.value)


def test_boundaries_that_are_allowed() -> None:
    config = config_from_dict(
        {
            "data": {"window": 2, "features": ["close"], "test_fraction": 0.01},
            "model": {"dropout": 0.0, "dense_units": 0, "cell": "simple_rnn"},
            "train": {"patience": 0, "seed": 0},
        }
    )
    assert config.data.window == 2
    assert config.data.features == ("close",)
    assert config.model.dense_units == 0


# --- overrides ------------------------------------------------------------------------------


def test_override_int() -> None:
    config = apply_overrides(Config(), ["model.units=64"])
    assert config.model.units == 64
    assert config.model.cell == "lstm"


def test_override_bare_string() -> None:
    assert apply_overrides(Config(), ["model.cell=gru"]).model.cell == "gru"
    assert apply_overrides(Config(), ['model.cell="gru"']).model.cell == "gru"


def test_override_list() -> None:
    config = apply_overrides(Config(), ['data.features=["close","volume"]'])
    assert config.data.features == ("close", "volume")


def test_override_float_and_spaces() -> None:
    config = apply_overrides(Config(), ["train.learning_rate = 1e-4", " data.window = 20 "])
    assert config.train.learning_rate == 1e-4
    assert config.data.window == 20


def test_overrides_apply_in_order_over_base(tiny_config: Path) -> None:
    base = load_config(tiny_config)
    config = apply_overrides(base, ["model.units=8", "model.units=16"])
    assert config.model.units == 16
    assert config.data.window == 10  # from the base, not the default


def test_no_overrides_returns_config_unchanged() -> None:
    config = Config()
    assert apply_overrides(config, []) is config


def test_parse_override() -> None:
    assert parse_override("model.units=64") == ("model", "units", 64)
    assert parse_override("model.cell=gru") == ("model", "cell", "gru")
    assert parse_override('data.features=["close"]') == ("data", "features", ["close"])


@pytest.mark.parametrize("item", ["model.units", "units=64", "model_units=64", "", "=3"])
def test_bad_override_syntax(item: str) -> None:
    with pytest.raises(UsageError, match=r"SECTION\.KEY=VALUE"):
        apply_overrides(Config(), [item])


def test_override_unknown_key_and_section() -> None:
    with pytest.raises(UsageError, match=r"model\.unitz"):
        apply_overrides(Config(), ["model.unitz=3"])
    with pytest.raises(UsageError, match="optim"):
        apply_overrides(Config(), ["optim.lr=3"])


def test_override_wrong_type_and_range() -> None:
    with pytest.raises(UsageError, match=r"model\.units"):
        apply_overrides(Config(), ["model.units=lots"])
    with pytest.raises(UsageError, match=r"model\.units"):
        apply_overrides(Config(), ["model.units=0"])
    with pytest.raises(UsageError, match=r"data\.features"):
        apply_overrides(Config(), ["data.features=close,volume"])


# --- round trip -----------------------------------------------------------------------------


def test_to_dict_round_trips() -> None:
    config = Config(
        DataConfig(features=("close", "volume"), window=7, horizon=3, val_fraction=0.25),
        ModelConfig(cell="gru", units=5, layers=2, dropout=0.5, dense_units=0),
        TrainConfig(epochs=3, learning_rate=0.01, seed=1),
    ).validate()
    raw = config.to_dict()
    assert raw["data"]["features"] == ["close", "volume"]
    assert config_from_dict(raw) == config
    # also through JSON, as it is stored in a manifest
    assert config_from_dict(json.loads(json.dumps(raw))) == config


def test_default_to_dict_round_trips() -> None:
    raw = Config().to_dict()
    assert set(raw) == {"data", "model", "train", "calibration"}
    assert config_from_dict(raw) == Config()


# --- data: target, normalisation, strategy, derived features ----------------------------------


@pytest.mark.parametrize("target", ["close", "log_return", "LOG_RETURN"])
def test_data_target_choices(target: str) -> None:
    config = config_from_dict({"data": {"target": target}})
    assert config.data.target == target.lower()


@pytest.mark.parametrize("target", ["open", "return", "log-return", ""])
def test_data_target_unknown(target: str) -> None:
    with pytest.raises(UsageError, match=r"data\.target.*close, log_return") as info:
        config_from_dict({"data": {"target": target}})
    assert repr(target) in str(info.value)


@pytest.mark.parametrize("normalise", ["global", "window"])
def test_data_normalise_choices(normalise: str) -> None:
    assert config_from_dict({"data": {"normalise": normalise}}).data.normalise == normalise


@pytest.mark.parametrize("normalise", ["none", "minmax", "local"])
def test_data_normalise_unknown(normalise: str) -> None:
    with pytest.raises(UsageError, match=r"data\.normalise.*global, window"):
        config_from_dict({"data": {"normalise": normalise}})


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_data_strategy_choices(strategy: str) -> None:
    assert config_from_dict({"data": {"strategy": strategy}}).data.strategy == strategy


@pytest.mark.parametrize(
    ("line", "key"), [("strategy = 1", "data.strategy"), ("normalise = true", "data.normalise")]
)
def test_new_data_keys_wrong_type(tmp_path: Path, line: str, key: str) -> None:
    with pytest.raises(UsageError, match=key.replace(".", r"\.")):
        load_config(write(tmp_path, f"[data]\n{line}\n"))


def test_derived_features_are_accepted() -> None:
    assert DERIVED_FEATURES == (
        "log_return",
        "range",
        "volume_change",
        "parkinson",
        "garman_klass",
        "gap",
    )
    assert FEATURES == BASE_FEATURES + DERIVED_FEATURES
    config = config_from_dict({"data": {"features": list(FEATURES)}})
    assert config.data.features == FEATURES
    only = config_from_dict({"data": {"features": ["close", "Range"]}})
    assert only.data.features == ("close", "range")


def test_close_target_needs_the_close_feature() -> None:
    with pytest.raises(UsageError, match=r"data\.features.*close"):
        config_from_dict({"data": {"features": ["log_return", "volume"], "target": "close"}})
    with pytest.raises(UsageError, match=r"data\.features.*close"):
        config_from_dict({"data": {"features": ["log_return"], "target": "close"}})


def test_log_return_target_without_the_close_feature() -> None:
    config = config_from_dict(
        {"data": {"features": ["log_return", "range", "volume"], "target": "log_return"}}
    )
    assert config.data.target == "log_return"
    assert "close" not in config.data.features


@pytest.mark.parametrize(
    ("features", "lookback"),
    [
        (["close"], 10),
        (list(BASE_FEATURES), 10),
        (["close", "range"], 10),
        (["close", "log_return"], 11),
        (["close", "volume_change"], 11),
        (list(FEATURES), 11),
    ],
)
def test_lookback(features: list[str], lookback: int) -> None:
    config = config_from_dict({"data": {"window": 10, "features": features}})
    assert config.data.lookback == lookback
    assert config.data.window == 10


@pytest.mark.parametrize(
    ("strategy", "horizon", "outputs"),
    [("direct", 1, 1), ("direct", 5, 5), ("recursive", 1, 1), ("recursive", 5, 1)],
)
def test_outputs(strategy: str, horizon: int, outputs: int) -> None:
    data = DataConfig(horizon=horizon, strategy=strategy)
    assert data.outputs == outputs


def test_lookback_and_outputs_are_not_config_keys() -> None:
    with pytest.raises(UsageError, match=r"data\.lookback"):
        config_from_dict({"data": {"lookback": 11}})
    with pytest.raises(UsageError, match=r"data\.outputs"):
        config_from_dict({"data": {"outputs": 1}})
    assert "lookback" not in Config().to_dict()["data"]


def test_new_keys_from_a_file_and_overrides(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[data]\ntarget = "log_return"\nnormalise = "Window"\nstrategy = "recursive"\n'
        'features = ["close", "log_return"]\nhorizon = 5\n'
        "[calibration]\nshrink = false\ninterval_level = 0.9\n",
    )
    config = load_config(path)
    assert config.data.target == "log_return"
    assert config.data.normalise == "window"
    assert config.data.strategy == "recursive"
    assert config.data.outputs == 1
    assert config.calibration == CalibrationConfig(shrink=False, interval_level=0.9)
    changed = apply_overrides(
        config,
        ["data.strategy=direct", "calibration.shrink=true", "calibration.interval_level=0.5"],
    )
    assert changed.data.outputs == 5
    assert changed.calibration == CalibrationConfig(shrink=True, interval_level=0.5)


# --- calibration ------------------------------------------------------------------------------


@pytest.mark.parametrize("shrink", [True, False])
def test_calibration_shrink_is_a_bool(shrink: bool) -> None:
    assert config_from_dict({"calibration": {"shrink": shrink}}).calibration.shrink is shrink


@pytest.mark.parametrize("value", ["true", "yes", 1, 0, 1.0, [True]])
def test_calibration_shrink_rejects_non_bools(value) -> None:
    with pytest.raises(UsageError, match=r"calibration\.shrink"):
        config_from_dict({"calibration": {"shrink": value}})


@pytest.mark.parametrize("line", ['shrink = "true"', "shrink = 1", "shrink = 0"])
def test_calibration_shrink_from_file(tmp_path: Path, line: str) -> None:
    with pytest.raises(UsageError, match=r"calibration\.shrink"):
        load_config(write(tmp_path, f"[calibration]\n{line}\n"))


def test_calibration_shrink_override() -> None:
    assert apply_overrides(Config(), ["calibration.shrink=false"]).calibration.shrink is False
    with pytest.raises(UsageError, match=r"calibration\.shrink"):
        apply_overrides(Config(), ["calibration.shrink=no"])


@pytest.mark.parametrize("level", [0.01, 0.5, 0.8, 0.95, 0.999])
def test_calibration_interval_level_in_range(level: float) -> None:
    config = config_from_dict({"calibration": {"interval_level": level}})
    assert config.calibration.interval_level == level


@pytest.mark.parametrize("level", [0, 0.0, 1, 1.0, -0.2, 1.5, 80])
def test_calibration_interval_level_out_of_range(level: float) -> None:
    with pytest.raises(UsageError, match=r"calibration\.interval_level.*\(0, 1\)"):
        config_from_dict({"calibration": {"interval_level": level}})


@pytest.mark.parametrize("level", ['"0.8"', "true"])
def test_calibration_interval_level_wrong_type(tmp_path: Path, level: str) -> None:
    with pytest.raises(UsageError, match=r"calibration\.interval_level"):
        load_config(write(tmp_path, f"[calibration]\ninterval_level = {level}\n"))


def test_calibration_unknown_key() -> None:
    with pytest.raises(UsageError, match=r"calibration\.level"):
        config_from_dict({"calibration": {"level": 0.8}})


def test_new_keys_round_trip() -> None:
    config = Config(
        DataConfig(
            features=("close", "log_return", "volume_change"),
            target="log_return",
            normalise="window",
            strategy="recursive",
            window=7,
            horizon=3,
        ),
        calibration=CalibrationConfig(
            shrink=False, interval_level=0.9, significance=0.1, adaptive_baseline=True
        ),
    ).validate()
    raw = json.loads(json.dumps(config.to_dict()))
    assert raw["data"]["features"] == ["close", "log_return", "volume_change"]
    assert raw["calibration"] == {
        "shrink": False,
        "interval_level": 0.9,
        "significance": 0.1,
        "intervals": "auto",
        "fan_network": False,
        "fan_peers": 12,
        "adaptive_baseline": True,
    }
    assert config_from_dict(raw) == config
