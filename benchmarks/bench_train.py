"""Training speed: rnnforecast next to plain Keras, the speed levers, and time to target.

Every measurement runs in a fresh subprocess (TensorFlow's thread pools can only be set
before it starts), and arms that are compared run alternately in the same invocation (the
order flips every repeat) so that load from other jobs on the machine falls on all of them;
the tables show medians and ratios of medians.

Sections (``--sections``, comma-separated; all by default):

``speed``
    (a) ``rnnforecast train GOOG --no-refit --set train.patience=0 --epochs N`` on a
    temporary home holding the bundled sample (the scored fit only: the same work as the
    plain script), (b) ``python benchmarks/plain_keras.py --epochs N`` (the
    same network on the same windows, nothing else, validation as numpy arrays as a plain
    script hands them over) and (c) the same with ``--pipeline valdata`` (validation as a
    batched tf.data Dataset, as the tool hands it over); all at the same batch size and
    learning rate (``--batch-size``/``--lr``, default: the default config's). Whole-process
    seconds, seconds per epoch (tool: ``timings.fit_seconds`` / ``len(keras_training.loss)`` of
    the bundle's manifest.json; plain: fit seconds / epochs, the same definition), windows
    per second and the ratios tool / plain. A fourth arm, (d) the same ``train`` with its
    default refit on every bar (what ``train`` and ``run`` pay), gives the whole process and
    the refit's own seconds (``timings.refit_seconds``).
``peak``
    Share of the machine's arithmetic peak. Peak: GFLOP/s of a float32 ``a @ b`` with
    2048 x 2048 numpy arrays (``2 * 2048**3`` FLOPs, best of 10 after a warm-up), measured
    between the training runs of ``speed``. Work of training: per window, forward FLOPs =
    ``window * 2 * 4 * units * (features + units)`` (LSTM gate matmuls) plus
    ``2 * units * dense + 2 * dense * outputs`` (dense head); a training step costs about
    3x the forward pass (forward, plus backward through inputs and weights); validation
    windows cost one forward pass. Elementwise gate work and the optimizer are left out.
``levers``
    The plain script with one lever at a time (batch size with a scaled learning rate,
    ``jit_compile``, ``steps_per_execution``, thread pools, tf.data with prefetch for
    training and validation or for validation only, ``unroll``; then some of them on top
    of batch 256), alternating with the first lever named (the unchanged script): first
    epoch seconds (tracing and compiling included) and steady seconds per epoch (median of
    epochs 2..), and the best validation loss of the run.
``converge``
    Time to target through rnnforecast's own pipeline (``per_ticker.train`` in a subprocess
    per run; config keys are set with overrides; ``jit_compile``, ``steps_per_execution``,
    ``unroll``, thread pools and validation data as a tf.data Dataset are patched in).
    Target: the validation loss the recipe as written (batch 32, lr 1e-3, patience 5, at
    most 50 epochs) reaches at its best epoch, as the median over seeds ("to target"), and
    each seed's own ("to own"). Time to target: fit seconds until the end of the first
    epoch whose validation loss is at or below the target. Also the whole early-stopped
    fit (what a nightly job pays), and test rel_mae (MAE / naive MAE) as rnnforecast
    reports it (calibrated) and before calibration (``uncalibrated.rel_mae``), as means
    over seeds. The validation loss is comparable across variants: same windows, same scalers.

    python benchmarks/bench_train.py                  # everything, about 25 min on 2 cores
    python benchmarks/bench_train.py --sections speed,peak --epochs 10 --repeats 3
    python benchmarks/bench_train.py --sections speed --batch-size 32 --lr 1e-3
    python benchmarks/bench_train.py --sections levers --levers b256,b256v,b256t11
    python benchmarks/bench_train.py --sections converge --seeds 42,1,2 --variants b32,b256xv
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rnnforecast.config import Config

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
RNNFORECAST = str(BIN / "rnnforecast")
PLAIN = str(HERE / "plain_keras.py")
TICKER = "GOOG"

B32 = ["--batch-size", "32", "--lr", "1e-3"]  # the recipe as first written
B256 = ["--batch-size", "256", "--lr", "8e-3"]
# One change at a time to the recipe as first written (batch 32 unless a lever sets one).
LEVERS: dict[str, tuple[str, list[str]]] = {
    "base": ("baseline (b32, lr 1e-3)", []),
    "b128": ("batch 128, lr 4e-3", ["--batch-size", "128", "--lr", "4e-3"]),
    "b256": ("batch 256, lr 8e-3", B256),
    "jit": ("jit_compile", ["--jit"]),
    "spe8": ("steps_per_execution 8", ["--steps-per-execution", "8"]),
    "t21": ("intra 2, inter 1 threads", ["--intra", "2", "--inter", "1"]),
    "t11": ("intra 1, inter 1 threads", ["--intra", "1", "--inter", "1"]),
    "tfdata": ("tf.data + prefetch", ["--pipeline", "tfdata"]),
    "valdata": ("validation as tf.data", ["--pipeline", "valdata"]),
    "unroll": ("unroll", ["--unroll"]),
    "b256j": ("batch 256, lr 8e-3, jit", [*B256, "--jit"]),
    "b256t11": ("b256 + intra 1, inter 1", [*B256, "--intra", "1", "--inter", "1"]),
    "b256tf": ("b256 + tf.data + prefetch", [*B256, "--pipeline", "tfdata"]),
    "b256v": ("b256 + validation as tf.data", [*B256, "--pipeline", "valdata"]),
    "b256s": ("b256 + steps_per_execution 6", [*B256, "--steps-per-execution", "6"]),
}


def variant(label: str, batch: int, lr: float, patience: int = 5, epochs: int = 100, **spec):
    """A converge arm: train keys set by overrides, plus the worker's patches (``spec``).
    ``val_numpy``: validation windows handed to Keras as numpy arrays, as the recipe as
    first written does (rnnforecast hands them over as a batched tf.data Dataset)."""
    keys = [f"train.batch_size={batch}", f"train.learning_rate={lr}", f"train.patience={patience}"]
    return {"label": label, "set": keys, "epochs": epochs, **spec}


VARIANTS: dict[str, dict] = {
    "b32": variant("recipe as written (b32, lr 1e-3)", 32, 0.001, epochs=50, val_numpy=True),
    "b32v": variant("b32, lr 1e-3, val tf.data", 32, 0.001, epochs=50),
    "b32j": variant("b32, lr 1e-3, jit", 32, 0.001, epochs=50, val_numpy=True, jit=True),
    "b128": variant("b128, lr 2e-3", 128, 0.002, val_numpy=True),
    "b128x": variant("b128, lr 4e-3", 128, 0.004, val_numpy=True),
    "b128xv": variant("b128, lr 4e-3, val tf.data", 128, 0.004),
    "b128xvp3": variant("b128, lr 4e-3, val tf.data, pat. 3", 128, 0.004, patience=3),
    "b128xvr": variant("b128, lr 4e-3, val tf.data, 0.5%", 128, 0.004, min_rel=0.005),
    "b128xvr1": variant("b128, lr 4e-3, val tf.data, 1%", 128, 0.004, min_rel=0.01),
    "b128xvh": variant("b128, lr 4e-3, val tf.data, halve 2", 128, 0.004, plateau=2),
    "b192xv": variant("b192, lr 6e-3, val tf.data", 192, 0.006),
    "b256": variant("b256, lr 4e-3", 256, 0.004, val_numpy=True),
    "b256x": variant("b256, lr 8e-3", 256, 0.008, val_numpy=True),
    "b256xv": variant("b256, lr 8e-3, val tf.data", 256, 0.008),
    "b256xd": variant("b256, lr 8e-3, tf.data both", 256, 0.008, train_ds=True),
    "b256j": variant("b256, lr 4e-3, jit", 256, 0.004, val_numpy=True, jit=True),
    "b256xj": variant("b256, lr 8e-3, jit", 256, 0.008, val_numpy=True, jit=True),
    "b512x": variant("b512, lr 1.6e-2", 512, 0.016, val_numpy=True),
    "b256xs": variant("b256, lr 8e-3, steps/exec 8", 256, 0.008, val_numpy=True, spe=8),
    "b256xt": variant("b256, lr 8e-3, intra 2/inter 1", 256, 0.008, intra=2, inter=1),
}
DEFAULT_VARIANTS = "b32,b32v,b32j,b128,b128x,b256,b256x,b256xv,b256xd,b256xj"


# --- helpers -------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    if len(finite) * 2 <= len(values):  # half or more never got there
        return math.inf
    return statistics.median(values)


def run(cmd: list[str]) -> tuple[float, str]:
    """Run ``cmd``; return (wall seconds, stdout). Raises on a non-zero exit."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def fresh_home(root: Path, name: str) -> Path:
    """A home folder under ``root`` with the bundled sample fetched."""
    home = root / name
    run([RNNFORECAST, "--home", str(home), "fetch", "--sample"])
    return home


