"""The issue's acceptance: a nightly `run` whose only change is the served intervals' recipe
promotes the challenger when its intervals score better on the days the current model never
saw, and keeps the current model when they do not.

The series has a volatility that switches every 40 days between 0.4% and 3% a day: a GARCH
follows it within days, the 50-day historical SD lags a whole regime behind, so GARCH's 80%
intervals are clearly better on the 98 unseen days (and the historical SD's clearly worse).
Both recipes serve the naive point (the shrink gate finds no skill in a random walk), so the
one-day MAE cannot tell them apart: only the interval score can. Every figure of the
``promotion`` record is recomputed here by hand: the historical SD with numpy, the GARCH
fitted with arch on the bars before the first unseen day and filtered by its recursion, the
Student-t quantiles with scipy, the DM-HLN p-value from its formula."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_CONFIG, cli
from scipy.stats import t as student

pytestmark = pytest.mark.slow

N, FIRST = 500, 400  # bars in all, bars the current model is trained on
LEVEL = 0.8


def regime_prices(n: int = N, seed: int = 0, block: int = 40) -> pd.DataFrame:
    """Daily bars whose log returns are Gaussian with a standard deviation of 0.4% and 3% in
    turn, ``block`` days each. Columns and index as in conftest's ``make_prices``."""
    rng = np.random.default_rng(seed)
    sd = np.where((np.arange(n) // block) % 2 == 0, 0.004, 0.03)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0, 1.0, n) * sd))
    open_ = np.concatenate([[close[0]], close[:-1]])
    return pd.DataFrame(
        {
            "Open": open_,
            "High": np.maximum(open_, close) * 1.001,
            "Low": np.minimum(open_, close) * 0.999,
            "Close": close,
            "Volume": np.full(n, 1e6),
        },
        index=pd.bdate_range("2020-01-01", periods=n, name="Date"),
    )


def write_config(folder: Path, intervals: str, csv: Path) -> Path:
    path = folder / f"{intervals}.toml"
    recipe = TINY_CONFIG.replace('intervals = "model"', f'intervals = "{intervals}"')
    assert recipe != TINY_CONFIG
    table = f"""
        [run]
        tickers = [{{ ticker = "VOL", source = "csv", path = "{csv.as_posix()}" }}]
        """
    path.write_text(recipe + textwrap.dedent(table))
    return path


def nightly(config: Path, home: Path) -> dict[str, Any]:
    result = cli("run", "--config", str(config), "--json", home=home)
    assert result.exit_code == 0, result.stderr
    (outcome,) = json.loads(result.stdout)["tickers"]
    assert outcome["error"] is None
    return outcome


def served_method(home: Path) -> str:
    result = cli("predict", "VOL", "--json", home=home)
    assert result.exit_code == 0, result.stderr
    method: str = json.loads(result.stdout)["interval_method"]
    return method


def change_recipe(tmp_path: Path, champion: str, challenger: str) -> tuple[dict, dict, Path]:
    """`run` with intervals ``champion`` on the first 400 bars, then with ``challenger`` once
    100 more bars are in the file: both outcomes and the home."""
    prices, csv, home = regime_prices(), tmp_path / "vol.csv", tmp_path / "home"
    prices.iloc[:FIRST].to_csv(csv)
    first = nightly(write_config(tmp_path, champion, csv), home)
    assert first["promoted"] is True and first["promotion"] is None
    assert served_method(home) == champion
    prices.to_csv(csv)
    second = nightly(write_config(tmp_path, challenger, csv), home)
    assert second["rows_added"] == N - FIRST
    return first, second, home


# --- the served intervals, by hand ------------------------------------------------------------


def hist50_bounds(closes: np.ndarray, day: int) -> tuple[float, float]:
    """The 50-day historical SD's 80% interval for row ``day`` from the closes before it,
    around the previous close (the naive point): Gaussian quantiles."""
    returns = np.diff(np.log(closes[max(0, day - 500) : day]))[-50:]
    half = NormalDist().inv_cdf(0.9) * math.sqrt(np.var(returns, ddof=1))
    return closes[day - 1] * math.exp(-half), closes[day - 1] * math.exp(half)


def garch_fit(closes: np.ndarray, rows: int) -> dict[str, float]:
    """GARCH(1,1)-t fitted by arch on the returns of the first ``rows`` closes (in percent,
    as arch prefers); omega back in log-return units squared."""
    from arch import arch_model

    returns = 100 * np.diff(np.log(closes[:rows]))
    fit = arch_model(returns, mean="Zero", vol="GARCH", p=1, q=1, dist="t").fit(disp="off")
    assert fit.convergence_flag == 0
    omega, alpha, beta, nu = (float(v) for v in fit.params)
    return {"omega": omega / 1e4, "alpha": alpha, "beta": beta, "nu": nu}


def garch_bounds(closes: np.ndarray, day: int, p: dict[str, float]) -> tuple[float, float]:
    """GARCH's 80% interval for row ``day``: its variance filtered over the 500 bars before it
    from arch's backcast (0.94-weighted mean of the first 75 squared returns), times the
    standardized Student-t quantile, around the previous close."""
    returns = np.diff(np.log(closes[max(0, day - 500) : day]))
    weights = 0.94 ** np.arange(75)
    backcast = float(np.sum(returns[:75] ** 2 * weights / weights.sum()))
    variance = p["omega"] + (p["alpha"] + p["beta"]) * backcast
    for r in returns:
        variance = p["omega"] + p["alpha"] * r * r + p["beta"] * variance
    z = float(student.ppf(0.9, p["nu"])) * math.sqrt((p["nu"] - 2) / p["nu"])
    half = z * math.sqrt(variance)
    return closes[day - 1] * math.exp(-half), closes[day - 1] * math.exp(half)


def side(closes: np.ndarray, days: np.ndarray, bounds: Any) -> dict[str, Any]:
    """Per-day Winkler scores and the summary of one side, by hand."""
    scores, inside = [], []
    for day in days:
        low, high = bounds(closes, day)
        y = closes[day]
        scores.append(high - low + (2 / (1 - LEVEL)) * (max(low - y, 0) + max(y - high, 0)))
        inside.append(low <= y <= high)
    mae = float(np.mean(np.abs(closes[days] - closes[days - 1])))
    summary = {"interval_score_80": float(np.mean(scores)), "coverage_80": float(np.mean(inside))}
    return {"scores": np.array(scores), "summary": {**summary, "mae": mae}}


def hln_p(a: np.ndarray, b: np.ndarray, alternative: str) -> float:
    """One-sided DM-HLN p-value for h = 1 (``less``: ``a``'s losses are smaller), with
    Newey-West's long-run variance over floor(4 (n / 100)^(2/9)) lags (Bartlett weights)."""
    d = a - b
    n = len(d)
    lags = math.floor(4 * (n / 100) ** (2 / 9))
    c = d - d.mean()
    gamma = [float(np.sum(c[j:] * c[: n - j])) / n for j in range(lags + 1)]
    long_run = gamma[0] + 2 * sum((1 - j / (lags + 1)) * gamma[j] for j in range(1, lags + 1))
    statistic = d.mean() / math.sqrt(long_run / n) * math.sqrt((n - 1) / n)
    return float(
        student.cdf(statistic, n - 1) if alternative == "less" else student.sf(statistic, n - 1)
    )


def by_hand(outcome: dict[str, Any], champion: str, seed: int = 0) -> tuple[dict, dict]:
    """(champion, challenger) sides of ``outcome``'s unseen days, by hand: the challenger's
    test days (all after the current model's last bar). The current model's GARCH is fitted on
    the bars it was trained on; the challenger's (a refit fits on every bar) on the bars before
    the first unseen day, so that no parameter has seen a day it is scored on."""
    prices = regime_prices(seed=seed)
    closes = prices["Close"].to_numpy()
    dates = prices.index.strftime("%Y-%m-%d").tolist()
    test = outcome["metrics"]["test"]
    days = np.arange(dates.index(test["start"]), dates.index(test["end"]) + 1)
    assert days[0] >= FIRST  # every test day is unseen by the current model
    params = garch_fit(closes, FIRST if champion == "garch_t" else int(days[0]))
    garch = side(closes, days, lambda c, d: garch_bounds(c, d, params))
    hist = side(closes, days, hist50_bounds)
    return (garch, hist) if champion == "garch_t" else (hist, garch)


def check_record(record: dict[str, Any], mine: dict, theirs: dict, alternative: str) -> None:
    assert record["days"] == len(mine["scores"]) == len(theirs["scores"]) == 98
    for name, sides in (("champion", theirs), ("challenger", mine)):
        for key, value in sides["summary"].items():
            assert record[name][key] == pytest.approx(value, rel=1e-6), (name, key)
    expected = hln_p(mine["scores"], theirs["scores"], alternative)
    assert record["p_value"] == pytest.approx(expected, rel=1e-4, abs=1e-12)
    assert record["mae_p_value"] is None  # the same naive point on both sides


# --- the acceptance ----------------------------------------------------------------------------


def test_better_served_intervals_of_a_changed_recipe_are_promoted(tmp_path: Path) -> None:
    first, second, home = change_recipe(tmp_path, "hist50", "garch_t")
    record = second["promotion"]
    assert record["decision"] == "promoted" and second["promoted"] is True
    assert record["rule"] == "changed recipe" and record["reason"] == second["reason"]
    assert record["days"] == 98
    theirs, mine = by_hand(second, "hist50")
    check_record(record, mine, theirs, "less")
    assert record["p_value"] < 0.05
    assert record["challenger"]["interval_score_80"] < record["champion"]["interval_score_80"]
    assert second["reason"].startswith("changed recipe; served 80% interval score ")
    assert "significantly beats the current model's" in second["reason"]
    assert first["run_id"] in second["reason"]
    assert second["reason"].endswith(": challenger promoted")
    assert served_method(home) == "garch_t"


def test_worse_served_intervals_of_a_changed_recipe_are_kept_out(tmp_path: Path) -> None:
    first, second, home = change_recipe(tmp_path, "garch_t", "hist50")
    record = second["promotion"]
    assert record["decision"] == "kept" and second["promoted"] is False
    theirs, mine = by_hand(second, "garch_t")
    check_record(record, mine, theirs, "less")
    assert record["p_value"] > 0.5
    assert "does not significantly beat the current model's" in second["reason"]
    assert second["reason"].endswith(": current model kept")
    assert (home / "models" / "VOL" / "current").read_text().strip() == first["run_id"]
    assert served_method(home) == "garch_t"


def test_a_global_model_goes_through_the_same_rule(tmp_path: Path) -> None:
    """Two members, pooled: each member-day's scores divided by the member's in-sample naive
    MAE (recorded in the challenger's manifest), then the same rule."""
    home, seeds = tmp_path / "home", {"VOL": 0, "VAR": 1}
    table = "[run]\nglobal = true\ntickers = [\n" + "".join(
        f'  {{ ticker = "{t}", source = "csv", path = "{t.lower()}.csv" }},\n' for t in seeds
    )
    for intervals, rows in (("hist50", FIRST), ("garch_t", N)):
        for ticker, seed in seeds.items():
            regime_prices(seed=seed).iloc[:rows].to_csv(tmp_path / f"{ticker.lower()}.csv")
        config = tmp_path / f"{intervals}.toml"
        recipe = TINY_CONFIG.replace('intervals = "model"', f'intervals = "{intervals}"')
        config.write_text(recipe + "\n" + table + "]\n")
        result = cli("run", "--config", str(config), "--json", home=home)
        assert result.exit_code == 0, result.stderr
        outcomes = json.loads(result.stdout)["tickers"]
    record = outcomes[0]["promotion"]
    assert all(o["promotion"] == record for o in outcomes)
    run = outcomes[0]["run_id"]
    (group,) = (home / "models").glob("@*")  # the group's folder, named by the job
    manifest = json.loads((group / run / "manifest.json").read_text())
    mine, theirs = [], []
    # pooled in the group's member order: with Newey-West lags the order of the days counts
    by_ticker = {o["ticker"]: o for o in outcomes}
    for ticker in manifest["members"]:
        outcome = by_ticker[ticker]
        scale = manifest["members"][ticker]["naive_scale"]
        champion, challenger = by_hand(outcome, "hist50", seeds[ticker])
        theirs.append(champion["scores"] / scale)
        mine.append(challenger["scores"] / scale)
    ours, others = np.concatenate(mine), np.concatenate(theirs)
    assert record["days"] == len(ours) == 2 * 98
    assert record["challenger"]["interval_score_80"] == pytest.approx(ours.mean(), rel=1e-6)
    assert record["champion"]["interval_score_80"] == pytest.approx(others.mean(), rel=1e-6)
    assert record["p_value"] == pytest.approx(hln_p(ours, others, "less"), rel=1e-4)
    assert record["decision"] == "promoted" and record["rule"] == "changed recipe"
    assert all(o["promoted"] for o in outcomes)
