"""``network_used`` and the network-free interval ``naive_conformal``: what the trained weights
shape in what a bundle serves, checked by swapping the weights for a constant network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import TINY_CONFIG, cli, current_bundle, reseal, trained_entry

from rnnforecast.forecast.calibration import Calibration
from rnnforecast.forecast.conformal import DEFAULT
from rnnforecast.risk.interval_choice import IntervalRecord
from rnnforecast.risk.network_use import NetworkUse, network_use, own_interval_name
from rnnforecast.storage.artifacts import sha256_file
from rnnforecast.storage.loading import INPUT_SHAPE_KEY

WEIGHT_FILES = ("weights.npz", "scored_weights.npz")


def point(*shrink: float, head: str = "point", adaptive: bool = False) -> Calibration:
    widths = tuple(1.0 for _ in shrink)
    return Calibration(shrink, widths, 0.8, head=head, adaptive=DEFAULT if adaptive else None)


@pytest.mark.parametrize(
    ("calibration", "record", "steps", "expected"),
    [
        (point(0.0), None, None, NetworkUse(False, False)),  # the naive close +- conformal
        (point(0.0), IntervalRecord("model", 0.8), None, NetworkUse(False, False)),
        (point(0.3), None, None, NetworkUse(True, True)),  # centred on the network's move
        (point(0.3), IntervalRecord("garch_t", 0.8), None, NetworkUse(True, False)),
        (point(0.0, head="distribution"), None, None, NetworkUse(False, True)),  # its scale
        (
            point(0.0, head="distribution"),
            IntervalRecord("ewma", 0.8),
            None,
            NetworkUse(False, False),
        ),
        (point(0.0, 0.4), None, 1, NetworkUse(False, False)),  # step 1 is naive
        (point(0.0, 0.4), None, None, NetworkUse(True, True)),
        (point(0.4, 0.0), None, 5, NetworkUse(True, True)),
    ],
)
def test_network_use(
    calibration: Calibration, record: IntervalRecord | None, steps: int | None, expected: NetworkUse
) -> None:
    assert network_use(calibration, record, steps) == expected


def test_own_interval_name() -> None:
    assert own_interval_name(point(0.0)) == "naive_conformal"
    assert own_interval_name(point(0.0, adaptive=True)) == "naive_conformal"
    assert own_interval_name(point(0.2)) == "conformal"
    assert own_interval_name(point(0.2, adaptive=True)) == "rolling_conformal"
    assert own_interval_name(point(0.0, head="distribution")) == "conformal"


# --- through the command line -----------------------------------------------------------------


def make_constant(bundle: Path) -> None:
    """Swap the bundle's networks (served and scored) for constant ones: every weight 0, so
    the output never depends on the input; the manifest's checksums are updated and resealed."""
    manifest_path = bundle / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for name in WEIGHT_FILES:
        path = bundle / name
        if not path.is_file():
            continue
        with np.load(path) as weights:
            arrays = {
                k: (v if k == INPUT_SHAPE_KEY else np.zeros_like(v)) for k, v in weights.items()
            }
        np.savez(path, **arrays)
        manifest["files"][name] = sha256_file(path)
    manifest_path.write_text(json.dumps(manifest))
    reseal(manifest_path)


def outputs(home: Path, ticker: str) -> dict[str, Any]:
    """predict, evaluate and models of ``ticker`` in ``home``, as JSON and as tables."""
    out: dict[str, Any] = {}
    for command in ("predict", "evaluate", "models"):
        result = cli(command, ticker, "--json", home=home)
        assert result.exit_code == 0, result.stderr
        out[command] = json.loads(result.stdout)
        human = cli(command, ticker, home=home)
        assert human.exit_code == 0, human.stderr
        out[f"{command}_text"] = human.stdout + human.stderr
    return out


def risk_rows(text: str) -> list[str]:
    lines = text.splitlines()
    header = lines.index("forecast\tIS80\tcov80\tIS95\tcov95\tQLIKE\tpinball")
    return [line.split("\t")[0] for line in lines[header + 1 : header + 9] if "\t" in line]


