"""Configuration: frozen dataclasses loaded from TOML, with dotted ``--set`` overrides.

Unknown sections or keys, wrong types and out-of-range values raise
:class:`~rnnforecast.errors.UsageError` naming the key; nothing is silently ignored.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnforecast.data.bars import COLUMNS
from rnnforecast.data.throttle import RateLimit
from rnnforecast.errors import UsageError

if TYPE_CHECKING:  # sources import pandas: built only when a [run] table is read
    from rnnforecast.data.sources import Source

BASE_FEATURES = COLUMNS
"""Raw daily bar columns, as stored (:mod:`rnnforecast.data.bars`)."""
DERIVED_FEATURES = ("log_return", "range", "volume_change", "parkinson", "garman_klass", "gap")
"""Computed per row: log(close / previous close), (high - low) / close,
log(1 + volume) - log(1 + previous volume), the Parkinson range variance
ln(high / low)^2 / (4 ln 2), the Garman-Klass variance
0.5 ln(high / low)^2 - (2 ln 2 - 1) ln(close / open)^2, and the overnight gap
log(open / previous close). All are scale-free (ratios of prices of one row or two
neighbouring rows), so they need no per-window normalisation."""
FEATURES = BASE_FEATURES + DERIVED_FEATURES
TARGETS = ("close", "log_return")
NORMALISATIONS = ("global", "window")
STRATEGIES = ("direct", "recursive")
HEADS = ("point", "distribution")

CELLS = ("lstm", "gru", "simple_rnn")
# calibration.intervals: auto, the network's ("model"), or a baseline of rnnforecast.risk.baselines.
# Not "naive_conformal": that is the bundle's own interval named by its calibration (served by
# "model" when the weights shape none of it; see rnnforecast.risk.network_use).
INTERVAL_METHODS = ("auto", "model", "garch_t", "gjr_t", "ewma", "hist50", "emp250", "har")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", "elu", "selu", "gelu", "swish")

# Upper bounds, so that no setting can make a run hang, loop or exhaust memory before a
# single epoch: a year of trading days ahead, a network a CPU can still hold, numpy's seed.
MAX_WINDOW = 10_000
MAX_HORIZON = 260
MAX_LAYERS = 8
MAX_UNITS = 4096
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 65_536
MAX_FRACTION = 0.9
MAX_SEED = 2**32 - 1
MAX_PEERS = 1000


@dataclass(frozen=True)
class DataConfig:
    """What the network sees and predicts.

    ``window`` rows of ``features`` predict ``target`` for the next ``horizon`` rows, with
    one network output per step (``strategy = "direct"``) or one step fed back ``horizon``
    times (``"recursive"``). The last ``test_fraction`` of windows is held out for testing
    and the last ``val_fraction`` of the remaining windows is the validation part: its last
    ``calibration_fraction`` (the newest windows) calibrates the network (shrink factor and
    conformal widths), the windows before them early-stop it, so the widths come from
    windows early stopping never selected on.
    """

    features: tuple[str, ...] = BASE_FEATURES
    target: str = "log_return"
    normalise: str = "window"
    window: int = 50
    horizon: int = 1
    strategy: str = "direct"
    test_fraction: float = 0.2
    val_fraction: float = 0.1
    calibration_fraction: float = 0.5

    @property
    def lookback(self) -> int:
        """Rows one window reads: one more than ``window`` when a feature needs the row
        before (returns, volume change)."""
        needs_previous = {"log_return", "volume_change", "gap"} & set(self.features)
        return self.window + (1 if needs_previous else 0)

    @property
    def outputs(self) -> int:
        """Network outputs: ``horizon`` for direct forecasts, 1 for recursive ones."""
        return self.horizon if self.strategy == "direct" else 1

    def validate(self) -> None:
        if not self.features:
            raise UsageError("data.features must name at least one feature")
        unknown = [f for f in self.features if f not in FEATURES]
        if unknown:
            known = ", ".join(FEATURES)
            raise UsageError(f"data.features: unknown feature {unknown[0]!r} (known: {known})")
        if len(set(self.features)) != len(self.features):
            raise UsageError("data.features lists a feature twice")
        choice("data.target", self.target, TARGETS)
        if self.target == "close" and "close" not in self.features:
            raise UsageError("data.features must include close to predict the close")
        choice("data.normalise", self.normalise, NORMALISATIONS)
        choice("data.strategy", self.strategy, STRATEGIES)
        _bounded("data.window", self.window, 2, MAX_WINDOW)
        _bounded("data.horizon", self.horizon, 1, MAX_HORIZON)
        # Each part keeps at least a tenth of what is left, so none is starved of windows.
        fractions = ("test_fraction", "val_fraction", "calibration_fraction")
        for name, value in ((n, getattr(self, n)) for n in fractions):
            if not 0 < value <= MAX_FRACTION:
                raise UsageError(f"data.{name} must be in (0, {MAX_FRACTION}], got {value}")


@dataclass(frozen=True)
class ModelConfig:
    """The network: ``layers`` stacked recurrent layers of ``units`` each, then a dense head.

    ``Input((window, n_features)) -> cell(units, activation) x layers -> Dropout(dropout)
    -> Dense(dense_units, activation) -> Dense(horizon)``; ``dense_units = 0`` drops the
    hidden dense layer.

    ``head = "distribution"``: the last layer gives two outputs per step, the location and
    the (softplus-transformed) scale of the next log return, trained on the Gaussian negative
    log-likelihood; intervals then follow the network's own scale (needs
    ``data.target = "log_return"`` and the direct strategy).
    """

    cell: str = "lstm"
    units: int = 32
    layers: int = 1
    activation: str = "relu"
    dense_units: int = 32
    dropout: float = 0.0
    head: str = "point"

    def validate(self) -> None:
        choice("model.cell", self.cell, CELLS)
        choice("model.head", self.head, HEADS)
        choice("model.activation", self.activation, ACTIVATIONS)
        _bounded("model.units", self.units, 1, MAX_UNITS)
        _bounded("model.layers", self.layers, 1, MAX_LAYERS)
        _bounded("model.dense_units", self.dense_units, 0, MAX_UNITS)
        if not 0 <= self.dropout < 1:
            raise UsageError(f"model.dropout must be in [0, 1), got {self.dropout}")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation: Adam on MSE, early stopping on validation loss (best weights kept)."""

    epochs: int = 50
    # Batch 128 with a 4x learning rate reaches the recipe's (batch 32, lr 0.001) validation
    # loss about 4x sooner at the same test MASE (benchmarks/bench_train.py, converge).
    batch_size: int = 128
    learning_rate: float = 0.004
    patience: int = 5
    seed: int = 42

    def validate(self) -> None:
        _bounded("train.epochs", self.epochs, 1, MAX_EPOCHS)
        _bounded("train.batch_size", self.batch_size, 1, MAX_BATCH_SIZE)
        if not 0 < self.learning_rate < float("inf"):
            raise UsageError(f"train.learning_rate must be positive, got {self.learning_rate}")
        _bounded("train.patience", self.patience, 0, MAX_EPOCHS)
        _bounded("train.seed", self.seed, 0, MAX_SEED)