def matmul_peak(n: int = 2048, reps: int = 10) -> float:
    """Best GFLOP/s of a float32 ``a @ b`` (n x n), after one warm-up product."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b
    best = math.inf
    for _ in range(reps):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best / 1e9


def forward_flops(window=50, features=5, units=32, dense=32, outputs=1) -> int:
    """One window's forward pass, matmul FLOPs (see plain_keras.forward_flops)."""
    return window * 2 * 4 * units * (features + units) + 2 * units * dense + 2 * dense * outputs


def gflops_per_second(train: int, val: int, seconds_per_epoch: float) -> float:
    work = (3 * train + val) * forward_flops()
    return work / seconds_per_epoch / 1e9


# --- speed and peak: tool vs plain Keras ----------------------------------------------------


def tool_run(home: Path, epochs: int, batch: int, lr: float, refit: bool = False) -> dict:
    sets = ["train.patience=0", f"train.batch_size={batch}", f"train.learning_rate={lr}"]
    seconds, stdout = run(
        [RNNFORECAST, "--home", str(home), "train", TICKER, "--quiet", "--json"]
        + [item for key in sets for item in ("--set", key)]
        + ["--epochs", str(epochs), "--refit" if refit else "--no-refit"]
    )
    [result] = json.loads(stdout)["tickers"]  # one ticker: one entry
    manifest = json.loads((Path(result["path"]) / "manifest.json").read_text())
    n_epochs = len(manifest["training"]["loss"])
    fit = manifest["timings"]["fit_seconds"]
    return {
        "process": seconds,
        "fit": fit,
        "refit": manifest["timings"]["refit_seconds"],
        "per_epoch": fit / n_epochs,
        "epochs": n_epochs,
        "train": manifest["data"]["train"]["n"],
        "val": manifest["data"]["validation"]["n"],
    }


