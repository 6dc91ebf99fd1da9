"""Start-up: wall time and peak memory of rnnforecast commands, each run as a fresh process.

Every figure is shown next to the baseline ``python -c "import tensorflow"`` measured in the
same invocation, as a ratio, because absolute times on a shared machine are noisy. Commands:

    (a) python -c "import tensorflow"          the baseline
    (b) rnnforecast --help
    (c) rnnforecast fetch --sample              into a fresh, empty home each time
    (d) rnnforecast predict GOOG --json         numpy forward pass (weights.npz)
        and with --horizon 22: the served fan 22 sessions ahead (GARCH simulated in numpy)
    (e) the same, without weights.npz           forces the Keras fallback
    (f) rnnforecast evaluate GOOG --json        numpy forward pass

The model for (d)-(f) is trained once at start-up through the CLI (``fetch --sample``, then
``train GOOG --config configs/smoke.toml``) into a temporary home; (e) uses a copy of that
home whose bundle lost weights.npz and its entry in manifest.json "files".

How it measures: each command is started with ``subprocess.Popen`` and reaped with
``os.wait4(pid)``, which returns the resource usage of that one child only, so
``ru_maxrss`` is the child's own peak resident set (unlike ``RUSAGE_CHILDREN``, which is a
running maximum over every child reaped so far; and unlike ``/usr/bin/time`` it needs no
extra process or output parsing). Peak memory is shown in MB of 10**6 bytes. Wall time is
``time.perf_counter`` around spawn and reap. The ``--repeat`` runs go round-robin over the
commands, so load from other jobs spreads over all of them, and the table shows medians
(and the min-max range).

Also printed: a breakdown of predict (interpreter, CLI import, then in a fresh process the
import of rnnforecast.jobs.prediction, ``loading.load``, ``Loaded.fitted`` and the forward
pass timed with ``time.perf_counter``) and the import time of ``--help`` and predict per
top-level package, from ``python -X importtime`` (self times summed per package; importtime
itself adds some overhead, so read these as shares).

    python benchmarks/bench_startup.py              # 5 runs of each command
    python benchmarks/bench_startup.py --repeat 9
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TICKER = "GOOG"
BASELINE = 'python -c "import tensorflow"'
HELP_TARGET = 0.05  # issue: --help within 5% of the time of `python -c "import tensorflow"`
PREDICT_TARGET = 0.15  # issue: predict at most 15% of it ...
PREDICT_MEMORY_TARGET_MB = 150.0  # ... and under 150 MB peak (MB: 10**6 bytes)

# Runs `rnnforecast --home HOME predict TICKER --json` in a fresh interpreter, timing its
# pieces with time.perf_counter: the library's own functions are wrapped, not changed.
PREDICT_PROBE = """
import contextlib, io, json, sys, time
t0 = time.perf_counter()
import rnnforecast.cli.commands
t1 = time.perf_counter()
from rnnforecast.jobs import prediction
t2 = time.perf_counter()
spent = {"load": 0.0, "network": 0.0, "forward": 0.0}
def timed(key, function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - started
    return wrapper
from rnnforecast.forecast.fitted import FittedModel
from rnnforecast.storage.loading import Loaded
prediction.load = timed("load", prediction.load)
Loaded.fitted = timed("network", Loaded.fitted)
FittedModel.forecast = timed("forward", FittedModel.forecast)
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = rnnforecast.cli.commands.app(
        ["--home", sys.argv[1], "predict", sys.argv[2], "--json"], standalone_mode=False
    )
t3 = time.perf_counter()
assert code == 0 and json.loads(out.getvalue())["forecasts"], (code, out.getvalue())
print(json.dumps({"cli": t1 - t0, "serving": t2 - t1, "app": t3 - t2, "total": t3 - t0,
                  **spent}))
"""


def rnnforecast_command() -> list[str]:
    """The console script next to this interpreter, else ``python -m rnnforecast``."""
    script = Path(sys.executable).parent / "rnnforecast"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "rnnforecast"]


def run(command: list[str]) -> tuple[float, float, str, str]:
    """Run ``command`` once; return (wall seconds, peak RSS in MB, stdout, stderr).

    Raises SystemExit with the command's stderr if it fails.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=REPO)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        raise SystemExit(
            f"command failed (exit {process.returncode}): {' '.join(command)}\n{stderr[-2000:]}"
        )
    # ru_maxrss is in KiB on Linux, in bytes on macOS; reported in MB (10**6 bytes).
    peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024) / 1e6
    return wall, peak, stdout, stderr