@dataclass(frozen=True)
class CalibrationConfig:
    """What is fitted on the validation windows after training.

    ``shrink``: scale each step's predicted log move from the last close by a factor in
    [0, 1] that minimises the validation MAE (0 is the naive forecast), so a network
    without skill falls back to the naive forecast instead of adding noise.
    ``interval_level``: coverage of the prediction intervals (split conformal on the
    validation residuals), in (0, 1).
    ``significance``: a factor above 0 is kept only if the shrunk forecast beats the naive
    one on validation with a one-sided Diebold-Mariano p-value below this, in (0, 1]
    (1 keeps the factor with the lowest validation MAE, however small its edge).
    ``intervals``: what predict serves: ``auto`` (the network's intervals only if they beat
    the best volatility baseline's on the test period with a p-value below ``significance``,
    else that baseline's), ``model``, or a baseline's name (see rnnforecast.risk.interval_choice).
    ``adaptive_baseline``: a served baseline's widths are rescaled by the adaptive scheme on
    its own standardised residuals (rnnforecast.risk.adaptive_widths); false keeps them fixed.
    ``fan_network``: train the quantile network whose fan competes with the classical fans;
    ``fan_peers``: on at most this many other stored tickers of the calendar too (0: alone).
    """

    shrink: bool = True
    interval_level: float = 0.8
    significance: float = 0.05
    intervals: str = "auto"
    adaptive_baseline: bool = False
    fan_network: bool = False
    fan_peers: int = 12

    def validate(self) -> None:
        level = self.interval_level
        if not 0 < level < 1:
            raise UsageError(f"calibration.interval_level must be in (0, 1), got {level}")
        if not 0 < self.significance <= 1:
            raise UsageError(f"calibration.significance must be in (0, 1], got {self.significance}")
        _bounded("calibration.fan_peers", self.fan_peers, 0, MAX_PEERS)
        choice("calibration.intervals", self.intervals, INTERVAL_METHODS)