def plain_run(epochs: int, extra: list[str] | None = None) -> dict:
    seconds, stdout = run(
        [sys.executable, PLAIN, "--epochs", str(epochs), "--json", *(extra or [])]
    )
    result = last_json(stdout)
    return {
        "process": seconds,
        "fit": result["fit_seconds"],
        "per_epoch": result["seconds_per_epoch"],
        "first": result["first_epoch_seconds"],
        "steady": result["steady_epoch_seconds"],
        "epochs": result["epochs"],
        "train": result["train_windows"],
        "val": result["val_windows"],
        "best": result["best_val_loss"],
    }


def speed(root: Path, epochs: int, repeats: int, with_peak: bool, batch: int, lr: float) -> None:
    """Three arms, alternating: the tool; the plain script as written (validation windows as
    numpy arrays); the plain script with the tool's input pipeline (validation as a batched
    tf.data Dataset), which isolates what the tool adds around the same ``fit``."""
    home = fresh_home(root, "speed")
    hyper = ["--batch-size", str(batch), "--lr", str(lr)]
    arms = {
        "tool": lambda: tool_run(home, epochs, batch, lr),
        "plain": lambda: plain_run(epochs, hyper),
        "plain+valdata": lambda: plain_run(epochs, [*hyper, "--pipeline", "valdata"]),
        "tool+refit": lambda: tool_run(home, epochs, batch, lr, refit=True),
    }
    results: dict[str, list[dict]] = {name: [] for name in arms}
    peaks: list[float] = []
    for r in range(repeats):
        order = list(arms) if r % 2 == 0 else list(reversed(arms))
        for name in order:
            results[name].append(arms[name]())
            if with_peak:
                peaks.append(matmul_peak())
        print(
            f"  repeat {r + 1}: "
            + "; ".join(
                f"{name} {rows[-1]['process']:.1f}s process, {rows[-1]['per_epoch']:.3f}s/epoch"
                for name, rows in results.items()
            ),
            flush=True,
        )
    tool, plain = results["tool"], results["plain"]
    train, val = tool[0]["train"], tool[0]["val"]
    assert (train, val) == (plain[0]["train"], plain[0]["val"]), "different windows"

    def med(rows: list[dict], key: str) -> float:
        return statistics.median(row[key] for row in rows)

    print(
        f"\nSPEED: {epochs} epochs, {train} training + {val} validation windows, batch "
        f"{batch}, lr {lr:g}, {repeats} alternating repeats, medians"
    )
    print(
        f"{'':22} {'tool':>8} {'plain':>8} {'tool/plain':>10} {'plain+valdata':>13} "
        f"{'tool/that':>9}"
    )
    vd = results["plain+valdata"]
    measures = (("whole process, s", "process"), ("fit, s", "fit"), ("per epoch, s", "per_epoch"))
    for label, key in measures:
        t, p, v = med(tool, key), med(plain, key), med(vd, key)
        print(f"{label:<22} {t:8.3f} {p:8.3f} {t / p:10.2f} {v:13.3f} {t / v:9.2f}")
    t_wps, p_wps, v_wps = (train / med(rows, "per_epoch") for rows in (tool, plain, vd))
    print(
        f"{'windows per second':<22} {t_wps:8.0f} {p_wps:8.0f} {t_wps / p_wps:10.2f} "
        f"{v_wps:13.0f} {t_wps / v_wps:9.2f}"
    )
    outside = {
        name: statistics.median(r["process"] - r["fit"] for r in rows)
        for name, rows in results.items()
    }
    print(
        f"outside the fit (whole process - fit), s: tool {outside['tool']:.3f}, plain "
        f"{outside['plain']:.3f}, tool - plain {outside['tool'] - outside['plain']:+.3f} "
        "(the CLI, baselines, risk report, served choice, fan, saving and checks)"
    )
    refit = results["tool+refit"]
    print(
        f"tool with its default refit on every bar: whole process {med(refit, 'process'):.3f}s "
        f"({med(refit, 'process') / med(tool, 'process'):.2f} x the scored fit alone), "
        f"fit {med(refit, 'fit'):.3f}s + refit {med(refit, 'refit'):.3f}s"
    )
    for name in ("plain", "plain+valdata"):
        rows = results[name]
        print(
            f"{name}: first epoch {med(rows, 'first'):.3f}s (tracing included), steady epoch "
            f"{med(rows, 'steady'):.3f}s (median of epochs 2..), "
            f"{train / med(rows, 'steady'):.0f} windows/s"
        )
    if not with_peak:
        return
    peak = statistics.median(peaks)
    fwd = forward_flops()
    print(
        f"\nPEAK: float32 2048x2048 numpy matmul, best of 10, median over {len(peaks)} "
        f"measurements: {peak:.1f} GFLOP/s (range {min(peaks):.1f}-{max(peaks):.1f})"
    )
    print(
        f"work: forward {fwd / 1e6:.3f} MFLOP/window (LSTM {50 * 2 * 4 * 32 * 37 / 1e6:.3f} + "
        f"dense {(fwd - 50 * 2 * 4 * 32 * 37) / 1e6:.4f}); training step ~3x forward; "
        f"per epoch {(3 * train + val) * fwd / 1e9:.2f} GFLOP ({train} x 3 + {val} x 1 "
        "forward passes)"
    )
    for label, rows_, key in (
        ("tool, fit s/epoch", tool, "per_epoch"),
        ("plain, fit s/epoch", plain, "per_epoch"),
        ("plain+valdata, steady epoch", vd, "steady"),
    ):
        achieved = gflops_per_second(train, val, med(rows_, key))
        print(f"{label:<28} {achieved:7.3f} GFLOP/s = {100 * achieved / peak:5.2f}% of peak")


