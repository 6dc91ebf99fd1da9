"""Promotion in the nightly `run`, decided by models that really differ: a champion with skill
on a learnable series against a challenger that has learnt nothing (one epoch at a tiny
learning rate, used raw: shrinkage off), and the other way round. The two recipes differ, so
the challenger must beat the current model on days that model never saw; the runs serve
their scored fits (``refit = false``) so that the challenger's test days are such days (a
refit sees every bar: tests/training/test_refit.py covers a changed recipe with nothing to
win on)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import LEARNABLE_CONFIG, cli

pytestmark = pytest.mark.slow

UNTRAINED = """\
[data]
features = ["close", "log_return"]
window = 10
test_fraction = 0.2
val_fraction = 0.2

[model]
units = 4
dense_units = 4

[train]
epochs = 1
batch_size = 8
learning_rate = 0.00001
seed = 7

[calibration]
shrink = false
intervals = "model"  # its own intervals around its own point, as the learnable recipe's
"""


def run_config(folder: Path, recipe: str, csv: Path, name: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(
        recipe
        + textwrap.dedent(
            f"""
            [run]
            keep = 5
            refit = false
            tickers = [{{ ticker = "LRN", source = "csv", path = "{csv.as_posix()}" }}]
            """
        )
    )
    return path


def nightly(config: Path, home: Path) -> dict[str, Any]:
    result = cli("run", "--config", str(config), "--json", home=home)
    assert result.exit_code == 0, result.stderr
    (outcome,) = json.loads(result.stdout)["tickers"]
    assert outcome["error"] is None
    return outcome


def current(home: Path) -> str:
    return (home / "models" / "LRN" / "current").read_text().strip()


@pytest.fixture(scope="module")
def weak_then_strong(learned: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A home where `run` first made an untrained model current, then ran the learnable
    recipe: the two outcomes and the home."""
    folder = tmp_path_factory.mktemp("promotion")
    home = folder / "home"
    weak = nightly(run_config(folder, UNTRAINED, learned["csv"], "weak"), home)
    strong = nightly(run_config(folder, LEARNABLE_CONFIG, learned["csv"], "strong"), home)
    return {"home": home, "weak": weak, "strong": strong}


def test_first_run_promotes_even_a_model_without_skill(weak_then_strong: dict) -> None:
    weak = weak_then_strong["weak"]
    assert weak["promoted"] is True and "no current model" in weak["reason"]
    assert weak["metrics"]["model"]["rel_mae"] > 1.1  # it has learnt nothing


def test_a_strictly_better_challenger_is_promoted(weak_then_strong: dict) -> None:
    weak, strong = weak_then_strong["weak"], weak_then_strong["strong"]
    assert strong["rows_added"] == 0
    assert strong["metrics"]["test"] == weak["metrics"]["test"]  # scored on the same days
    assert strong["metrics"]["model"]["rel_mae"] < 0.9
    assert strong["promoted"] is True
    assert strong["reason"].startswith("changed recipe; served 80% interval score ")
    assert "significantly beats the current model's" in strong["reason"]
    assert weak["run_id"] in strong["reason"]
    record = strong["promotion"]
    assert record["decision"] == "promoted" and record["p_value"] < 0.05
    assert record["challenger"]["mae"] < record["champion"]["mae"]
    assert record["challenger"]["interval_score_80"] < record["champion"]["interval_score_80"]
    assert current(weak_then_strong["home"]) == strong["run_id"]
    listing = json.loads(cli("models", "LRN", "--json", home=weak_then_strong["home"]).stdout)
    assert [r["run_id"] for r in listing["runs"]] == [weak["run_id"], strong["run_id"]]
    assert [r["current"] for r in listing["runs"]] == [False, True]


def test_a_strictly_worse_challenger_is_kept_out(learned: dict, learned_home: Path) -> None:
    champion = current(learned_home)
    before = json.loads(cli("predict", "LRN", "--json", home=learned_home).stdout)
    weak = nightly(run_config(learned_home.parent, UNTRAINED, learned["csv"], "weak"), learned_home)
    assert weak["metrics"]["model"]["rel_mae"] > 1.1
    assert weak["promoted"] is False
    assert weak["reason"].startswith("changed recipe; served 80% interval score ")
    assert "does not significantly beat the current model's" in weak["reason"]
    assert champion in weak["reason"]
    assert weak["promotion"]["decision"] == "kept" and weak["promotion"]["p_value"] > 0.5
    assert weak["reason"].endswith(": current model kept")
    assert current(learned_home) == champion
    assert json.loads(cli("predict", "LRN", "--json", home=learned_home).stdout) == before
    # The challenger is kept on disk, listed but not current.
    listing = json.loads(cli("models", "LRN", "--json", home=learned_home).stdout)
    assert [(r["run_id"], r["current"]) for r in listing["runs"]] == [
        (champion, True),
        (weak["run_id"], False),
    ]


def test_a_current_model_that_cannot_be_scored_is_replaced(
    learned: dict, learned_home: Path
) -> None:
    champion = current(learned_home)
    weights = learned_home / "models" / "LRN" / champion / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:-10])  # truncated: its checksum fails
    weak = nightly(run_config(learned_home.parent, UNTRAINED, learned["csv"], "weak"), learned_home)
    assert weak["promoted"] is True
    assert "cannot be scored" in weak["reason"] and champion in weak["reason"]
    assert current(learned_home) == weak["run_id"]
    assert cli("predict", "LRN", "--json", home=learned_home).exit_code == 0