def test_a_constant_network_changes_nothing_served(
    trained: dict[str, Any], trained_home: Path
) -> None:
    """The tiny model's shrink is 0 and it serves its own interval: network_used says the
    weights shape neither number, and indeed a constant network serves the same numbers, and
    evaluate shows no ``model`` row."""
    bundle = current_bundle(trained_home, "TEST")
    assert json.loads((bundle / "manifest.json").read_text())["calibration"]["shrink"] == [0.0]
    none = {"price": False, "intervals": False}
    assert trained["train"]["network_used"] == none
    assert trained["train"]["interval_method"] == "naive_conformal"
    before = outputs(trained_home, "TEST")
    make_constant(bundle)
    after = outputs(trained_home, "TEST")
    for out in (before, after):
        assert out["predict"]["network_used"] == none
        assert out["predict"]["interval_method"] == "naive_conformal"
        assert out["evaluate"]["network_used"] == none
        assert out["models"]["runs"][-1]["network_used"] == none
        risk = out["evaluate"]["risk"]
        assert risk["model"] is None and risk["served_intervals"] == "naive_conformal"
        assert "naive_conformal" in risk["baselines"]
        rows = risk_rows(out["evaluate_text"])
        assert "naive_conformal (served)" in rows
        assert not any(row.startswith("model") for row in rows)
        assert "price: naive, the last close" in out["predict_text"]
        assert "range: naive_conformal" in out["predict_text"]
        assert "neither" in out["models_text"]
    # what network_used claims: the weights shape no number served, or evaluate's risk
    assert after["predict"]["forecasts"] == before["predict"]["forecasts"]
    assert after["evaluate"]["risk"] == before["evaluate"]["risk"]


def test_a_network_that_keeps_its_move_is_used(learned: dict[str, Any], learned_home: Path) -> None:
    """The learnable series keeps a shrink factor above 0 (its own interval pinned): the
    weights shape the price and the interval, evaluate shows the ``model`` row, and a
    constant network indeed serves other numbers."""
    assert learned["train"]["calibration"]["shrink"][0] > 0
    used = {"price": True, "intervals": True}
    assert learned["train"]["network_used"] == used
    before = outputs(learned_home, "LRN")
    assert before["predict"]["network_used"] == used
    assert before["evaluate"]["network_used"] == used
    assert before["models"]["runs"][-1]["network_used"] == used
    assert before["predict"]["interval_method"] == "rolling_conformal"
    risk = before["evaluate"]["risk"]
    assert risk["model"] is not None and "naive_conformal" not in risk["baselines"]
    assert risk_rows(before["evaluate_text"])[0] == "model (rolling_conformal)"
    assert "price: the network's move" in before["predict_text"]
    make_constant(current_bundle(learned_home, "LRN"))
    after = cli("predict", "LRN", "--json", home=learned_home)
    assert after.exit_code == 0, after.stderr
    shown, was = json.loads(after.stdout)["forecasts"][0], before["predict"]["forecasts"][0]
    assert shown["close"] != was["close"]
    assert (shown["low"], shown["high"]) != (was["low"], was["high"])


def test_a_distribution_head_shapes_the_interval(tmp_path: Path, home: Path) -> None:
    """A distribution head's scale sets its widths even when its move is shrunk to naive:
    intervals true, price as its shrink says; a constant network serves other widths (and,
    with shrink 0, the same close)."""
    from conftest import make_prices

    csv, config = tmp_path / "p.csv", tmp_path / "tiny.toml"
    make_prices(300, seed=3).to_csv(csv)
    config.write_text(TINY_CONFIG)
    assert cli("fetch", "DST", "--csv", str(csv)).exit_code == 0
    result = cli(
        "train", "DST", "--config", str(config), "--set", "model.head=distribution", "--json"
    )
    assert result.exit_code == 0, result.stderr
    train = trained_entry(result.stdout)
    price = any(f > 0 for f in train["calibration"]["shrink"])
    assert train["network_used"] == {"price": price, "intervals": True}
    assert train["interval_method"] == "rolling_conformal"
    before = json.loads(cli("predict", "DST", "--json").stdout)
    assert before["network_used"] == {"price": price, "intervals": True}
    evaluated = json.loads(cli("evaluate", "DST", "--json").stdout)
    assert evaluated["risk"]["model"] is not None
    make_constant(current_bundle(home, "DST"))
    after = json.loads(cli("predict", "DST", "--json").stdout)
    shown, was = after["forecasts"][0], before["forecasts"][0]
    assert (shown["high"] / shown["close"]) != pytest.approx(was["high"] / was["close"])
    if not price:
        assert shown["close"] == was["close"]