# --- levers: one change at a time in the plain script ---------------------------------------


def levers(epochs: int, repeats: int, names: list[str]) -> None:
    results: dict[str, list[dict]] = {name: [] for name in names}
    for r in range(repeats):
        order = names if r % 2 == 0 else list(reversed(names))
        for name in order:
            extra = LEVERS[name][1]
            if "--batch-size" not in extra:
                extra = [*B32, *extra]
            results[name].append(plain_run(epochs, extra))
        print(f"  repeat {r + 1} done", flush=True)
    base = results[names[0]]
    b_first = statistics.median(x["first"] for x in base)
    b_steady = statistics.median(x["steady"] for x in base)
    print(
        f"\nLEVERS: plain script, {epochs} epochs, {repeats} alternating repeats, medians; "
        f"ratios to {LEVERS[names[0]][0]}"
    )
    print(
        f"{'lever':<28} {'1st epoch s':>11} {'steady s':>9} {'steady x':>8} "
        f"{'win/s':>6} {'val_loss@' + str(epochs):>12}"
    )
    for name in names:
        rows = results[name]
        first = statistics.median(x["first"] for x in rows)
        steady = statistics.median(x["steady"] for x in rows)
        best = statistics.median(x["best"] for x in rows)
        print(
            f"{LEVERS[name][0]:<28} {first:11.2f} {steady:9.3f} {b_steady / steady:8.2f} "
            f"{rows[0]['train'] / steady:6.0f} {best:12.3g}"
        )
    print(f"(baseline first epoch {b_first:.2f}s; 'steady x' = speed-up per steady epoch)")


