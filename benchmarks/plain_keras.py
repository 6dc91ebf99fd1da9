"""The default rnnforecast network as a plain Keras script: the speed baseline.

Same data (the bundled GOOG sample, windowed, split and scaled by ``rnnforecast.forecast.windows``:
``build_dataset``, ``Split.plan``, ``fit_scalers``, ``encode_inputs``, ``scale_targets``),
same network (``LSTM(32, relu) -> Dense(32, relu) -> Dense(1)``, Adam, MSE), the default
batch size and learning rate, a fixed number of epochs (no early stopping unless
``--patience``), and nothing else: no calibration, no bundle, no numpy check. Validation
windows go to Keras as numpy arrays, as a plain script would hand them over (rnnforecast
hands them over as a batched tf.data Dataset: ``--pipeline valdata``). Prints total and
per-epoch seconds and windows per second.

    python benchmarks/plain_keras.py --epochs 10
    python benchmarks/plain_keras.py --epochs 10 --batch-size 32 --lr 1e-3 --jit
    python benchmarks/plain_keras.py --epochs 10 --json   # one JSON line for bench_train.py

The flags try the speed levers one at a time: ``--batch-size``/``--lr``, ``--jit``
(``jit_compile=True``), ``--steps-per-execution``, ``--intra``/``--inter`` (TensorFlow
thread pools), ``--pipeline tfdata`` (tf.data with prefetch instead of numpy arrays) or
``--pipeline valdata`` (only the validation data as a batched tf.data Dataset), ``--unroll``
(unrolled LSTM), ``--deterministic`` (``enable_op_determinism``, as rnnforecast does).
TensorFlow is imported only after the thread pools are configured.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

from rnnforecast.config import Config, apply_overrides
from rnnforecast.data import sources
from rnnforecast.forecast.windows import (
    Split,
    build_dataset,
    encode_inputs,
    fit_scalers,
    scale_targets,
)


def load_windows(config: Config) -> dict[str, np.ndarray]:
    """Train and validation arrays exactly as rnnforecast's ``fitting.fit`` builds them."""
    data = config.data
    frame = sources.load_sample().frame
    split = Split.plan(len(frame), data)
    dataset = build_dataset(frame, data)
    train, val = dataset.select(split.train), dataset.select(split.val)
    scalers = fit_scalers(train, data)
    return {
        "x_train": encode_inputs(train.features, scalers),
        "y_train": scale_targets(train.targets, scalers, data),
        "x_val": encode_inputs(val.features, scalers),
        "y_val": scale_targets(val.targets, scalers, data),
    }


