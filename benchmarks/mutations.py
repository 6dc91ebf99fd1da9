"""Mutation check: does the test suite catch a planted bug?

Each mutation replaces one exact snippet of a source file with a broken variant. For each, the
repository is copied to a temporary folder, the mutation applied there (the working tree is
never touched), and the tests listed for it run with ``python -m pytest -x -q``: a failing
run means the bug was *caught*, a passing one that it *survived*. A snippet that is not found
exactly once stops the check with exit 2: the code moved on, and the mutation must be
updated to match it.

    python benchmarks/mutations.py --list            # the mutations and their tests
    python benchmarks/mutations.py --check           # every snippet still found exactly once
    python benchmarks/mutations.py --only seed-random --only lock-exit-code
    python benchmarks/mutations.py --jobs 2          # all of them, two at a time

Prints one line per mutation (``caught``, ``survived`` or ``error`` when pytest could not
run the tests), then ``caught N of M``. Exit 0 when every mutation is caught, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("rnnforecast", "tests", "configs", "docs", "benchmarks", "pyproject.toml", "README.md")


@dataclass(frozen=True)
class Mutation:
    """Replace ``old`` (found exactly once in ``file``) by ``new``; ``tests`` are pytest node
    ids or files (relative to the repository) expected to catch it."""

    id: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]
    why: str = ""


E2E = "tests/nn/test_network_e2e.py"
PROMOTION = "tests/jobs/test_promotion_skill.py"
EXITS = "tests/cli/test_exit_codes.py"

MUTATIONS: tuple[Mutation, ...] = (
    # --- the 13 bugs of issue 13 ---------------------------------------------------------
    Mutation(
        "scalers-fit-on-all-windows",
        "rnnforecast/training/fitting.py",
        "    scalers = fit_scalers(parts.train, config.data)",
        "    scalers = fit_scalers(parts.every, config.data)",
        (f"{E2E}::test_scalers_are_fitted_on_the_training_rows_only",),
        "test-period leakage into the scalers",
    ),
    Mutation(
        "serving-constant-network",
        "rnnforecast/storage/loading.py",
        "        return net.predict\n",
        "        return lambda x: np.full((len(x), data.outputs), 0.5, dtype=np.float32)\n",
        (f"{E2E}::test_predict_is_the_network_output_for_the_last_window",),
        "predict serves a constant instead of the numpy network",
    ),
    Mutation(
        "run-never-promotes",
        "rnnforecast/jobs/nightly.py",
        "promote, reason = verdict.promote, verdict.reason",
        "promote, reason = False, verdict.reason",
        (f"{PROMOTION}::test_a_strictly_better_challenger_is_promoted",),
        "run never promotes once a current model exists",
    ),
    Mutation(
        "walk-forward-single-split",
        "rnnforecast/training/fitting.py",
        "        model = fit(config, Partition.of(dataset, split), progress).model\n",
        "        whole = Split.plan(len(frame), config.data)\n"
        "        model = fit(config, Partition.of(dataset, whole), progress).model\n",
        ("tests/training/test_walk_forward.py",),
        "every fold trained on the single split",
    ),
    Mutation(
        "dm-p-halved",
        "rnnforecast/metrics/accuracy.py",
        "p_value = float(student.cdf(statistic, n - 1))",
        "p_value = float(student.cdf(statistic, n - 1)) / 2",
        (
            "tests/metrics/test_dm_size.py",
            "tests/metrics/test_metrics.py",
            "tests/forecast/test_forecaster.py",
        ),
        "the one-sided 5 % gate (the shrink gate's) becomes 10 %",
    ),
    Mutation(
        "dm-no-lags",
        "rnnforecast/metrics/accuracy.py",
        "for j in range(1, min(lags + 1, n)):",
        "for j in range(1, min(1, n)):",
        (
            "tests/metrics/test_dm_size.py",
            "tests/metrics/test_dm_reference.py",
            "tests/metrics/test_evaluation.py",
        ),
        "Diebold-Mariano ignores the multi-step autocovariance lags",
    ),
    Mutation(
        "dm-arguments-swapped",
        "rnnforecast/metrics/report.py",
        "np.abs(actual[:, 0] - point[:, 0]), np.abs(actual[:, 0] - last), horizon=1",
        "np.abs(actual[:, 0] - last), np.abs(actual[:, 0] - point[:, 0]), horizon=1",
        (f"{E2E}::test_the_network_learns_the_signal_and_the_gate_keeps_it",),
        "the report's DM statistic has its sign flipped",
    ),
    Mutation(
        "refetch-ten-years",
        "rnnforecast/jobs/ingest.py",
        "REFETCH_OVERLAP = dt.timedelta(days=7)",
        "REFETCH_OVERLAP = dt.timedelta(days=3650)",
        (f"{EXITS}::test_repeat_yahoo_fetch_starts_a_week_before_the_last_stored_bar",),
        "a repeat Yahoo fetch starts ten years back instead of a week",
    ),
    Mutation(
        "train-without-lock",
        "rnnforecast/jobs/executors.py",
        "        lambda i: home.lock(tickers[i]),",
        "        lambda i: ExitStack(),",
        (
            "tests/cli/test_kills.py::test_train_holds_the_lock_and_a_kill_after_an_epoch_keeps_the_"
            "current_model",
        ),
        "train no longer takes the ticker lock",
    ),
    Mutation(
        "lock-without-flock",
        "rnnforecast/storage/locks.py",
        "            lock.acquire(blocking=False)\n            break\n",
        "            break\n",
        (f"{EXITS}::test_a_second_holder_waits_the_whole_timeout_then_exits_6",),
        "no file lock taken: every holder gets the lock",
    ),
    Mutation(
        "lock-exit-code",
        "rnnforecast/errors.py",
        'holds the lock for too long."""\n\n    exit_code = 6',
        'holds the lock for too long."""\n\n    exit_code = 5',
        (f"{EXITS}::test_exit_code",),
        "LockError exits 5 instead of 6",
    ),
    Mutation(
        "seed-random",
        "rnnforecast/training/fitting.py",
        "training.seed_everything(recipe.train.seed)",
        "training.seed_everything(time.time_ns() % 2**31)",
        (f"{E2E}::test_test_rows_change_nothing_that_was_fitted",),
        "a random seed each training",
    ),
    Mutation(
        "conformal-floor",
        "rnnforecast/forecast/calibration.py",
        "rank = math.ceil((n + 1) * level - 1e-9)",
        "rank = max(math.floor(n * level), 1)",
        ("tests/forecast/test_forecaster.py",),
        "conformal rank floor(n * level)",
    ),
    Mutation(
        "dm-p-constant",
        "rnnforecast/metrics/accuracy.py",
        "    return statistic, p_value\n",
        "    return statistic, 0.5\n",
        ("tests/metrics/test_evaluation.py", "tests/forecast/test_forecaster.py"),
        "Diebold-Mariano p-value always 0.5",
    ),
    # --- more, in the forecasting core, pipeline, serving, locks and the nightly job ------
    Mutation(
        "shrink-ignored",
        "rnnforecast/forecast/fitted.py",
        "    point = shrink_forecast(raw, base[:, -1, CLOSE], shrink)\n",
        "    point = raw\n",
        (f"{E2E}::test_the_network_learns_the_signal_and_the_gate_keeps_it",),
        "calibrated forecasts ignore the shrink factor",
    ),
    Mutation(
        "decode-wrong-base",
        "rnnforecast/forecast/windows.py",
        "prices = base[:, -1, CLOSE, None] * np.exp(prices)",
        "prices = base[:, -2, CLOSE, None] * np.exp(prices)",
        (f"{E2E}::test_the_network_learns_the_signal_and_the_gate_keeps_it",),
        "log returns decoded from the close before the last",
    ),
    Mutation(
        "test-split-off-by-one",
        "rnnforecast/forecast/windows.py",
        "slice(m - n_test, m), data)",
        "slice(m - n_test + 1, m), data)",
        (f"{E2E}::test_the_network_learns_the_signal_and_the_gate_keeps_it",),
        "the test period loses its first window",
    ),
    Mutation(
        "numpy-lstm-gates",
        "rnnforecast/nn/numpy_network.py",
        "i, f, o = gate[:, :units], gate[:, units : 2 * units], gate[:, 3 * units :]",
        "f, i, o = gate[:, :units], gate[:, units : 2 * units], gate[:, 3 * units :]",
        (f"{E2E}::test_the_network_learns_the_signal_and_the_gate_keeps_it",),
        "the numpy LSTM swaps the input and forget gates",
    ),
    Mutation(
        "challenger-saved-as-current",
        "rnnforecast/jobs/nightly.py",
        "        challenger = save_trained(self.home, trained, promote=False)",
        "        challenger = save_trained(self.home, trained, promote=True)",
        (f"{PROMOTION}::test_a_strictly_worse_challenger_is_kept_out",),
        "every challenger becomes current when saved",
    ),
    Mutation(
        "promotion-inverted",
        "rnnforecast/jobs/promotion.py",
        "    wins = better is not None and better < alpha\n",
        "    wins = better is not None and better >= alpha\n",
        (PROMOTION,),
        "the worse model wins (changed recipe)",
    ),
    Mutation(
        "unscorable-champion-kept",
        "rnnforecast/jobs/nightly.py",
        '            reason = f"current model {champion_id} cannot be scored',
        '            promote = False\n            reason = f"current model {champion_id} '
        "cannot be scored",
        (f"{PROMOTION}::test_a_current_model_that_cannot_be_scored_is_replaced",),
        "a broken current model is never replaced",
    ),
    Mutation(
        "predict-last-close-from-open",
        "rnnforecast/jobs/prediction.py",
        "last_close = float(rows[-1, CLOSE])",
        "last_close = float(rows[-1, 0])",
        (f"{E2E}::test_predict_is_the_network_output_for_the_last_window",),
        "predict reports the last open as the last close",
    ),
    Mutation(
        "interval-collapsed",
        "rnnforecast/forecast/fitted.py",
        "return Forecasts(raw, point, point * np.exp(-spread), point * np.exp(spread))",
        "return Forecasts(raw, point, point, point * np.exp(spread))",
        (f"{E2E}::test_predict_is_the_network_output_for_the_last_window",),
        "the interval's low bound is the point forecast",
    ),
    Mutation(
        "keras-fallback-wrong",
        "rnnforecast/storage/loading.py",
        "        return np.asarray(keras_network.predict(keras_net, x))\n",
        "        return np.asarray(keras_network.predict(keras_net, x)) * 0.5\n",
        (f"{E2E}::test_keras_fallback_predicts_what_the_numpy_weights_predict",),
        "the Keras fallback halves the network's output",
    ),
    Mutation(
        "naive-mae-of-model",
        "rnnforecast/metrics/report.py",
        '        "mae": accuracy.mae(actual, naive),\n'
        '        "mape": accuracy.mape(actual, naive),',
        '        "mae": accuracy.mae(actual, predicted),\n'
        '        "mape": accuracy.mape(actual, naive),',
        (f"{E2E}::test_the_network_learns_the_signal_and_the_gate_keeps_it",),
        "the naive MAE is the model's",
    ),
    Mutation(
        "lock-timeout-ignored",
        "rnnforecast/storage/locks.py",
        "deadline = _monotonic() + timeout",
        "deadline = _monotonic()",
        (f"{EXITS}::test_a_second_holder_waits_the_whole_timeout_then_exits_6",),
        "a second holder gives up at once",
    ),
    Mutation(
        "lock-never-released",
        "rnnforecast/storage/locks.py",
        "        lock.release()\n",
        "        globals().setdefault('_kept', []).append(lock)\n",
        (f"{EXITS}::test_a_second_holder_waits_the_whole_timeout_then_exits_6",),
        "a lock outlives its with block",
    ),
    Mutation(
        "bundle-written-in-place",
        "rnnforecast/storage/artifacts.py",
        'staging = folder / f".tmp-{run_id}"',
        "staging = folder / run_id",
        ("tests/cli/test_kills.py::test_kill_while_the_bundle_is_written_serves_no_half_bundle",),
        "a bundle is written under its final name, so a kill leaves half a bundle",
    ),
    Mutation(
        "calibration-on-training-windows",
        "rnnforecast/training/fitting.py",
        "    cal = parts.calibration\n",
        "    cal = parts.train\n",
        (f"{E2E}::test_calibration_is_fitted_on_the_newest_validation_windows",),
        "shrinkage and intervals calibrated on the training windows",
    ),
    Mutation(
        "calibration-on-early-stopping-windows",
        "rnnforecast/training/fitting.py",
        "    cal = parts.calibration\n",
        "    cal = parts.val\n",
        (f"{E2E}::test_calibration_is_fitted_on_the_newest_validation_windows",),
        "shrinkage and intervals calibrated on the windows early stopping selected on",
    ),
    # --- code that landed since: refit, adaptive intervals, calendars, sealed manifests,
    # risk baselines -----------------------------------------------------------------------
    Mutation(
        "refit-keeps-scored-calibration",
        "rnnforecast/training/fitting.py",
        "    return _fit_recipe(config, epochs, 0, scalers, windows, progress, start, tail)\n",
        "    kept = _fit_recipe(config, epochs, 0, scalers, windows, progress, start, tail)\n"
        "    kept_model = dataclasses.replace(kept.model, calibration=scored.model.calibration)\n"
        "    return Fit(kept_model, kept.trained)\n",
        ("tests/training/test_refit.py::test_predict_serves_the_refit_calibration",),
        "the refit is served with the scored fit's calibration, not its own",
    ),
    Mutation(
        "refit-trains-on-its-calibration-tail",
        "rnnforecast/training/fitting.py",
        "    train = parts.refit_train\n",
        "    train = parts.every\n",
        (f"{E2E}::test_the_refit_is_calibrated_on_its_own_last_windows",),
        "the refit is calibrated on windows it trained on",
    ),
    Mutation(
        "adaptive-look-ahead",
        "rnnforecast/forecast/fitted.py",
        "    return adaptive_factors(scores, cal)[:-1]\n",
        "    return adaptive_factors(scores, cal)[1:]\n",
        ("tests/forecast/test_adaptive.py",),
        "a day's adaptive width factor uses that day's own error",
    ),
    Mutation(
        "bar-complete-at-midnight",
        "rnnforecast/data/calendars.py",
        'closed = int(np.searchsorted(self.closes, instant, side="right"))',
        'closed = int(np.searchsorted(self.closes.astype("datetime64[D]"), instant, side="right"))',
        ("tests/data/test_calendars.py",),
        "a bar counts as complete from midnight UTC of its session day, before the close",
    ),
    Mutation(
        "manifest-checksum-unverified",
        "rnnforecast/storage/artifacts.py",
        "    if sha256_file(manifest) != expected:\n",
        "    if False:\n",
        ("tests/cli/test_faults.py", "tests/storage/test_artifacts.py"),
        "an edited manifest loads as if sealed",
    ),
    Mutation(
        "ewma-seeded-on-test-rows",
        "rnnforecast/risk/baselines/ewma.py",
        "seed = float(np.mean(returns[: first_test - 1] ** 2))",
        "seed = float(np.mean(returns**2))",
        ("tests/risk/test_baselines.py",),
        "the EWMA baseline's seed variance reads the test period's returns",
    ),
    Mutation(
        "same-recipe-worse-promoted",
        "rnnforecast/jobs/promotion.py",
        "            if p_value is not None and p_value < alpha:\n",
        "            if p_value is not None and p_value < 0:\n",
        ("tests/jobs/test_promotion.py",),
        "a significantly worse model of the same recipe still replaces the current one",
    ),
    Mutation(
        "tie-keeps-current",
        "rnnforecast/jobs/promotion.py",
        "            if p_value is not None and p_value < alpha:\n",
        "            if p_value is None or p_value < alpha:\n",
        (
            "tests/jobs/test_unattended.py::test_run_promotes_first_then_a_newer_model_of_the_same_recipe",
        ),
        "a tie (too few unseen days) keeps the current model instead of the newer",
    ),
    # --- the fan network's peers and group (issue 20) ---------------------------------------
    Mutation(
        "group-fan-network-cut-at-first-member",
        "rnnforecast/training/global_model.py",
        "pooled_fan_network(config, series, np.datetime64(test_start))",
        "pooled_fan_network(config, series, members[0].frame.index.to_numpy()"
        ".astype('datetime64[D]')"
        "[int(np.flatnonzero(members[0].test)[0]) + config.data.lookback])",
        (
            "tests/training/test_fan_peers.py::"
            "test_a_global_model_trains_one_fan_network_over_its_members",
        ),
        "the bug the review found: a group's fan network cut at its first member's own first "
        "test day reads other members' test-period bars",
    ),
    Mutation(
        "peers-read-past-the-cut",
        "rnnforecast/training/fan_fit.py",
        '        through = int(np.searchsorted(np.asarray(dates, dtype="datetime64[D]"), day))',
        '        through = int(np.searchsorted(np.asarray(dates, dtype="datetime64[D]"), day)) + 3',
        (
            "tests/training/test_fan_peers.py::"
            "test_the_pooled_network_reads_every_peer_up_to_the_test_period_only",
            "tests/training/test_fan_peers.py::"
            "test_cutoffs_keep_the_rows_dated_before_the_day_and_drop_short_peers",
        ),
        "a peer's first bars of the ticker's test period reach its fan network",
    ),
)