# --- converge: time to target through the pipeline ------------------------------------------


def worker(spec: dict) -> None:
    """One ``per_ticker.train`` run with the variant's patches; prints one JSON line."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    if spec.get("intra"):
        tf.config.threading.set_intra_op_parallelism_threads(spec["intra"])
    if spec.get("inter"):
        tf.config.threading.set_inter_op_parallelism_threads(spec["inter"])
    import keras

    from rnnforecast.config import Config, apply_overrides
    from rnnforecast.nn import keras_network, keras_training
    from rnnforecast.storage.home import Home
    from rnnforecast.training import per_ticker

    if spec.get("unroll"):
        keras_network._CELLS["lstm"] = functools.partial(keras.layers.LSTM, unroll=True)
    jit, spe = bool(spec.get("jit")), int(spec.get("spe", 1))
    original_build = keras_network.build_model

    def build_model(config, n_features):
        net = original_build(config, n_features)
        if jit or spe > 1:
            net.compile(
                optimizer=keras.optimizers.Adam(learning_rate=config.train.learning_rate),
                loss="mse",
                jit_compile=jit,
                steps_per_execution=spe,
            )
        return net

    keras_network.build_model = build_model
    if jit or spec.get("nodet"):
        # Keras turns jit_compile=True back off (with a warning) while TensorFlow's op
        # determinism is on, and rnnforecast turns it on: seed without it.
        keras_training.seed_everything = keras.utils.set_random_seed
    if spec.get("min_rel"):
        # An epoch counts as an improvement only when it lowers the best validation loss
        # by at least this fraction of it.
        rel = float(spec["min_rel"])

        class RelativeEarlyStopping(keras.callbacks.EarlyStopping):
            def _is_improvement(self, value, reference):
                return reference is None or value < reference * (1 - rel)

        keras_training.keras.callbacks.EarlyStopping = RelativeEarlyStopping
    if spec.get("val_numpy"):
        # The recipe as first written hands Keras its validation windows as numpy arrays.
        keras_training._validation = lambda x, y, batch_size: (x, y)
    clock: dict[str, float] = {}
    original_fit = keras_training.fit

    def fit(net, *args, **kwargs):
        if spec.get("train_ds"):
            # Training windows as a tf.data Dataset too (seeded shuffle of all windows each
            # epoch, batch, prefetch): another shuffle stream than Keras's, so other weights.
            keras_fit = net.fit

            def fit_with_datasets(x, y, *, validation_data, batch_size, shuffle, **k):
                train = (
                    tf.data.Dataset.from_tensor_slices((x, y))
                    .shuffle(len(x), seed=spec["seed"], reshuffle_each_iteration=True)
                    .batch(batch_size)
                    .prefetch(tf.data.AUTOTUNE)
                )
                return keras_fit(train, validation_data=validation_data, shuffle=False, **k)

            net.fit = fit_with_datasets
        if spec.get("plateau"):
            # Halve the learning rate after `plateau` epochs without a lower validation loss.
            keras_fit_plain = net.fit

            def fit_with_plateau(*a, callbacks, **k):
                halve = keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=spec["plateau"])
                return keras_fit_plain(*a, callbacks=[halve, *callbacks], **k)

            net.fit = fit_with_plateau
        clock["start"] = time.perf_counter()
        history = original_fit(net, *args, **kwargs)
        # Predictions after training run without XLA: the bundle check demands that the
        # reloaded (uncompiled, so not jit-compiled) model predict bit for bit the same.
        net.jit_compile = False
        return history

    keras_training.fit = fit
    ends: list[float] = []
    val_loss: list[float] = []

    def progress(epoch: int, epochs: int, logs: dict[str, float]) -> None:
        ends.append(time.perf_counter() - clock["start"])
        val_loss.append(float(logs.get("val_loss", math.nan)))

    items = [*spec["set"], f"train.seed={spec['seed']}", f"train.epochs={spec['epochs']}"]
    config = apply_overrides(Config(), items)
    started = time.perf_counter()
    error = None
    try:
        result = per_ticker.train(Home(Path(spec["home"])), TICKER, config, progress=progress)
    except Exception as exc:  # noqa: BLE001 - reported, not hidden: a variant may break saving
        error = f"{type(exc).__name__}: {exc}"
    out = {
        "ends": ends,
        "val_loss": val_loss,
        "total": time.perf_counter() - started,
        "error": error,
    }
    if error is None:
        out.update(
            fit=result.history["seconds"],
            best_epoch=result.history["best_epoch"],
            epochs_run=result.history["epochs_run"],
            rel_mae=result.report.scores.model["rel_mae"],
            raw_rel_mae=result.report.raw["rel_mae"],
            shrink=result.calibration["shrink"][0],
        )
    print(json.dumps(out))


def converge(root: Path, names: list[str], seeds: list[int]) -> dict:
    home = fresh_home(root, "converge")
    runs: dict[str, dict[int, dict]] = {name: {} for name in names}
    for i, seed in enumerate(seeds):
        order = names if i % 2 == 0 else list(reversed(names))
        for name in order:
            variant = VARIANTS[name]
            spec = {**variant, "seed": seed, "home": str(home)}
            spec.pop("label")
            seconds, stdout = run([sys.executable, __file__, "--worker", json.dumps(spec)])
            out = last_json(stdout)
            out["process"] = seconds
            runs[name][seed] = out
            status = out["error"] or (
                f"best epoch {out['best_epoch']}/{out['epochs_run']} "
                f"val {min(out['val_loss']):.3g} fit {out['fit']:.1f}s "
                f"MAE / naive {out['rel_mae']:.3f} "
                f"(raw {out['raw_rel_mae']:.3f})"
            )
            print(f"  seed {seed} {name:<6} {status}", flush=True)

    recipe = "b32" if "b32" in names else names[0]
    own = {seed: min(runs[recipe][seed]["val_loss"]) for seed in seeds}
    target = statistics.median(own.values())

    def time_to(out: dict, level: float) -> float:
        for end, loss in zip(out["ends"], out["val_loss"], strict=True):
            if loss <= level:
                return end
        return math.inf

    print(
        f"\nCONVERGE: seeds {','.join(map(str, seeds))}; target = median over seeds of the "
        f"best validation loss of the recipe as written = {target:.4g} (per seed: "
        f"{', '.join(f'{own[s]:.4g}' for s in seeds)}); medians over seeds, rel_mae means"
    )
    print(
        f"{'variant':<32} {'s/epoch':>7} {'to target':>9} {'x':>5} {'hit':>3} "
        f"{'to own':>6} {'x':>5} {'fit s':>6} {'x':>5} {'process':>7} {'best:run':>17} "
        f"{'rel':>6} {'raw':>6}"
    )
    base_ttt = median([time_to(runs[recipe][s], target) for s in seeds])
    base_own = median([time_to(runs[recipe][s], own[s]) for s in seeds])
    base_fit = median([runs[recipe][s].get("fit", math.nan) for s in seeds])
    for name in names:
        outs = [runs[name][s] for s in seeds]
        ttt = [time_to(runs[name][s], target) for s in seeds]
        ttt_own = median([time_to(runs[name][s], own[s]) for s in seeds])
        reached = sum(math.isfinite(t) for t in ttt)
        per_epoch = median(
            [(o["ends"][-1] - o["ends"][0]) / max(len(o["ends"]) - 1, 1) for o in outs]
        )
        ok = [o for o in outs if o["error"] is None]
        label = VARIANTS[name]["label"]
        if not ok:
            print(f"{label:<32} {per_epoch:7.3f} failed: {outs[0]['error'][:80]}")
            continue
        t = median(ttt)
        fit = median([o["fit"] for o in ok])
        process = median([o["process"] for o in ok])
        epochs = ",".join(f"{o['best_epoch']}:{o['epochs_run']}" for o in ok)
        print(
            f"{label:<32} {per_epoch:7.3f} {t:9.1f} {base_ttt / t:5.1f} {reached}/{len(seeds)} "
            f"{ttt_own:6.1f} {base_own / ttt_own:5.1f} {fit:6.1f} {base_fit / fit:5.1f} "
            f"{process:7.1f} {epochs:>17} {statistics.mean(o['rel_mae'] for o in ok):6.3f} "
            f"{statistics.mean(o['raw_rel_mae'] for o in ok):6.3f}"
        )
    print(
        "s/epoch: steady epoch (epochs 2..); to target: fit seconds to the end of the first "
        "epoch at or below the target, median over seeds (inf when half or more never get "
        "there); hit: seeds that got there; to own: the same against each seed's own recipe "
        "best; fit s: the whole early-stopped fit (patience 5), what a nightly job pays; "
        "process: whole worker process; x: the recipe's median / the variant's; best:run: "
        "best and last epoch per seed; rel: test rel_mae as reported (calibrated); raw: "
        "uncalibrated.rel_mae"
    )
    return runs


def header() -> str:
    """What was measured: code version, recipe, machine."""
    from rnnforecast.config import Config
    from rnnforecast.version import __version__

    git = subprocess.run(
        ["git", "-C", str(HERE), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    data, model, train = Config().data, Config().model, Config().train
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"rnnforecast {__version__} ({git or 'no git'}); default recipe: "
        f"{'/'.join(data.features)}, window {data.window}, target {data.target}, normalise "
        f"{data.normalise}, {model.cell.upper()}({model.units}, {model.activation}) -> "
        f"Dense({model.dense_units}) -> Dense({data.outputs}), batch {train.batch_size}, lr "
        f"{train.learning_rate:g}, patience {train.patience}; {os.cpu_count()} cores, load "
        f"average {load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="speed,peak,levers,converge")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of speed runs")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repeats")
    defaults = Config().train
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="speed runs")
    parser.add_argument("--lr", type=float, default=defaults.learning_rate, help="speed runs")
    parser.add_argument("--lever-epochs", type=int, default=6)
    parser.add_argument("--levers", default=",".join(LEVERS), help="the first is the base")
    parser.add_argument("--variants", default=DEFAULT_VARIANTS, help=", ".join(VARIANTS))
    parser.add_argument("--seeds", default="42,1,2", help="42 is the default seed")
    parser.add_argument("--out", type=Path, help="also write the converge runs as JSON here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    sections = {s.strip() for s in args.sections.split(",")}
    started = time.perf_counter()
    print(header(), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-train-") as folder:
        root = Path(folder)
        if "speed" in sections or "peak" in sections:
            speed(
                root,
                args.epochs,
                args.repeats,
                with_peak="peak" in sections,
                batch=args.batch_size,
                lr=args.lr,
            )
        if "levers" in sections:
            names = [n.strip() for n in args.levers.split(",") if n.strip()]
            levers(args.lever_epochs, args.repeats, names)
        if "converge" in sections:
            names = [n.strip() for n in args.variants.split(",")]
            runs = converge(root, names, [int(s) for s in args.seeds.split(",")])
            if args.out:
                args.out.write_text(json.dumps(runs, indent=1))
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"\nbenchmark wall time {time.perf_counter() - started:.0f}s; load average {load}")


if __name__ == "__main__":
    main()
