"""The edges of rnnforecast.risk.interval_choice and network_use that a mutation run (mutmut,
docs/tests.md) found untested: what pick_method records for each branch, a global member's
own file (saved, loaded, and the shared one it falls back to), the exact text saved, what
from_json refuses and names, the choice a fitted record keeps, the fewest bars served, and
the steps the own interval is named for."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from rnnforecast.errors import DataError
from rnnforecast.forecast.calibration import Calibration
from rnnforecast.risk import interval_choice as ic
from rnnforecast.risk.network_use import own_interval_name


def report(best: str | None, p: float | None, model: bool = True) -> Any:
    return SimpleNamespace(best_baseline=best, dm={"p_value": p}, model={} if model else None)


@pytest.mark.parametrize(
    ("pinned", "risk", "method", "reason"),
    [
        ("ewma", report("garch_t", 0.01), "ewma", "pinned by the recipe"),
        ("auto", None, "model", "no baseline could be scored on the test period"),
        (
            "auto",
            report("garch_t", None),
            "garch_t",
            "the network does not beat garch_t significantly (p none); garch_t is served",
        ),
        (
            "auto",
            report("har", 0.2),
            "har",
            "the network does not beat har significantly (p 0.2); har is served",
        ),
        (
            "auto",
            report("har", 0.01),
            "model",
            "the network's 80% interval score beats har's (p 0.01)",
        ),
    ],
)
def test_pick_method_records_why(pinned: str, risk: Any, method: str, reason: str) -> None:
    got = ic.pick_method(risk, pinned, 0.05)
    best = None if risk is None else risk.best_baseline
    p = None if risk is None else risk.dm["p_value"]
    expected = {"pinned": pinned != "auto", "best_baseline": best, "p_value": p}
    assert got == (method, {**expected, "significance": 0.05, "reason": reason})


GARCH = ic.IntervalRecord(
    "garch_t", 0.8, {"omega": 1e-6, "alpha": 0.05, "beta": 0.9, "nu": 6.0}, (-1.2, 1.2)
)


def test_a_members_own_file_and_the_shared_one(tmp_path: Path) -> None:
    member = ic.IntervalRecord("ewma", 0.8, {"lambda": 0.94, "seed_variance": 1e-4}, (-1.3, 1.3))
    ic.save(tmp_path, member, "AAA")
    text = (tmp_path / "intervals.AAA.json").read_text(encoding="utf-8")
    assert text == json.dumps(member.to_json(), indent=2) + "\n"
    assert not (tmp_path / ic.INTERVALS_FILE).exists()
    assert ic.load(tmp_path, "AAA") == member
    assert ic.load(tmp_path) is None  # no shared record
    assert ic.load(tmp_path, "BBB") is None
    ic.save(tmp_path, GARCH)
    assert ic.file_name() == ic.INTERVALS_FILE == "intervals.json"
    assert ic.file_name("AAA") == "intervals.AAA.json"
    assert ic.load(tmp_path, "BBB") == GARCH  # no file of its own: the shared one
    assert ic.load(tmp_path, "AAA") == member
    assert ic.load(tmp_path) == GARCH


def test_a_record_that_is_not_finite_is_not_saved(tmp_path: Path) -> None:
    bad = ic.IntervalRecord("garch_t", 0.8, {**GARCH.params, "omega": math.nan}, (-1.2, 1.2))
    with pytest.raises(ValueError, match="JSON compliant"):
        ic.save(tmp_path, bad)


def raw(**changes: Any) -> dict[str, Any]:
    return {**GARCH.to_json(), **changes}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"level": 0}, r"level must be in \(0, 1\), got 0.0"),
        (
            {"params": {**GARCH.params, "omega": "x"}},
            r"params.omega must be a finite number, got 'x'",
        ),
        ({"z": [1.0]}, r"z must be two numbers"),
        ({"z": ["a", 1.0]}, r"z\[0\] must be a finite number, got 'a'"),
        ({"z": [-1.0, None]}, r"z\[1\] must be a finite number, got None"),
        ({"z": [0.0, 1.0]}, r"z must be a negative then a positive quantile, got \[0.0, 1.0\]"),
        ({"z": [-1.0, 0.0]}, r"z must be a negative then a positive quantile, got \[-1.0, 0.0\]"),
    ],
)
def test_from_json_refuses_and_names(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        ic.IntervalRecord.from_json(raw(**changes))


def test_the_choice_round_trips() -> None:
    record = ic.IntervalRecord.from_json(raw(choice={"reason": "r", "p_value": 0.2}))
    assert record.choice == {"reason": "r", "p_value": 0.2}
    assert record.to_json()["choice"] == {"reason": "r", "p_value": 0.2}


def bars(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    return np.column_stack([close, close * 1.01, close * 0.99, close, np.full(n, 1e6)])


def test_a_fitted_record_keeps_its_choice_and_date() -> None:
    choice = {"reason": "pinned by the recipe"}
    own = ic.fit_record("model", bars(60), 60, 0.8, "2020-01-02", choice)
    assert own == ic.IntervalRecord("model", 0.8, choice=choice)
    # 60 rows: enough for ewma, not for the GARCHs (forecast_baselines asked for ewma only)
    fitted = ic.fit_record("ewma", bars(60), 60, 0.8, "2020-01-02", choice)
    assert (fitted.choice, fitted.fitted_through) == (choice, "2020-01-02")


def test_the_fewest_bars_served() -> None:
    record = ic.IntervalRecord("ewma", 0.8, {"lambda": 0.94, "seed_variance": 1e-4}, (-1.3, 1.3))
    assert ic.cumulative_quantiles(record, bars(3), 2).shape == (2, 2)  # 2 returns
    with pytest.raises(DataError, match=r"^ewma intervals need 3 stored bars, 2 are stored$"):
        ic.cumulative_quantiles(record, bars(2), 2)


def test_served_name_without_a_record() -> None:
    calibration = Calibration((0.0,), (1.0,), 0.8)
    assert ic.served_name(None, calibration) == "naive_conformal"


def test_the_own_interval_is_named_for_the_steps_served() -> None:
    """Shrink 0 on step 1, 0.5 on step 2: one step serves the last close (naive), two use the
    network's move."""
    calibration = Calibration((0.0, 0.5), (1.0, 1.0), 0.8)
    assert own_interval_name(calibration, 1) == "naive_conformal"
    assert own_interval_name(calibration, 2) == "conformal"
    assert own_interval_name(calibration) == "conformal"


def test_bounds_default_to_the_fixed_widths() -> None:
    record = ic.IntervalRecord("ewma", 0.8, {"lambda": 0.94, "seed_variance": 1e-4}, (-1.3, 1.3))
    rows, centre = bars(40), np.array([50.0, 51.0])
    q = ic.cumulative_quantiles(record, rows, 2)
    low, high = ic.bounds(record, rows, centre)
    np.testing.assert_allclose(low, centre * np.exp(q[:, 0]), rtol=1e-15)
    np.testing.assert_allclose(high, centre * np.exp(q[:, 1]), rtol=1e-15)
