"""Golden outputs of the command line, recorded before the package is restructured.

The refactor into subpackages must not change what the CLI computes. This script runs the
CLI only as a user would, ``python -m rnnforecast ...`` in a subprocess with a fresh home
folder, never importing rnnforecast (its module paths are what changes), and writes one
JSON document of the results with everything that depends on the run rather than on the
code replaced by placeholders: run ids, timestamps, timings, the temporary folder, version
strings, and what depends on today's date (``stale_sessions``, the stale-bars warning).
Every number a model produces is kept, in the order the CLI prints it.

Scenarios (a tiny recipe, ``RECIPE``, with the served-interval choice left on "auto"):

* ``sample``: the bundled GOOG sample; ``train --set train.seed=42``, ``evaluate``,
  ``predict --horizon 1`` and ``predict``, and the saved bundle's manifest.
* ``group``: two synthetic random walks AAA and BBB imported from CSV files; one global
  model ``train AAA BBB --global --name G``, ``evaluate @G``, ``evaluate AAA``,
  ``predict AAA``, and the group bundle's manifest.

Usage (from the repository root; this tree's ``rnnforecast`` is put first on the path)::

    python tools/golden.py                 # print the normalised outputs on stdout
    python tools/golden.py --write         # record them in tests/golden/outputs.json
    python tools/golden.py --check         # compare with the record; exit 1 at a difference
    python tools/golden.py --output FILE   # write them to FILE
    python tools/golden.py --workdir DIR   # work in DIR (kept) instead of a temporary folder

tests/test_golden.py runs :func:`record` and compares with :func:`first_difference`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "tests" / "golden" / "outputs.json"

# Floats are compared within these tolerances: on one machine two runs give bit-identical
# numbers (TensorFlow's deterministic kernels, fixed seeds); another CPU or BLAS may round
# differently in the last bits.
REL_TOL = 1e-6
ABS_TOL = 1e-9

# tests/conftest.py's TINY_CONFIG, except that the served intervals are chosen ("auto", the
# default) among the network's and the volatility baselines' (GARCH...), so that choice and
# the baselines' fits are part of the record. The seed stays 7: the sample scenario sets 42
# with --set, so the override path is recorded too.
RECIPE = """\
[data]
window = 10
test_fraction = 0.2
val_fraction = 0.2

[model]
units = 4
dense_units = 4

[train]
epochs = 2
batch_size = 16
patience = 1
seed = 7

[calibration]
intervals = "auto"
"""

# (ticker, numpy seed) of the synthetic series of the group scenario.
SYNTHETIC = (("AAA", 11), ("BBB", 12))
SYNTHETIC_ROWS = 400

SUBPROCESS_TIMEOUT = 900  # seconds for one CLI call: generous, a hang must still end

# --- what is replaced, and by what ------------------------------------------------------------

RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")
# predict's notice that sessions have closed since the last bar: its count is the clock's.
STALE = re.compile(r"is \d+ sessions? old")
# Keys whose values are durations: train_seconds, seconds, fit_seconds, timings...
TIMING_KEY = re.compile(r"seconds|(?:^|_)time(?:s|d|stamp)?(?:$|_)|^timings$")
# Keys whose values depend on the run, not the code: the whole value is replaced.
PLACEHOLDER_KEYS = {
    "created_at": "<timestamp>",
    "versions": "<versions>",
    "version": "<version>",
    "stale_sessions": "<sessions>",
    # sha256 of the bundle's files: model.keras records its save date and train.log its
    # times, so these differ between identical runs; the numbers inside are recorded anyway.
    "files": "<file hashes>",
}


class GoldenError(RuntimeError):
    """A CLI call failed or printed something that is not one JSON document."""


# --- inputs -----------------------------------------------------------------------------------


def synthetic_bars(seed: int, rows: int = SYNTHETIC_ROWS) -> pd.DataFrame:
    """A geometric random walk of daily OHLCV bars on weekdays from 2021-01-04 (as
    tests/conftest.py's make_prices; weekday holidays included, as a CSV may have them)."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, rows)))
    open_ = close * np.exp(rng.normal(0, 0.005, rows))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, rows))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, rows))
    volume = rng.integers(1_000_000, 5_000_000, rows).astype(float)
    index = pd.bdate_range("2021-01-04", periods=rows, name="Date")
    return pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume}, index=index
    )


