"""A bundle's manifest as a typed record: what the bundle holds and how it was made.

:class:`Manifest` is read once, when :class:`rnnforecast.storage.artifacts.ModelRepository` loads a
bundle (:meth:`Manifest.from_json` checks the values a forecast relies on), and written once,
when it saves one (:meth:`Manifest.to_json`). Every other module reads its attributes; the
string keys of ``manifest.json`` are spelled here only (and, for the fits of old and new
manifests, in :mod:`rnnforecast.storage.fit_records`). The JSON document is kept as it was
assembled or
read, so a manifest writes back byte for byte, older shapes and entries this version does
not read included. No TensorFlow, no pandas.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from rnnforecast.errors import ModelError
from rnnforecast.storage import fit_records

REQUIRED = ("run_id", "ticker", "config", "features", "window", "horizon", "data")
"""Top-level entries every manifest has had since the first version."""


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok else None


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Period:
    """First and last day (YYYY-MM-DD) of a period and its number of days or windows."""

    start: str
    end: str
    n: int | None = None

    @classmethod
    def read(cls, value: Any) -> Period | None:
        """The period of a ``{"start", "end", "n"}`` table, or None if it is not one."""
        table = _table(value)
        start, end, n = _text(table.get("start")), _text(table.get("end")), table.get("n")
        if start is None or end is None:
            return None
        return cls(start, end, n if isinstance(n, int) and not isinstance(n, bool) else None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start, "end": self.end}
        if self.n is not None:
            out["n"] = self.n
        return out


@dataclass(frozen=True)
class DataRecord:
    """The bars a bundle was trained on: their span and fingerprint, and the periods of its
    split (by each window's first target day). A global model's record covers all members
    and has the shared ``split`` instead of ``scaler_rows``."""

    rows: int | None = None
    first: str | None = None
    last: str | None = None
    fingerprint: str | None = None
    source: str | None = None
    auto_adjust: bool | None = None
    scaler_rows: Period | None = None
    train: Period | None = None
    validation: Period | None = None
    test: Period | None = None
    split: dict[str, str] | None = None

    @classmethod
    def read(cls, value: Any) -> DataRecord:
        table = _table(value)
        rows, adjust, split = table.get("rows"), table.get("auto_adjust"), table.get("split")
        return cls(
            rows=rows if isinstance(rows, int) and not isinstance(rows, bool) else None,
            first=_text(table.get("first")),
            last=_text(table.get("last")),
            fingerprint=_text(table.get("fingerprint")),
            source=_text(table.get("source")),
            auto_adjust=adjust if isinstance(adjust, bool) else None,
            scaler_rows=Period.read(table.get("scaler_rows")),
            train=Period.read(table.get("train")),
            validation=Period.read(table.get("validation")),
            test=Period.read(table.get("test")),
            split=split if isinstance(split, dict) else None,
        )


@dataclass(frozen=True)
class Serving:
    """The network a bundle serves: the last days whose closes its weights and its
    calibration were fitted on, whether it is a refit, and the reason recorded for that."""

    trained_through: str | None
    calibrated_through: str | None
    refit: bool
    reason: str | None = None  # why refitted or not; bundles before the choice have none

    @property
    def seen_through(self) -> str | None:
        """The last day the served network or its calibration has seen: days after it are
        out of sample for the model the bundle serves."""
        days = [d for d in (self.trained_through, self.calibrated_through) if d]
        return max(days) if days else None

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        if self.reason is None:
            del record["reason"]
        return record


@dataclass(frozen=True)
class ScoredFit:
    """The fit the bundle's test scores are of. ``weights`` (a file of the bundle) with its
    ``scalers`` and ``calibration`` tables when it is saved apart from the served network
    (a refit bundle); else None and the bundle's own network is the scored fit."""

    trained_through: str | None
    calibrated_through: str | None
    weights: str | None = None
    scalers: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)

    def dates(self) -> dict[str, Any]:
        return {
            "trained_through": self.trained_through,
            "calibrated_through": self.calibrated_through,
        }


@dataclass(frozen=True)
class Member:
    """One member ticker of a global model: its bars when trained, its in-sample naive MAE
    (the denominator of MASE; None when unknown) and its test period."""

    first: str | None
    last: str | None
    fingerprint: str | None
    naive_scale: float | None
    test: Period | None

    @classmethod
    def read(cls, value: Any) -> Member:
        table = _table(value)
        return cls(
            _text(table.get("first")),
            _text(table.get("last")),
            _text(table.get("fingerprint")),
            _number(table.get("naive_scale")),
            Period.read(table.get("test")),
        )


