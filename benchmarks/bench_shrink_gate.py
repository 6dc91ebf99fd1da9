"""How much skill does the shrink gate need before it lets a network's forecast through?

``train`` calibrates the network's one-step move on its validation windows: it picks the
shrink factor (0, 0.01, ..., 1) with the lowest validation MAE, then keeps it only if its
edge over the naive forecast passes a one-sided Diebold-Mariano-HLN test at
``calibration.significance`` (0.05); otherwise the factor is 0 and the served price is the
naive close. "Every network fell back to naive" is therefore evidence of no skill only as
far as this gate has power. This benchmark measures it by simulation, with the tool's own
calibration (:func:`rnnforecast.forecast.calibration.fit_calibration`):

- each validation window's next log return is ``r = s + e``: ``s`` is the part a network
  could know (Gaussian), ``e`` the rest (Student-t with 5 degrees of freedom, fat tails as
  daily returns have), with ``R^2 = var(s) / var(r)`` from 0 (no skill) up;
- the "network" forecasts ``s`` exactly: an oracle of the knowable part, the best case;
- **size**: how often the gate passes for a network of no skill (``R^2 = 0``) whose moves
  are independent noise of a tenth or a third of a day's standard deviation (it should pass
  at most as often as the level; the factor is chosen on the same windows the test is run
  on, which can inflate it);
- **power**: how often it passes at ``R^2 > 0``, for validation parts of 170 windows (the
  default recipe on about 1,650 rows), 420 and 1,000.

    python benchmarks/bench_shrink_gate.py              # 2,000 simulated validation parts per cell
    python benchmarks/bench_shrink_gate.py --reps 500   # quicker

Prints one table (pass rate per R^2 and validation size, with a 95% binomial margin) and
writes it to benchmarks/results/shrink-gate-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import time
from pathlib import Path

import numpy as np

from rnnforecast.forecast.calibration import fit_calibration

RESULTS = Path(__file__).parent / "results"
DAILY_SD = 0.015  # a typical daily log-return standard deviation of a large stock
T_DOF = 5
WINDOW = 50  # the default recipe's window: the conformal widths use its closes
SIZES = (170, 420, 1000)
SKILLS = (0.002, 0.005, 0.01, 0.02, 0.05)
NO_SKILL_MOVES = (0.1, 0.3)  # a no-skill network's move sd, in daily standard deviations
LEVEL = 0.8
SIGNIFICANCE = 0.05


def simulate_part(
    n: int, r2: float, rng: np.random.Generator, no_skill_move: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One validation part of ``n`` windows: ``(raw, actual, base)`` as fit_calibration takes
    them (``(n, 1)`` forecast and actual closes, ``(n, WINDOW + 1, 5)`` OHLCV windows whose
    last close is the forecast's origin). The network forecasts the knowable part exactly,
    plus independent noise of ``no_skill_move`` daily standard deviations (0: none)."""
    known = rng.normal(0.0, DAILY_SD * math.sqrt(r2), n)
    guess = known + rng.normal(0.0, DAILY_SD * no_skill_move, n)
    t = rng.standard_t(T_DOF, n) / math.sqrt(T_DOF / (T_DOF - 2))  # unit variance
    noise = t * DAILY_SD * math.sqrt(1.0 - r2)
    past = rng.normal(0.0, DAILY_SD, (n, WINDOW))
    closes = 100.0 * np.exp(np.concatenate([np.zeros((n, 1)), np.cumsum(past, axis=1)], axis=1))
    base = np.repeat(closes[:, :, None], 5, axis=2)
    last = closes[:, -1]
    raw = (last * np.exp(guess))[:, None]
    actual = (last * np.exp(known + noise))[:, None]
    return raw, actual, base


def pass_rate(
    n: int, r2: float, reps: int, seed: int, no_skill_move: float = 0.0
) -> dict[str, float]:
    """Share of ``reps`` simulated validation parts whose shrink factor survives the gate,
    and the mean factor kept (0 when the gate refuses)."""
    rng = np.random.default_rng(seed)
    passed, kept = 0, 0.0
    for _ in range(reps):
        raw, actual, base = simulate_part(n, r2, rng, no_skill_move)
        calibration = fit_calibration(
            raw, actual, base, WINDOW, LEVEL, shrink=True, significance=SIGNIFICANCE
        )
        factor = calibration.shrink[0]
        passed += factor > 0
        kept += factor
    rate = passed / reps
    return {
        "pass_rate": rate,
        "margin_95": 1.96 * math.sqrt(max(rate * (1 - rate), 1e-12) / reps),
        "mean_factor": kept / reps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=2000, help="simulated parts per cell")
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args()
    started = time.perf_counter()
    rows = [(f"no skill, moves {m:g} sd", 0.0, m) for m in NO_SKILL_MOVES]
    rows += [(f"oracle, R^2 {r2:g}", r2, 0.0) for r2 in SKILLS]
    table: dict[str, dict[str, dict[str, float]]] = {}
    for j, (name, r2, move) in enumerate(rows):
        table[name] = {
            str(n): pass_rate(n, r2, args.reps, args.seed + 1000 * j + i, move)
            for i, n in enumerate(SIZES)
        }
    print(f"shrink gate pass rate ({args.reps} parts per cell, t({T_DOF}) returns)")
    print("network\t" + "\t".join(f"n={n}" for n in SIZES))
    for name, cells in table.items():
        print(
            name
            + "\t"
            + "\t".join(f"{c['pass_rate']:.3f}±{c['margin_95']:.3f}" for c in cells.values())
        )
    print(f"({time.perf_counter() - started:.0f} s)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"shrink-gate-{stamp}.json"
    record = {"reps": args.reps, "seed": args.seed, "significance": SIGNIFICANCE, "table": table}
    out.write_text(json.dumps(record, indent=1))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
