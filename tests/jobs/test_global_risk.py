"""The ``risk`` objects of a global model's evaluate: each member's (as a per-ticker evaluate
gives it, naming what predict serves that member) and the pool's, its interval scores on log
prices (log-return units). One tiny global model over three synthetic tickers at two price
levels, its intervals chosen by the default rule; run through the CLI as a user would."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_CONFIG, cli, make_prices, strict_json

from rnnforecast.jobs import pool_risk
from rnnforecast.risk.assessment import DayLosses
from rnnforecast.risk.baselines import BASELINES

GROUP = "@AAA+BBB+CCC"
SYMBOLS = ["AAA", "BBB", "CCC"]
RISK_KEYS = [
    "baselines",
    "beats_best_baseline",
    "best_baseline",
    "dm",
    "model",
    "served_intervals",
]
SCORE_KEYS = [
    "christoffersen_cc_p_80",
    "christoffersen_cc_p_95",
    "christoffersen_p_80",
    "christoffersen_p_95",
    "coverage_80",
    "coverage_95",
    "crps",
    "interval_score_80",
    "interval_score_95",
    "kupiec_p_80",
    "kupiec_p_95",
    "pinball",
    "qlike",
]


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A home with AAA, BBB (five times AAA's price level) and CCC (40 days later) and a
    global model over them whose intervals are chosen per member (calibration.intervals =
    auto); its ``evaluate --json`` document and its train document."""
    folder = tmp_path_factory.mktemp("globalrisk")
    home, config = folder / "home", folder / "tiny.toml"
    config.write_text(TINY_CONFIG)
    late = make_prices(300, seed=1).index[40]
    prices = {
        "AAA": make_prices(300, seed=1),
        "BBB": make_prices(300, seed=2) * 5.0,
        "CCC": make_prices(260, seed=3, start=str(late.date())),
    }
    for ticker, frame in prices.items():
        frame.to_csv(folder / f"{ticker}.csv")
        assert (
            cli("fetch", ticker, "--csv", str(folder / f"{ticker}.csv"), home=home).exit_code == 0
        )
    auto = ["--set", "calibration.intervals=auto"]
    trained = cli(
        "train", *SYMBOLS, "--global", "--config", str(config), *auto, "--json", home=home
    )
    assert trained.exit_code == 0, trained.stderr
    train = json.loads(trained.stdout)
    evaluated = cli("evaluate", "BBB", "--json", home=home)
    assert evaluated.exit_code == 0, evaluated.stderr
    manifest = json.loads((Path(train["path"]) / "manifest.json").read_text())
    return {
        "home": home,
        "train": train,
        "evaluate": strict_json(evaluated.stdout),
        "manifest": manifest,
    }


def own_row(risk: dict) -> tuple[str, dict]:
    """The row of the fit's own interval: ``model`` where the weights shape it, else the
    baseline ``naive_conformal`` (rnnforecast.risk.network_use)."""
    if risk["model"] is not None:
        return "model", risk["model"]
    return "naive_conformal", risk["baselines"]["naive_conformal"]


def test_each_member_has_the_per_ticker_risk_object(group: dict) -> None:
    out = group["evaluate"]
    assert out["group"] == GROUP and out["warnings"] == []
    # one calibration for every member: the tiny network's move does not pass the gate
    assert group["train"]["calibration"]["shrink"] == [0.0]
    for symbol in SYMBOLS:
        risk = out["members"][symbol]["risk"]
        assert out["members"][symbol]["network_used"] == {"price": False, "intervals": False}
        assert group["train"]["network_used"][symbol] == {"price": False, "intervals": False}
        assert sorted(risk) == RISK_KEYS
        assert risk["model"] is None
        assert sorted(risk["baselines"]["naive_conformal"]) == SCORE_KEYS
        assert list(risk["baselines"]) == ["naive_conformal", *BASELINES]
        # 300 rows (CCC 260) with the test period at their last 20%: too few for emp250's 251
        assert risk["baselines"]["emp250"] is None
        for name in ("garch_t", "gjr_t", "ewma", "hist50", "har"):
            assert sorted(risk["baselines"][name]) == SCORE_KEYS
        fitted = {k: v["interval_score_80"] for k, v in risk["baselines"].items() if v}
        assert risk["best_baseline"] == min(fitted, key=lambda k: fitted[k])
        # no network row, so nothing to compare it with
        assert risk["dm"] == {"p_value": None, "statistic": None, "lag": None}
        assert risk["beats_best_baseline"] is None