def prepare(cli: list[str], root: Path, config: Path) -> tuple[Path, Path]:
    """Train the smoke model into ``root/numpy``; copy it to ``root/keras`` without
    weights.npz (so that predict falls back to Keras). Returns both homes."""
    home = root / "numpy"
    started = time.perf_counter()
    run([*cli, "--home", str(home), "fetch", "--sample", "--json"])
    run([*cli, "--home", str(home), "train", TICKER, "--config", str(config), "--quiet"])
    print(f"trained the {config.name} model in {time.perf_counter() - started:.1f} s (setup)")
    keras_home = root / "keras"
    shutil.copytree(home, keras_home)
    models = keras_home / "models" / TICKER
    bundle = models / (models / "current").read_text().strip()
    (bundle / "weights.npz").unlink()
    manifest = json.loads((bundle / "manifest.json").read_text())
    del manifest["files"]["weights.npz"]
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    # the manifest's own checksum, as a deliberate editor would record it
    from rnnforecast.storage.artifacts import MANIFEST_SUM_FILE, sha256_file

    (bundle / MANIFEST_SUM_FILE).write_text(sha256_file(bundle / "manifest.json") + "\n")
    return home, keras_home


def import_shares(command: list[str], repeat: int) -> tuple[dict[str, float], float]:
    """Median import self-time (seconds) per top-level package under -X importtime, and the
    median total."""
    stdlib = set(sys.stdlib_module_names)
    per_run: list[dict[str, float]] = []
    for _ in range(repeat):
        _, _, _, stderr = run([sys.executable, "-X", "importtime", *command])
        sums: dict[str, float] = defaultdict(float)
        for line in stderr.splitlines():
            match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
            if match:
                root = match[2].split(".")[0]
                group = "(stdlib)" if root in stdlib or root.startswith("_") else root
                sums[group] += int(match[1]) / 1e6
        per_run.append(sums)
    names = {name for sums in per_run for name in sums}
    medians = {name: statistics.median(s.get(name, 0.0) for s in per_run) for name in names}
    total = statistics.median(sum(s.values()) for s in per_run)
    return medians, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (default 5)")
    parser.add_argument(
        "--config",
        type=Path,
        default=REPO / "configs" / "smoke.toml",
        help="recipe of the model trained at start-up (default configs/smoke.toml)",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    cli = rnnforecast_command()
    python = sys.executable

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        root = Path(tmp)
        home, keras_home = prepare(cli, root, args.config.resolve())
        fresh_homes = iter(root / f"fetch-{i}" for i in range(10**6))
        cases = {
            BASELINE: lambda: [python, "-c", "import tensorflow"],
            "rnnforecast --help": lambda: [*cli, "--help"],
            "rnnforecast fetch --sample": lambda: [
                *cli,
                "--home",
                str(next(fresh_homes)),
                "fetch",
                "--sample",
                "--json",
            ],
            "rnnforecast predict GOOG --json": lambda: [
                *cli,
                "--home",
                str(home),
                "predict",
                TICKER,
                "--json",
            ],
            "rnnforecast predict GOOG --horizon 22 --json": lambda: [
                *cli,
                "--home",
                str(home),
                "predict",
                TICKER,
                "--horizon",
                "22",
                "--json",
            ],
            "  same, Keras fallback": lambda: [
                *cli,
                "--home",
                str(keras_home),
                "predict",
                TICKER,
                "--json",
            ],
            "rnnforecast evaluate GOOG --json": lambda: [
                *cli,
                "--home",
                str(home),
                "evaluate",
                TICKER,
                "--json",
            ],
            # For the breakdown of predict.
            'python -c "pass"': lambda: [python, "-c", "pass"],
            'python -c "import rnnforecast.cli.commands"': lambda: [
                python,
                "-c",
                "import rnnforecast.cli.commands",
            ],
            "probe": lambda: [python, "-c", PREDICT_PROBE, str(home), TICKER],
        }
        walls: dict[str, list[float]] = defaultdict(list)
        peaks: dict[str, list[float]] = defaultdict(list)
        probes: list[dict[str, float]] = []
        outputs: dict[str, str] = {}
        for _ in range(args.repeat):
            for name, command in cases.items():
                wall, peak, stdout, _ = run(command())
                walls[name].append(wall)
                peaks[name].append(peak)
                outputs[name] = stdout
                if name == "probe":
                    probes.append(json.loads(stdout))

        shares = {
            "--help": import_shares(["-m", "rnnforecast", "--help"], args.repeat),
            "predict": import_shares(
                ["-m", "rnnforecast", "--home", str(home), "predict", TICKER, "--json"],
                args.repeat,
            ),
        }

    med = {name: statistics.median(values) for name, values in walls.items()}
    peak = {name: statistics.median(values) for name, values in peaks.items()}
    baseline = med[BASELINE]
    targets = {
        "rnnforecast --help": lambda r, m: (f"ratio <= {HELP_TARGET}", r <= HELP_TARGET),
        "rnnforecast predict GOOG --json": lambda r, m: (
            f"ratio <= {PREDICT_TARGET}, < {PREDICT_MEMORY_TARGET_MB:.0f} MB",
            r <= PREDICT_TARGET and m < PREDICT_MEMORY_TARGET_MB,
        ),
        "rnnforecast predict GOOG --horizon 22 --json": lambda r, m: (
            f"ratio <= {PREDICT_TARGET}, < {PREDICT_MEMORY_TARGET_MB:.0f} MB",
            r <= PREDICT_TARGET and m < PREDICT_MEMORY_TARGET_MB,
        ),
    }

    print(
        f"\n{args.repeat} runs of each command, fresh process each, round-robin; "
        f"medians (min-max). {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f} at the end."
    )
    header = (
        f"{'command':<44} {'median s':>9} {'min-max s':>13} {'vs import tf':>13} "
        f"{'peak MB':>9}  target"
    )
    print(header)
    print("-" * len(header))
    for name in list(cases)[:7]:
        ratio = med[name] / baseline
        low, high = min(walls[name]), max(walls[name])
        target = ""
        if name in targets:
            text, met = targets[name](ratio, peak[name])
            target = f"{text}: {'met' if met else 'NOT met'}"
        elif name == "  same, Keras fallback":
            target = "(no target; shows what the numpy path saves)"
        label = name + (" (base)" if name == BASELINE else "")
        print(
            f"{label:<44} {med[name]:>9.3f} {f'{low:.2f}-{high:.2f}':>13} {ratio:>13.3f} "
            f"{peak[name]:>9.1f}  {target}"
        )

    numpy_out = json.loads(outputs["rnnforecast predict GOOG --json"])
    keras_out = json.loads(outputs["  same, Keras fallback"])
    numpy_close = numpy_out["forecasts"][0]["close"]
    keras_close = keras_out["forecasts"][0]["close"]
    note = ""
    if numpy_close == keras_close == numpy_out["last_close"]:
        note = "; both equal the last close: calibration shrank the forecast to naive"
    print(
        f"forecast of the numpy path {numpy_close:.4f}, of the Keras fallback {keras_close:.4f} "
        f"(difference {abs(numpy_close - keras_close):.2g}{note})"
    )

    predict = med["rnnforecast predict GOOG --json"]
    probe_wall = med["probe"]
    part = {key: statistics.median(p[key] for p in probes) for key in probes[0]}
    in_app = part["load"] + part["network"] + part["forward"]
    rows = [
        (
            "interpreter start-up + exit (wall - in-process)",
            statistics.median(w - p["total"] for w, p in zip(walls["probe"], probes, strict=True)),
        ),
        ("import rnnforecast.cli.commands (typer, config)", part["cli"]),
        ("import rnnforecast.jobs.prediction (numpy)", part["serving"]),
        ("typer: parse options (imports pydantic), JSON", part["app"] - in_app),
        ("loading.load (bundle, checksums)", part["load"]),
        ("Loaded.fitted (weights.npz -> numpy)", part["network"]),
        ("forward pass: FittedModel.forecast()", part["forward"]),
    ]
    print(
        f"\nbreakdown of predict, run in-process by a probe in a fresh interpreter (median "
        f"wall {probe_wall:.3f} s, vs {predict:.3f} s for the command itself); each row is "
        "the median of its own runs, so the rows need not add up exactly"
    )
    header = f"{'part':<50} {'median s':>9} {'share':>7} {'vs import tf':>13}"
    print(header)
    print("-" * len(header))
    for label, value in rows:
        print(f"{label:<50} {value:>9.3f} {value / probe_wall:>7.1%} {value / baseline:>13.4f}")
    for name in ('python -c "pass"', 'python -c "import rnnforecast.cli.commands"'):
        print(
            f"{name + ' (own process)':<50} {med[name]:>9.3f} {med[name] / probe_wall:>7.1%} "
            f"{med[name] / baseline:>13.4f}"
        )

    for command, (medians, total) in shares.items():
        wall = med["rnnforecast --help"] if command == "--help" else predict
        print(
            f"\nimport time of `rnnforecast {command}` under -X importtime: {total:.3f} s "
            f"(wall without importtime {wall:.3f} s); self time per top-level package"
        )
        header = f"{'package':<22} {'median s':>9} {'share':>7}"
        print(header)
        print("-" * len(header))
        ranked = sorted(medians.items(), key=lambda item: -item[1])
        for name, value in ranked[:8]:
            print(f"{name:<22} {value:>9.3f} {value / total:>7.1%}")
        rest = sum(value for _, value in ranked[8:])
        print(f"{'(others)':<22} {rest:>9.3f} {rest / total:>7.1%}")


if __name__ == "__main__":
    main()