def write_inputs(workdir: Path) -> Path:
    """Write the recipe and the synthetic CSV files into ``workdir``; the recipe's path."""
    workdir.mkdir(parents=True, exist_ok=True)
    recipe = workdir / "recipe.toml"
    recipe.write_text(RECIPE)
    for ticker, seed in SYNTHETIC:
        synthetic_bars(seed).to_csv(workdir / f"{ticker}.csv")
    return recipe


# --- running the CLI --------------------------------------------------------------------------


def cli_environment(home: Path) -> dict[str, str]:
    """The child's environment: this tree's package first on the path (a venv may hold an
    editable install of another checkout), the home in RNNFORECAST_HOME as well as --home,
    no debug tracebacks, a fixed hash seed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["RNNFORECAST_HOME"] = str(home)
    env.pop("RNNFORECAST_DEBUG", None)
    env["PYTHONHASHSEED"] = "0"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def run_cli(home: Path, *args: str) -> str:
    """``python -m rnnforecast --home HOME ARGS`` in a subprocess; its stdout. Raises
    GoldenError, with stderr, on a non-zero exit."""
    command = [sys.executable, "-m", "rnnforecast", "--home", str(home), *args]
    done = subprocess.run(
        command,
        cwd=home.parent,  # not the repository: nothing the CLI writes lands there
        env=cli_environment(home),
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise GoldenError(
            f"rnnforecast {' '.join(args)} exited {done.returncode}:\n{done.stderr[-4000:]}"
        )
    return done.stdout


def cli_json(home: Path, *args: str) -> Any:
    """The one JSON document that ``rnnforecast ARGS`` (with --json) prints."""
    text = run_cli(home, *args)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise GoldenError(f"rnnforecast {' '.join(args)} printed no JSON: {text[:500]!r}") from exc


def current_manifest(home: Path, name: str) -> Any:
    """The manifest of the current bundle of ``name`` (a ticker, or @GROUP), read from the
    home's models/NAME/current pointer."""
    folder = home / "models" / name
    run = (folder / "current").read_text().strip()
    return json.loads((folder / run / "manifest.json").read_text())


# --- scenarios --------------------------------------------------------------------------------


def sample_scenario(home: Path, recipe: Path) -> dict[str, Any]:
    """The bundled GOOG sample through fetch, train (seed 42), evaluate and predict."""
    return {
        "fetch": cli_json(home, "fetch", "--sample", "--json"),
        "train": cli_json(
            home, "train", "GOOG", "--config", str(recipe), "--set", "train.seed=42", "--json"
        ),
        "evaluate": cli_json(home, "evaluate", "GOOG", "--json"),
        "predict_horizon_1": cli_json(home, "predict", "GOOG", "--json", "--horizon", "1"),
        "predict": cli_json(home, "predict", "GOOG", "--json"),
        "manifest": current_manifest(home, "GOOG"),
    }


def group_scenario(home: Path, recipe: Path) -> dict[str, Any]:
    """AAA and BBB from CSV files, one global model @G, evaluated and served."""
    fetched = {
        f"fetch_{ticker}": cli_json(
            home, "fetch", ticker, "--csv", str(recipe.parent / f"{ticker}.csv"), "--json"
        )
        for ticker, _ in SYNTHETIC
    }
    tickers = [ticker for ticker, _ in SYNTHETIC]
    return {
        **fetched,
        "train": cli_json(
            home, "train", *tickers, "--global", "--name", "G", "--config", str(recipe), "--json"
        ),
        "evaluate_group": cli_json(home, "evaluate", "@G", "--json"),
        "evaluate_AAA": cli_json(home, "evaluate", "AAA", "--json"),
        "predict_AAA": cli_json(home, "predict", "AAA", "--json"),
        "manifest": current_manifest(home, "@G"),
    }


def record(workdir: Path) -> dict[str, Any]:
    """Run every scenario in ``workdir`` (a new or empty folder; the home is its ``home``
    subfolder) and return the normalised outputs."""
    recipe = write_inputs(workdir)
    home = workdir / "home"
    raw = {"sample": sample_scenario(home, recipe), "group": group_scenario(home, recipe)}
    outputs: dict[str, Any] = {"recipe": RECIPE}
    outputs.update(normalise(raw, workdir))
    return outputs


# --- normalising ------------------------------------------------------------------------------


def normalise_text(text: str, workdir: Path) -> str:
    """``text`` with the work folder, run ids, timestamps and stale-session counts replaced."""
    # The resolved spelling too (a symlinked /tmp), the longer prefix first.
    for prefix in sorted({str(workdir.resolve()), str(workdir)}, key=len, reverse=True):
        text = text.replace(prefix, "<workdir>")
    text = RUN_ID.sub("<run_id>", text)
    text = TIMESTAMP.sub("<timestamp>", text)
    return STALE.sub("is <sessions> sessions old", text)