def test_served_intervals_is_what_predict_serves_each_member(group: dict, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(group["home"], home)
    members = group["evaluate"]["members"]
    # a served baseline tells a member's own intervals file from the network's intervals
    assert any(m in BASELINES for m in group["train"]["interval_method"].values())
    for symbol in SYMBOLS:
        predicted = cli("predict", symbol, "--json", home=home)
        assert predicted.exit_code == 0, predicted.stderr
        method = json.loads(predicted.stdout)["interval_method"]
        assert members[symbol]["risk"]["served_intervals"] == method
        assert group["train"]["interval_method"][symbol] == method


def test_pooled_risk_is_in_log_return_units(group: dict) -> None:
    """Every member is scored on the same days, so each pooled coverage is the mean of the
    members'; the interval scores are of log prices (their arithmetic is checked on
    hand-made days below)."""
    out = group["evaluate"]
    members, risk = out["members"], out["pool"]["risk"]
    ns = {members[s]["n"] for s in SYMBOLS}
    assert len(ns) == 1
    n = ns.pop()
    assert (risk["unit"], risk["members"], risk["n"], risk["days"]) == (
        "log_return",
        SYMBOLS,
        3 * n,
        n,
    )

    def pooled(side: str, key: str, name: str | None = None) -> float:
        rows = [members[s]["risk"][side] for s in SYMBOLS]
        rows = [r if name is None else r[name] for r in rows]
        # the fit's own interval: the network's row, or the baseline naive_conformal
        rows = [
            own_row(members[s]["risk"])[1] if r is None else r
            for r, s in zip(rows, SYMBOLS, strict=True)
        ]
        return float(np.mean([r[key] for r in rows]))

    # no weight shapes the members' own intervals: pooled, they are naive_conformal's
    assert risk["model"] is None
    for key in ("coverage_80", "coverage_95"):
        own = risk["baselines"]["naive_conformal"][key]
        assert own == pytest.approx(pooled("model", key), rel=1e-12)
    assert risk["baselines"]["emp250"] is None
    scored = [b for b in BASELINES if b != "emp250"]
    for name in scored:
        entry = risk["baselines"][name]
        assert sorted(entry) == ["coverage_80", "coverage_95", "interval_score_80", "model_ratio"]
        for key in ("coverage_80", "coverage_95"):
            assert entry[key] == pytest.approx(pooled("baselines", key, name), rel=1e-12)
        assert entry["model_ratio"] is None  # no network to put over a baseline
        # a daily 80% interval of log prices is a few percent wide
        assert 0.001 < entry["interval_score_80"] < 0.5
    contest = {b: risk["baselines"][b]["interval_score_80"] for b in [*scored, "naive_conformal"]}
    assert risk["best_baseline"] == min(contest, key=lambda b: contest[b])
    assert risk["beats_best_baseline"] is None
    assert risk["dm"] == {"statistic": None, "p_value": None, "lag": None}


def test_pool_of_a_network_keeps_the_model_row_and_its_ratios() -> None:
    """Where the weights shape the interval the pool keeps its model row and the ratios; the
    relabelled pool moves the same figures to naive_conformal and chooses the best again."""
    losses = {
        name: DayLosses(np.array(score), np.zeros(2, bool), np.zeros(2, bool), np.array(score))
        for name, score in (("model", [1.0, 3.0]), ("garch_t", [2.0, 4.0]))
    }
    days = {"A": pool_risk.MemberDays(np.array(["2021-01-04", "2021-01-05"], "M8[D]"), losses)}
    pooled = pool_risk.pool(days)
    assert pooled is not None and pooled.model is not None
    assert pooled.model["interval_score_80"] == pytest.approx(2.0)  # mean(1, 3), log units
    assert pooled.baselines["garch_t"]["model_ratio"] == pytest.approx(2.0 / 3.0)
    relabelled = pool_risk.as_baseline(pooled)
    assert relabelled.model is None
    assert relabelled.dm == {"statistic": None, "p_value": None, "lag": None}
    assert relabelled.baselines["naive_conformal"] == {**pooled.model, "model_ratio": None}
    assert relabelled.best_baseline == "naive_conformal"
    assert relabelled.baselines["garch_t"]["model_ratio"] is None


def test_human_evaluate_shows_each_members_risk_table_with_its_served_row(group: dict) -> None:
    result = cli("evaluate", GROUP, home=group["home"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    header = "forecast\tIS80\tcov80\tIS95\tcov95\tQLIKE\tpinball"
    starts = [i for i, line in enumerate(lines) if line == header]
    assert len(starts) == 3  # one risk table per member, in member order
    members = group["evaluate"]["members"]
    for symbol, start in zip(SYMBOLS, starts, strict=True):
        rows = [line.split("\t")[0] for line in lines[start + 1 : start + 8]]
        served = members[symbol]["risk"]["served_intervals"]
        # no weight shapes the members' own interval: its row is the baseline naive_conformal
        named = ["naive_conformal", *BASELINES]
        expected = [f"{b} (served)" if b == served else b for b in named]
        assert rows == expected
        assert f"\n{symbol}: one-step intervals next to the volatility baselines" in (
            "\n" + result.stderr
        )
    pool_header = lines.index("forecast\tIS80 (log)\tmodel ratio\tcov80\tcov95")
    pool_rows = [line.split("\t")[0] for line in lines[pool_header + 1 :]]
    assert pool_rows == ["naive_conformal", *BASELINES]
    assert "pool of AAA, BBB, CCC: 80% interval scores of log prices (log-return units" in (
        result.stderr
    )


# --- the pooling arithmetic on hand-made days ----------------------------------------------


def _days(
    dates: list[str], scale: float, model: list[float], garch: list[float]
) -> pool_risk.MemberDays:
    """Per-day figures whose log-price scores are ``model`` and ``garch``; the price-unit
    scores are ``scale`` times those (a member at ``scale`` times another's price level)."""

    def losses(scores: list[float]) -> DayLosses:
        values = np.array(scores)
        return DayLosses(values * scale, values > 2, values > 3, values)

    return pool_risk.MemberDays(
        np.array(dates, dtype="datetime64[D]"),
        {"model": losses(model), "garch_t": losses(garch)},
    )


def test_pool_weighs_member_days_and_tests_per_day_means() -> None:
    """Log-price scores pooled over member-days; the DM-HLN test (h = 1, one-sided 'less') on
    the mean over members of each calendar day, computed here by its textbook formula."""
    from scipy.stats import t as student

    a = _days(
        ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"], 1.0, [1, 3, 2, 2.5], [2, 2, 2, 2]
    )
    # B is at ten times A's level and has no bar on 2024-01-03
    b = _days(["2024-01-01", "2024-01-02", "2024-01-04"], 10.0, [1.2, 1.5, 4.0], [2, 2, 2])
    risk = pool_risk.pool({"A": a, "B": b})
    assert risk is not None
    scaled_model = [1, 3, 2, 2.5, 1.2, 1.5, 4.0]
    assert (risk.unit, risk.n, risk.days, risk.members) == ("log_return", 7, 4, ["A", "B"])
    assert risk.model["interval_score_80"] == pytest.approx(np.mean(scaled_model))
    # outside the 80% interval: scaled score above 2 (A: 3, 2.5; B: 4.0)
    assert risk.model["coverage_80"] == pytest.approx(4 / 7)
    assert risk.model["coverage_95"] == pytest.approx(6 / 7)
    garch = risk.baselines["garch_t"]
    assert garch is not None and garch["interval_score_80"] == pytest.approx(2.0)
    assert garch["model_ratio"] == pytest.approx(np.mean(scaled_model) / 2.0)
    assert [risk.baselines[b] for b in BASELINES if b != "garch_t"] == [None] * 5
    assert risk.best_baseline == "garch_t"
    assert risk.beats_best_baseline is False  # 2.17 > 2
    d = np.array([(1 + 1.2) / 2, (3 + 1.5) / 2, 2.0, (2.5 + 4.0) / 2]) - 2.0
    n, c = len(d), d - d.mean()
    # Newey-West: 1 lag at n = 4 (floor(4 (4/100)^(2/9))), Bartlett weight 1 - 1/2
    variance = (np.mean(c**2) + 2 * 0.5 * np.sum(c[1:] * c[:-1]) / n) / n
    assert risk.dm["lag"] == 1
    statistic = d.mean() / math.sqrt(variance) * math.sqrt((n + 1 - 2) / n)
    assert risk.dm["statistic"] == pytest.approx(statistic, rel=1e-9)
    assert risk.dm["p_value"] == pytest.approx(float(student.cdf(statistic, n - 1)), rel=1e-9)


def test_members_at_prices_100_times_apart_weigh_equally() -> None:
    """The same returns at 1 and at 100: the 100-fold member's price-unit scores are 100
    times larger, its log-price scores the same, so swapping which member beats the
    baseline leaves the pool unchanged."""
    from rnnforecast.risk.assessment import DayForecasts, scores

    rng = np.random.default_rng(0)
    closes = np.exp(np.cumsum(rng.normal(0, 0.01, 41)))
    last, actual = closes[:-1], closes[1:]

    def member(level: float, width: float) -> pool_risk.MemberDays:
        low, high = level * last * np.exp(-width), level * last * np.exp(width)
        bounds = {lv: (low, high) for lv in (0.8, 0.9, 0.95)}
        day = DayForecasts(bounds, level * last, np.zeros(40), np.full(40, width**2))
        _, model = scores(level * actual, level * last, day, np.full(40, 1e-4))
        bounds = {lv: (low / 1.01, high * 1.01) for lv in (0.8, 0.9, 0.95)}
        base = DayForecasts(bounds, level * last, np.zeros(40), np.full(40, width**2))
        _, garch = scores(level * actual, level * last, base, np.full(40, 1e-4))
        dates = np.arange(40).astype("datetime64[D]")
        return pool_risk.MemberDays(dates, {"model": model, "garch_t": garch})

    one = pool_risk.pool({"cheap": member(1.0, 0.005), "dear": member(100.0, 0.02)})
    other = pool_risk.pool({"cheap": member(1.0, 0.02), "dear": member(100.0, 0.005)})
    assert one is not None and other is not None
    assert one.model["interval_score_80"] == pytest.approx(other.model["interval_score_80"])
    assert one.baselines["garch_t"] == pytest.approx(other.baselines["garch_t"])
    # by hand: the log score of day t is 2 w + 10 * (miss of ln y beyond ln last +- w)
    r = np.log(actual / last)
    by_hand = [2 * w + 10 * np.maximum(np.abs(r) - w, 0) for w in (0.005, 0.02)]
    assert one.model["interval_score_80"] == pytest.approx(np.mean(np.concatenate(by_hand)))


def test_pool_of_nobody_is_none() -> None:
    assert pool_risk.pool({}) is None
