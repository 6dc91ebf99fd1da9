"""The CLI's outputs against the golden record taken before the package was restructured.

tests/golden/outputs.json was written by ``python tools/golden.py --write`` from the code
as it stood before the refactor into subpackages: the bundled GOOG sample and a global
group of two synthetic tickers, through fetch, train, evaluate and predict, with the
bundles' manifests, run by ``python -m rnnforecast`` in a subprocess (so no module path of
rnnforecast is named here) and normalised: run ids, timestamps, timings, the temporary
folder, version strings and what depends on today's date are placeholders.

On the machine that recorded it, two runs in a row gave byte-identical documents, every
float bit for bit (fixed seeds, TensorFlow's deterministic kernels). Floats are still
compared within a relative tolerance of 1e-6 (absolute 1e-9) so that another CPU or BLAS,
rounding differently in the last bits, does not fail the test; everything else (keys and
their order, list lengths, strings, ints, bools, None) must be equal.

After a deliberate change of behaviour, record again with ``python tools/golden.py --write``
and say why in the commit.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from conftest import REPO

TOOL = REPO / "tools" / "golden.py"


def load_tool() -> ModuleType:
    """tools/golden.py imported by its path (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("golden_tool", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


golden = load_tool()


@pytest.mark.slow
def test_outputs_match_the_golden_record(tmp_path: Path) -> None:
    recorded = json.loads(golden.RECORDED.read_text())
    # Its own work folder and home, passed to the CLI with --home (not the autouse home).
    actual = golden.record(tmp_path / "golden")
    difference = golden.first_difference(recorded, actual)
    assert difference is None, f"differs from {golden.RECORDED.name}: {difference}"


# --- the comparison and the normalisation themselves (fast) ----------------------------------


def test_first_difference_names_the_path_and_both_values() -> None:
    expected = {"a": [{"x": 1.0}, {"y": 2.0, "intervals.AAA.json": "s"}]}
    assert golden.first_difference(expected, json.loads(json.dumps(expected))) is None
    assert golden.first_difference(expected, {"a": [{"x": 1.0 + 1e-9}, expected["a"][1]]}) is None
    changed = {"a": [{"x": 1.0}, {"y": 2.001, "intervals.AAA.json": "s"}]}
    assert golden.first_difference(expected, changed) == "$.a[1].y: expected 2.0, got 2.001"
    renamed = {"a": [{"x": 1.0}, {"y": 2.0, "intervals.AAA.json": "t"}]}
    assert golden.first_difference(expected, renamed) == (
        '$.a[1]["intervals.AAA.json"]: expected "s", got "t"'
    )


@pytest.mark.parametrize(
    ("expected", "actual", "says"),
    [
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}, "keys differ"),
        ({"a": [1, 2]}, {"a": [1]}, "expected 2 items, got 1"),
        ({"a": 1}, {"a": 1.0}, "another JSON type"),
        ({"a": True}, {"a": 1}, "another JSON type"),
        ({"a": None}, {"a": 0.0}, "another JSON type"),
    ],
)
def test_structure_must_be_equal(expected: object, actual: object, says: str) -> None:
    difference = golden.first_difference(expected, actual)
    assert difference is not None and says in difference


def test_normalise_replaces_what_depends_on_the_run(tmp_path: Path) -> None:
    run = "20261127T145522Z-e71d05"
    raw = {
        "run_id": run,
        "path": f"{tmp_path}/home/models/GOOG/{run}",
        "created_at": "2026-11-27T14:55:22+00:00",
        "train_seconds": 1.5,
        "timings": {"fit_seconds": 1.0},
        "stale_sessions": 12,
        "versions": {"rnnforecast": "0.1.0"},
        "warnings": ["GOOG: last bar 2013-03-01 is 12 sessions old; run `rnnforecast fetch`"],
        "model": {"rmse": 10.5, "last": "2013-03-01"},
    }
    assert golden.normalise(raw, tmp_path) == {
        "run_id": "<run_id>",
        "path": "<workdir>/home/models/GOOG/<run_id>",
        "created_at": "<timestamp>",
        "train_seconds": "<timing>",
        "timings": "<timing>",
        "stale_sessions": "<sessions>",
        "versions": "<versions>",
        "warnings": [
            "GOOG: last bar 2013-03-01 is <sessions> sessions old; run `rnnforecast fetch`"
        ],
        "model": {"rmse": 10.5, "last": "2013-03-01"},
    }