def normalise(value: Any, workdir: Path) -> Any:
    """``value`` (parsed JSON) with what depends on the run replaced by placeholders: values
    of timing keys and of PLACEHOLDER_KEYS, and in every string (keys too) the work folder,
    run ids, timestamps and stale-session counts. Key order and list order are kept."""
    if isinstance(value, dict):
        return {
            normalise_text(key, workdir): normalise_value(key, item, workdir)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [normalise(item, workdir) for item in value]
    if isinstance(value, str):
        return normalise_text(value, workdir)
    return value


def normalise_value(key: str, value: Any, workdir: Path) -> Any:
    """The value under ``key``: a placeholder for a run-dependent key, else normalised."""
    if key in PLACEHOLDER_KEYS:
        return PLACEHOLDER_KEYS[key]
    if TIMING_KEY.search(key):
        return "<timing>"
    return normalise(value, workdir)


# --- comparing --------------------------------------------------------------------------------


def _step(path: str, key: str) -> str:
    """The JSON path of ``key`` under ``path``: $.a.b, or $["intervals.AAA.json"]."""
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{json.dumps(key)}]"


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 200 else text[:200] + "..."


def _json_type(value: Any) -> str:
    """The JSON kind of a parsed value; int and float apart (1 and 1.0 print differently)."""
    return type(value).__name__


def first_difference(expected: Any, actual: Any, path: str = "$") -> str | None:
    """None if ``actual`` matches ``expected``, else a message naming the JSON path of the
    first difference and both values. Keys (in order), list lengths, strings, ints, bools
    and None must be equal; floats within REL_TOL / ABS_TOL."""
    if _json_type(expected) != _json_type(actual):
        return f"{path}: expected {_show(expected)}, got {_show(actual)} (another JSON type)"
    if isinstance(expected, dict):
        return _dict_difference(expected, actual, path)
    if isinstance(expected, list):
        return _list_difference(expected, actual, path)
    if isinstance(expected, float):
        same = math.isclose(expected, actual, rel_tol=REL_TOL, abs_tol=ABS_TOL)
        return None if same else f"{path}: expected {expected!r}, got {actual!r}"
    if expected != actual:
        return f"{path}: expected {_show(expected)}, got {_show(actual)}"
    return None


def _dict_difference(expected: dict[str, Any], actual: dict[str, Any], path: str) -> str | None:
    if list(expected) != list(actual):
        missing = [k for k in expected if k not in actual]
        extra = [k for k in actual if k not in expected]
        return (
            f"{path}: keys differ (missing {missing}, unexpected {extra}; order counts): "
            f"expected {list(expected)}, got {list(actual)}"
        )
    for key in expected:
        found = first_difference(expected[key], actual[key], _step(path, key))
        if found:
            return found
    return None


def _list_difference(expected: list[Any], actual: list[Any], path: str) -> str | None:
    if len(expected) != len(actual):
        return (
            f"{path}: expected {len(expected)} items, got {len(actual)}: "
            f"expected {_show(expected)}, got {_show(actual)}"
        )
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        found = first_difference(want, got, f"{path}[{index}]")
        if found:
            return found
    return None


# --- command line -----------------------------------------------------------------------------


def dumps(outputs: dict[str, Any]) -> str:
    return json.dumps(outputs, indent=2, allow_nan=False) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--write", action="store_true", help=f"record in {RECORDED}")
    what.add_argument("--check", action="store_true", help="compare with the record")
    what.add_argument("--output", type=Path, help="write the outputs to this file")
    parser.add_argument("--workdir", type=Path, help="work here (new or empty; kept)")
    return parser.parse_args(argv)


def run(workdir: Path | None) -> dict[str, Any]:
    """:func:`record` in ``workdir``, or in a temporary folder removed afterwards."""
    if workdir is not None:
        if workdir.exists() and any(workdir.iterdir()):
            raise GoldenError(f"{workdir} is not empty: the home must be fresh")
        return record(workdir)
    with tempfile.TemporaryDirectory(prefix="rnnforecast-golden-") as folder:
        return record(Path(folder))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    outputs = run(args.workdir)
    if args.check:
        found = first_difference(json.loads(RECORDED.read_text()), outputs)
        print(found or f"same as {RECORDED}")
        return 1 if found else 0
    target = RECORDED if args.write else args.output
    if target is None:
        sys.stdout.write(dumps(outputs))
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dumps(outputs))
    print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