@dataclass(frozen=True)
class Config:
    """The whole recipe; ``Config()`` is the full-size default (configs/default.toml)."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)

    @property
    def network_outputs(self) -> int:
        """Width of the network's last layer: ``data.outputs``, twice that for the
        distribution head (the locations of the steps, then their raw scales)."""
        return self.data.outputs * (2 if self.model.head == "distribution" else 1)

    def validate(self) -> Config:
        """Check every section; return self. Raises UsageError naming the bad key."""
        self.data.validate()
        self.model.validate()
        if self.model.head == "distribution":
            # The scale is that of tomorrow's log return; a level target has no such scale,
            # and a recursive forecast would have to feed a distribution back in.
            if self.data.target != "log_return":
                raise UsageError(
                    "model.head = distribution needs data.target = log_return, "
                    f"got {self.data.target!r}"
                )
            if self.data.strategy != "direct":
                raise UsageError(
                    "model.head = distribution needs data.strategy = direct, "
                    f"got {self.data.strategy!r}"
                )
        self.train.validate()
        self.calibration.validate()
        return self

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain JSON/TOML-ready dict (tuples become lists)."""
        return {
            name: {k: list(v) if isinstance(v, tuple) else v for k, v in section.items()}
            for name, section in dataclasses.asdict(self).items()
        }


_SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "model": ModelConfig,
    "train": TrainConfig,
    "calibration": CalibrationConfig,
}


def _bounded(key: str, value: int, low: int, high: int) -> None:
    """Raise UsageError naming ``key`` unless ``low <= value <= high``."""
    if not low <= value <= high:
        raise UsageError(f"{key} must be between {low} and {high}, got {value}")