@dataclass(frozen=True)
class Manifest:
    """A bundle's manifest. ``config`` is the recipe as a table
    (:func:`rnnforecast.config.config_from_dict` reads it), ``calibration`` the served
    network's (None in bundles saved before calibration existed), ``training`` the scored
    fit's history, ``metrics`` its test scores, ``members`` a global model's member tickers
    (None for one ticker's model), ``files`` the sha256 of every file of the bundle."""

    run_id: str
    ticker: str
    config: dict[str, Any]
    features: tuple[str, ...]
    window: int
    horizon: int
    data: DataRecord
    serving: Serving
    scored: ScoredFit
    calibration: dict[str, Any] | None = None
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    warm_start: dict[str, Any] | None = None
    created_at: str | None = None
    members: dict[str, Member] | None = None
    files: dict[str, str] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(
        cls,
        document: Any,
        where: Path | str,
        ticker: str | None = None,
        run_id: str | None = None,
        *,
        check_values: bool = True,
    ) -> Manifest:
        """The manifest of a JSON ``document``, checked: every entry in :data:`REQUIRED`
        present and (``check_values``) the ticker and run id those of the bundle's folders
        (when given), the calibration within its bounds. Raises ModelError naming ``where``
        and the value."""
        if not isinstance(document, dict):
            raise ModelError(f"{where}: manifest is not a JSON object")
        for key in REQUIRED:
            if key not in document:
                raise ModelError(f"{where}: manifest has no {key!r}")
        if check_values:
            _check_values(where, document, ticker, run_id)
        # The readers of old and new shapes in fits expect tables where tables belong.
        tables = {key: _table(document.get(key)) for key in ("data", "fits")}
        shaped = {**document, **tables}
        scored = fit_records.scored_record(shaped) or {}
        dates = fit_records.scored_dates(shaped)
        members = document.get("members")
        features = document["features"]
        return cls(
            run_id=str(document["run_id"]),
            ticker=str(document["ticker"]),
            config=_table(document["config"]),
            features=tuple(features) if isinstance(features, list) else (),
            window=document["window"],
            horizon=document["horizon"],
            data=DataRecord.read(document["data"]),
            serving=Serving(**fit_records.serving_record(shaped)),
            scored=ScoredFit(
                dates["trained_through"],
                dates["calibrated_through"],
                _text(scored.get("weights")),
                _table(scored.get("scalers")),
                _table(scored.get("calibration")),
            ),
            calibration=document.get("calibration"),
            training=_table(document.get("training")),
            metrics=_table(document.get("metrics")),
            warm_start=document.get("warm_start"),
            created_at=_text(document.get("created_at")),
            members=(
                {str(s): Member.read(r) for s, r in members.items()}
                if isinstance(members, dict)
                else None
            ),
            files=_table(document.get("files")),
            document=copy.deepcopy(document),
        )

    @classmethod
    def new(cls, document: dict[str, Any]) -> Manifest:
        """The manifest of a bundle about to be saved; its values are checked when it is
        loaded, as every bundle's are."""
        return cls.from_json(document, "a new manifest", check_values=False)

    def to_json(self) -> dict[str, Any]:
        """The JSON document of this manifest (a copy: the manifest stays frozen)."""
        return copy.deepcopy(self.document)

    def with_files(self, files: dict[str, str]) -> Manifest:
        """This manifest listing ``files`` (name: ``sha256:<hex>``) as the bundle's files."""
        document = copy.deepcopy(self.document)
        document["files"] = dict(files)
        return replace(self, files=dict(files), document=document)

    @property
    def test_scores(self) -> dict[str, Any]:
        """The scored fit's test metrics (``model``, ``naive``, ``beats_naive``, ...)."""
        return _table(self.metrics.get("test"))

    @property
    def best_epoch(self) -> int | None:
        """The epoch the scored fit kept (early stopping), if recorded."""
        best = self.training.get("best_epoch")
        return int(best) if isinstance(best, int) and not isinstance(best, bool) else None

    def period(self, name: str) -> Period:
        """The ``train``, ``validation``, ``test`` or ``scaler_rows`` period of the data.
        Raises ModelError if the manifest does not record it."""
        found = getattr(self.data, name)
        if not isinstance(found, Period):
            raise ModelError(f"run {self.run_id} of {self.ticker}: manifest has no data.{name}")
        return found


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _finite_list(value: Any, low: float, high: float) -> bool:
    """True if ``value`` is a non-empty list of finite numbers within [low, high]."""
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(
            isinstance(v, (int, float))
            and not isinstance(v, bool)
            and math.isfinite(v)
            and low <= v <= high
            for v in value
        )
    )


def _check_values(
    where: Path | str, manifest: dict[str, Any], ticker: str | None, run_id: str | None
) -> None:
    """The values a forecast relies on, checked against their bounds: the ticker and run id
    match the bundle's folders (a copied bundle would forecast another ticker's bars), the
    calibration's shrink factors lie in [0, 1], its interval half-widths are finite and
    non-negative (else low > high), its level in (0, 1).

    Raises ModelError naming the manifest and the value.
    """
    if ticker is not None and manifest.get("ticker") != ticker:
        raise ModelError(f"{where}: names ticker {manifest.get('ticker')!r}, not {ticker}")
    if run_id is not None and manifest.get("run_id") != run_id:
        raise ModelError(f"{where}: names run {manifest.get('run_id')!r}, not {run_id}")
    calibration = manifest.get("calibration")
    if calibration is None:
        return
    if not isinstance(calibration, dict):
        raise ModelError(f"{where}: calibration is not a table")
    level = calibration.get("level")
    if (
        not isinstance(level, (int, float))
        or isinstance(level, bool)
        or not (math.isfinite(level) and 0 < level < 1)
    ):
        raise ModelError(f"{where}: calibration.level must be in (0, 1), found {_shown(level)}")
    if not _finite_list(calibration.get("shrink"), 0.0, 1.0):
        raise ModelError(
            f"{where}: calibration.shrink must be numbers in [0, 1], "
            f"found {_shown(calibration.get('shrink'))}"
        )
    if not _finite_list(calibration.get("halfwidth"), 0.0, math.inf):
        raise ModelError(
            f"{where}: calibration.halfwidth must be finite numbers of 0 or more, "
            f"found {_shown(calibration.get('halfwidth'))}"
        )
