"""Windowing: rnnforecast's vectorised make_windows against the straightforward loop.

Prints seconds per call and the ratio (loop / vectorised) for 10,000 and 1,000,000 rows of
5 features, window 50. The loop is the recipe's ``for i in range(len(y) - window)``; it is
given the same float32 input. Run: python benchmarks/bench_windows.py
"""

from __future__ import annotations

import time

import numpy as np

from rnnforecast.forecast.windows import make_windows

WINDOW = 50


def loop_windows(values: np.ndarray, targets: np.ndarray, window: int):
    x, y = [], []
    for i in range(len(targets) - window):
        x.append(values[i : i + window])
        y.append(targets[i + window])
    return np.array(x), np.array(y)


def contiguous_windows(values: np.ndarray, targets: np.ndarray, window: int) -> np.ndarray:
    return np.ascontiguousarray(make_windows(values, targets, window)[0])


def best_of(fn, args: tuple, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'rows':>10} {'loop s':>10} {'vectorised s':>13} {'view+copy s':>12} {'ratio':>9}")
    for rows in (10_000, 1_000_000):
        values = rng.random((rows, 5), dtype=np.float32)
        targets = values[:, 3].copy()
        x_loop, y_loop = loop_windows(values, targets, WINDOW)
        x_vec, y_vec = make_windows(values, targets, WINDOW)
        assert np.array_equal(x_loop, x_vec) and np.array_equal(y_loop, y_vec[:, 0])
        del x_loop, y_loop
        repeat = 5 if rows <= 10_000 else 1
        args = (values, targets, WINDOW)
        loop_s = best_of(loop_windows, args, repeat)
        vec_s = best_of(make_windows, args, repeat)
        # What a caller pays when it needs its own contiguous copy (e.g. to train on).
        copy_s = best_of(contiguous_windows, args, repeat)
        ratio = loop_s / vec_s
        print(f"{rows:>10,} {loop_s:>10.4f} {vec_s:>13.6f} {copy_s:>12.4f} {ratio:>8.0f}x")


if __name__ == "__main__":
    main()