def choice(key: str, value: str, allowed: tuple[str, ...]) -> None:
    """Raise UsageError naming ``key`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise UsageError(f"{key} must be one of {', '.join(allowed)}; got {value!r}")


def coerce(key: str, value: Any, annotation: str) -> Any:
    """Check ``value`` against a dataclass field's annotation (a string, PEP 563); a field
    that may be None takes the type before ``| None`` (TOML has no null)."""
    annotation = annotation.removesuffix(" | None")
    if annotation == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{key} must be an integer, got {value!r}")
        return value
    if annotation == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"{key} must be a number, got {value!r}")
        return float(value)
    if annotation == "bool":
        if not isinstance(value, bool):
            raise UsageError(f"{key} must be true or false, got {value!r}")
        return value
    if annotation == "str":
        if not isinstance(value, str):
            raise UsageError(f"{key} must be a string, got {value!r}")
        return value.lower()
    if annotation == "Text":
        if not isinstance(value, str) or not value.strip():
            raise UsageError(f"{key} must be a non-empty string, got {value!r}")
        return value
    if annotation == "Path":
        if not isinstance(value, str) or not value.strip():
            raise UsageError(f"{key} must be a file path, got {value!r}")
        return Path(value)
    if annotation == "tuple[str, ...]":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"{key} must be a list of strings, got {value!r}")
        return tuple(v.lower() for v in value)
    raise AssertionError(f"unhandled config type {annotation} for {key}")  # pragma: no cover


Text = str
"""A string kept as written (case-sensitive, such as a strftime format), not empty."""


def read_table(name: str, values: Any, section: Any, apart: tuple[str, ...] = ()) -> Any:
    """``section`` (a frozen dataclass) with the TOML table ``values`` applied, each value
    checked against its field's type; keys in ``apart`` are known but left to the caller. A
    field's ``metadata["toml"]`` is its key in the table when the two differ. Raises
    UsageError for a value that is not a table, an unknown key or a wrong type.
    """
    if not isinstance(values, dict):
        raise UsageError(f"config section {name!r} must be a table")
    types = {f.metadata.get("toml", f.name): (f.name, str(f.type)) for f in fields(section)}
    changes = {}
    for key, value in values.items():
        if key not in types:
            known = ", ".join(sorted(types))
            raise UsageError(f"unknown config key '{name}.{key}' (known: {known})")
        if key not in apart:
            field_name, annotation = types[key]
            changes[field_name] = coerce(f"{name}.{key}", value, annotation)
    return dataclasses.replace(section, **changes)


def config_from_dict(raw: dict[str, Any], base: Config | None = None) -> Config:
    """Build a validated Config from a nested dict (as TOML gives), over ``base``.

    Raises UsageError for an unknown section or key, a wrong type or a bad value.
    """
    base = base or Config()
    sections: dict[str, Any] = {}
    for name, values in raw.items():
        if name not in _SECTIONS:
            raise UsageError(f"unknown config section {name!r} (known: {', '.join(_SECTIONS)})")
        sections[name] = read_table(name, values, getattr(base, name))
    return dataclasses.replace(base, **sections).validate()


def read_toml(path: Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config file {path}: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config file {path} is not valid TOML: {exc}") from None


def default_recipe() -> Path:
    """The default recipe in the package (configs/default.toml's bytes), run without one."""
    return Path(str(resources.files("rnnforecast").joinpath("default.toml")))


def load_config(path: Path | None) -> Config:
    """Read a TOML config file (None: :func:`default_recipe`, equal to ``Config()``; a
    ``[run]`` table is ignored). Raises UsageError: missing, not TOML, or not valid."""
    raw = read_toml(default_recipe() if path is None else path)
    raw.pop("run", None)
    return config_from_dict(raw)


def parse_override(item: str) -> tuple[str, str, Any]:
    """Split ``section.key=value``; the value is read as a TOML value, else as a bare string.

    ``model.units=64`` -> ("model", "units", 64); ``model.cell=gru`` -> ("model", "cell", "gru").
    """
    dotted, sep, text = item.partition("=")
    if not sep or "." not in dotted:
        raise UsageError(f"a setting must be given as SECTION.KEY=VALUE, got {item!r}")
    section, _, key = dotted.strip().partition(".")
    text = text.strip()
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    return section, key, value


def apply_overrides(config: Config, items: list[str]) -> Config:
    """Apply ``--set`` items in order. Raises UsageError for bad keys or values."""
    raw: dict[str, dict[str, Any]] = {}
    for item in items:
        section, key, value = parse_override(item)
        raw.setdefault(section, {})[key] = value
    return config_from_dict(raw, base=config) if raw else config


# --- the nightly job -------------------------------------------------------------------------


@dataclass(frozen=True)
class TickerJob:
    """One ticker of a ``run``: its symbol, where its bars come from, and its exchange
    ``calendar`` code (checked when the job runs; None: the stored one or the source's)."""

    ticker: str
    source: Source
    calendar: str | None = None


@dataclass(frozen=True)
class RunConfig:
    """The ``[run]`` table: which tickers the nightly job covers and how many runs it keeps.

    ``keep``: runs kept on disk per ticker, newest first (the current one is always kept).
    ``auto_adjust``: Yahoo prices adjusted for splits and dividends.
    ``refit``: serve the recipe refitted on every bar (false: serve the scored fit).
    ``global_model`` (TOML ``global``): train one global model over all the tickers, saved
    under ``group`` (default: the sorted tickers; see :mod:`rnnforecast.training.global_model`).
    ``warm_start``: fine-tune the current model on the new bars when its recipe is the
    challenger's, instead of training from scratch (rnnforecast.training.warm).
    ``fetch`` (TOML ``[run.fetch]``): how many tickers are fetched at once, and how fast.
    """

    tickers: tuple[TickerJob, ...] = ()
    keep: int = 5
    auto_adjust: bool = True
    refit: bool = True
    global_model: bool = field(default=False, metadata={"toml": "global"})
    group: str | None = None
    warm_start: bool = False
    fetch: RateLimit = field(default_factory=RateLimit)

    def validate(self) -> RunConfig:
        """Check the settings that go together; return self. Raises UsageError."""
        if self.keep < 1:
            raise UsageError(f"run.keep must be at least 1, got {self.keep}")
        if self.group is not None and not self.global_model:
            raise UsageError("run.group names the global model: set run.global = true as well")
        if not self.tickers:
            raise UsageError(
                "run.tickers must list at least one ticker, e.g. "
                'tickers = [{ ticker = "AAPL" }, { ticker = "GOOG", source = "sample" }]'
            )
        names = [job.ticker for job in self.tickers]
        if len(set(names)) != len(names):
            raise UsageError("run.tickers lists a ticker twice")
        if self.global_model and len(self.tickers) < 2:
            raise UsageError("run.global = true needs at least two run.tickers")
        return self
