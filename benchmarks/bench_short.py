"""Short histories: the default recipe trained on the bundled GOOG sample cut to its last N rows.

For each ``--rows`` count and each ``--seeds`` seed, two runs of the command line in a fresh
home: the default recipe as it is (its batch of 128 adapted by the rule of
``rnnforecast.training.batches``: 32 at 504 and 756 rows, the learning rate scaled alike to
0.001), and the same batch with the recipe's learning rate kept (``--set
train.batch_size=32``: a recipe batch of 32 is not adapted, so 0.004 stays). Each run is, from
the repository root (``HOME_DIR`` a new folder, ``cut.csv`` the sample's header and last N
rows)::

    rnnforecast --home HOME_DIR fetch GOOG --csv cut.csv
    rnnforecast --home HOME_DIR train GOOG --config configs/default.toml --set train.seed=S --json
    rnnforecast --home HOME_DIR evaluate GOOG --json

Printed: the batch used, epochs run and kept, and the scored fit's test figures next to the
naive forecast (rel_mae = MAE over naive's MAE; uncalibrated: before the shrink toward naive;
MASE; 80% interval coverage of what is served).

    python benchmarks/bench_short.py                          # 504 and 756 rows, seeds 42 7 1
    python benchmarks/bench_short.py --rows 504 --seeds 42
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "rnnforecast" / "data" / "GOOG.csv"
VARIANTS = {
    "default (lr scaled, 0.001)": [],
    "lr kept (0.004)": ["--set", "train.batch_size=32"],
}


def cli(home: Path, *args: str) -> dict[str, Any]:
    """Run ``rnnforecast --home home ARGS`` and return its JSON output."""
    command = [sys.executable, "-m", "rnnforecast", "--home", str(home), *args]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout) if "--json" in args else {}


def one_run(folder: Path, rows: int, seed: int, extra: list[str]) -> dict[str, Any]:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    cut = folder / "cut.csv"
    cut.write_text("\n".join([lines[0], *lines[-rows:]]) + "\n", encoding="utf-8")
    home = folder / "home"
    cli(home, "fetch", "GOOG", "--csv", str(cut))
    config = ["--config", "configs/default.toml", "--set", f"train.seed={seed}", *extra]
    trained = cli(home, "train", "GOOG", *config, "--json")["tickers"][0]
    scored = cli(home, "evaluate", "GOOG", "--json")
    return {
        "batch": trained["batch_size"]["used"],
        "epochs": f"{trained['best_epoch']}/{trained['epochs_run']}",
        "rel_mae": scored["model"]["rel_mae"],
        "uncalibrated_rel_mae": scored["uncalibrated"]["rel_mae"],
        "mase": scored["model"]["mase"],
        "naive_mase": scored["naive"]["mase"],
        "coverage80": scored["intervals"]["coverage"],
        "test_windows": scored["test"]["n"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[504, 756])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 7, 1])
    args = parser.parse_args()
    keys = ["batch", "epochs", "rel_mae", "uncalibrated_rel_mae", "mase", "naive_mase"]
    keys += ["coverage80", "test_windows"]
    print("\t".join(["rows", "variant", "seed", *keys]))
    for rows in args.rows:
        for seed in args.seeds:
            for name, extra in VARIANTS.items():
                with tempfile.TemporaryDirectory() as folder:
                    result = one_run(Path(folder), rows, seed, extra)
                cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in result.values()]
                print("\t".join([str(rows), name, str(seed), *cells]), flush=True)


if __name__ == "__main__":
    main()