def forward_flops(window: int, features: int, units: int, dense: int, outputs: int) -> int:
    """Multiply-add FLOPs (2 per MAC) of one window's forward pass, matmuls only.

    LSTM: per step, 4 gates of ``units x (features + units)`` MACs (input and recurrent
    kernels); Dense layers: ``in x out`` MACs. Bias adds and gate activations are left out
    (about 10 elementwise ops per unit per step, under 4% of the matmul count here).
    """
    lstm = window * 2 * 4 * units * (features + units)
    head = 2 * units * dense + 2 * dense * outputs if dense else 2 * units * outputs
    return lstm + head


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    defaults = Config().train
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.learning_rate)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--patience", type=int, default=0, help="early stopping (0 = off)")
    parser.add_argument("--jit", action="store_true", help="compile(jit_compile=True)")
    parser.add_argument("--steps-per-execution", type=int, default=1)
    parser.add_argument("--intra", type=int, default=0, help="intra-op threads (0 = TF default)")
    parser.add_argument("--inter", type=int, default=0, help="inter-op threads (0 = TF default)")
    parser.add_argument(
        "--pipeline",
        choices=("numpy", "tfdata", "valdata"),
        default="numpy",
        help="numpy arrays (as rnnforecast), tf.data for both, or tf.data for validation only",
    )
    parser.add_argument("--unroll", action="store_true", help="LSTM(unroll=True)")
    parser.add_argument("--deterministic", action="store_true", help="enable_op_determinism")
    parser.add_argument(
        "--no-grappler", action="store_true", help="switch off TensorFlow's graph optimizer"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line only")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    started = time.perf_counter()
    import keras
    import tensorflow as tf

    if args.intra:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra)
    if args.inter:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter)
    tf.get_logger().setLevel("ERROR")
    if args.no_grappler:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})

    config = apply_overrides(Config(), [])  # the default recipe
    data, m = config.data, config.model
    arrays = load_windows(config)
    for name, array in arrays.items():
        assert array.dtype == np.float32 and array.flags.c_contiguous, name
    x_train, y_train = arrays["x_train"], arrays["y_train"]
    x_val, y_val = arrays["x_val"], arrays["y_val"]
    n_features = x_train.shape[-1]

    keras.utils.set_random_seed(args.seed)
    if args.deterministic:
        tf.config.experimental.enable_op_determinism()
    inputs = keras.Input((data.window, n_features))
    x = keras.layers.LSTM(m.units, activation=m.activation, unroll=args.unroll)(inputs)
    x = keras.layers.Dense(m.dense_units, activation=m.activation)(x)
    outputs = keras.layers.Dense(data.outputs)(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=args.lr),
        loss="mse",
        jit_compile=args.jit,
        steps_per_execution=args.steps_per_execution,
    )

    epoch_start: list[float] = []
    epoch_end: list[float] = []
    val_loss: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            epoch_start.append(time.perf_counter())

        def on_epoch_end(self, epoch, logs=None):
            epoch_end.append(time.perf_counter())
            val_loss.append(float((logs or {}).get("val_loss", float("nan"))))

    callbacks: list[keras.callbacks.Callback] = [Clock()]
    if args.patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=args.patience, restore_best_weights=True
            )
        )
    if args.pipeline == "tfdata":
        train_ds = (
            tf.data.Dataset.from_tensor_slices((x_train, y_train))
            .shuffle(len(x_train), seed=args.seed, reshuffle_each_iteration=True)
            .batch(args.batch_size)
            .prefetch(tf.data.AUTOTUNE)
        )
        val_ds = (
            tf.data.Dataset.from_tensor_slices((x_val, y_val))
            .batch(args.batch_size)
            .prefetch(tf.data.AUTOTUNE)
        )
        fit_args: dict = {"x": train_ds, "validation_data": val_ds, "shuffle": False}
    else:
        validation = (x_val, y_val)
        if args.pipeline == "valdata":  # same batches, same numbers; see bench_train.py
            validation = tf.data.Dataset.from_tensor_slices(validation).batch(args.batch_size)
        fit_args = {
            "x": x_train,
            "y": y_train,
            "validation_data": validation,
            "batch_size": args.batch_size,
            "shuffle": True,
        }
    fit_started = time.perf_counter()
    model.fit(**fit_args, epochs=args.epochs, callbacks=callbacks, verbose=0)
    fit_seconds = time.perf_counter() - fit_started
    epochs_run = len(epoch_end)
    per_epoch = [b - a for a, b in zip(epoch_start, epoch_end, strict=True)]
    steady = statistics.median(per_epoch[1:]) if epochs_run > 1 else per_epoch[0]
    flops = 3 * forward_flops(data.window, n_features, m.units, m.dense_units, data.outputs)
    result = {
        "epochs": epochs_run,
        "train_windows": len(x_train),
        "val_windows": len(x_val),
        "fit_seconds": fit_seconds,
        "seconds_per_epoch": fit_seconds / epochs_run,
        "first_epoch_seconds": per_epoch[0],
        "steady_epoch_seconds": steady,
        "epoch_seconds": per_epoch,
        "epoch_end_seconds": [t - fit_started for t in epoch_end],
        "val_loss": val_loss,
        "best_val_loss": min(val_loss),
        "windows_per_second": len(x_train) * epochs_run / fit_seconds,
        "train_gflop_per_window": flops / 1e9,
        "process_seconds_after_import": time.perf_counter() - started,
        "args": vars(args),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"plain Keras: {epochs_run} epochs, {len(x_train)} training windows, batch "
        f"{args.batch_size}, lr {args.lr:g}"
    )
    print(f"total fit seconds      {fit_seconds:8.2f}")
    print(f"seconds per epoch      {fit_seconds / epochs_run:8.3f} (fit seconds / epochs)")
    print(f"first epoch seconds    {per_epoch[0]:8.3f} (includes tracing)")
    print(f"steady epoch seconds   {steady:8.3f} (median of epochs 2..)")
    print(f"windows per second     {result['windows_per_second']:8.0f} (training windows)")
    print(f"best val_loss          {min(val_loss):8.3g}")


if __name__ == "__main__":
    main(sys.argv[1:])