def _ignore(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n in ("__pycache__", ".pytest_cache", ".mypy_cache")}


def check(mutation: Mutation, root: Path = ROOT) -> str:
    """The mutated text of the mutation's file. Raises ValueError unless ``old`` occurs
    exactly once."""
    text = (root / mutation.file).read_text(encoding="utf-8")
    found = text.count(mutation.old)
    if found != 1:
        raise ValueError(
            f"{mutation.id}: snippet found {found} times in {mutation.file} "
            f"(must be exactly once): {mutation.old!r}"
        )
    return text.replace(mutation.old, mutation.new)


def run_one(mutation: Mutation, timeout: float) -> tuple[str, float, str]:
    """Apply ``mutation`` in a fresh copy of the repository and run its tests there:
    (verdict, seconds, last line of pytest's output)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"mutation-{mutation.id}-") as tmp:
        copy = Path(tmp) / "repo"
        copy.mkdir()
        for name in COPIED:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, copy / name, ignore=_ignore)
            elif source.exists():
                shutil.copy2(source, copy / name)
        (copy / mutation.file).write_text(check(mutation, copy), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
        command += [f"--basetemp={Path(tmp) / 'pytest'}", *mutation.tests]
        try:
            done = subprocess.run(
                command, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return "error", time.monotonic() - started, f"timed out after {timeout:g} s"
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    last = lines[-1] if lines else done.stderr.strip()[-200:]
    # pytest: 0 all passed, 1 some failed; anything else (errors, nothing collected) means
    # the tests did not run as intended.
    verdict = {0: "survived", 1: "caught"}.get(done.returncode, "error")
    return verdict, time.monotonic() - started, last


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], help="run this mutation id")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--check", action="store_true", help="only check every snippet")
    parser.add_argument("--jobs", type=int, default=1, help="mutations run at once")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per mutation")
    args = parser.parse_args(argv)

    ids = [m.id for m in MUTATIONS]
    if len(set(ids)) != len(ids):
        print("error: two mutations share an id", file=sys.stderr)
        return 2
    unknown = sorted(set(args.only) - set(ids))
    if unknown:
        print(f"error: no mutation {unknown[0]!r} (see --list)", file=sys.stderr)
        return 2
    chosen = [m for m in MUTATIONS if not args.only or m.id in args.only]
    if args.list:
        for m in chosen:
            print(f"{m.id}\t{m.file}\t{m.why}\t{' '.join(m.tests)}")
        return 0
    try:
        for m in chosen:
            check(m)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        print(f"all {len(chosen)} snippets found exactly once")
        return 0

    def one(m: Mutation) -> str:
        verdict, seconds, last = run_one(m, args.timeout)
        line = f"{verdict:8s} {m.id:34s} {seconds:6.0f}s  {last}"
        print(line, flush=True)
        return verdict

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        verdicts = list(pool.map(one, chosen))
    caught = verdicts.count("caught")
    print(f"caught {caught} of {len(chosen)}")
    return 0 if caught == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
