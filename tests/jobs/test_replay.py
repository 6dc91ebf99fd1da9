"""evaluate --replay (rnnforecast/jobs/replay.py, rnnforecast/jobs/replay_scores.py): every
choice made on the past only, served scores recomputed by hand from the per-day forecasts,
the JSON contract, and the errors."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_CONFIG, assert_error, cli, make_prices
from scipy import stats

import rnnforecast
from rnnforecast.jobs import replay as replays
from rnnforecast.metrics.probabilistic import christoffersen_cc_p
from rnnforecast.storage.home import Home

# the served intervals chosen ("auto") among the network's and the baselines', as train does
AUTO_CONFIG = TINY_CONFIG.replace('intervals = "model"', 'intervals = "auto"')
EVERY = 25  # 300 bars: a test period of about 58 days, so three refit dates


def _home_with_model(folder: Path, prices: pd.DataFrame) -> Path:
    home, csv, config = folder / "home", folder / "prices.csv", folder / "auto.toml"
    prices.to_csv(csv)
    config.write_text(AUTO_CONFIG)
    assert cli("fetch", "TEST", "--csv", str(csv), home=home).exit_code == 0
    trained = cli("train", "TEST", "--config", str(config), home=home)
    assert trained.exit_code == 0, trained.stderr
    return home


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One model of 300 synthetic bars, replayed through the CLI (JSON and a plot) and
    through the core (the per-day forecasts)."""
    folder = tmp_path_factory.mktemp("replay")
    prices = make_prices(300, seed=3)
    home = _home_with_model(folder, prices)
    plot = folder / "replay.png"
    args = ("evaluate", "TEST", "--replay", "--every", str(EVERY), "--json", "--plot", str(plot))
    result = cli("--verbose", *args, home=home)
    assert result.exit_code == 0, result.stderr
    core = rnnforecast.Forecaster(home).replay("TEST", every=EVERY)  # the Python API
    return {
        "home": home,
        "folder": folder,
        "prices": prices,
        "json": json.loads(result.stdout),
        "stderr": result.stderr,
        "plot": plot,
        "core": core,
    }


def test_json_has_the_contract_paths(replayed: dict[str, Any]) -> None:
    doc = replayed["json"]["replay"]
    assert doc["every"] == EVERY and len(doc["refits"]) == 3
    for refit in doc["refits"]:
        assert set(refit) >= {
            "trained_through",
            "chosen_through",
            "serves_from",
            "serves_to",
            "interval_method",
            "shrink",
        }
        assert refit["trained_through"] < refit["serves_from"] <= refit["serves_to"]
    # the fans 1, 5 and 22 sessions ahead: what predict serves, scored on the same origins
    assert set(doc["horizons"]) == {"1", "5", "22"}
    fan_keys = {"interval_score_80", "coverage_80", "kupiec_p", "pinball", "crps", "qlike", "n"}
    for horizon, block in doc["horizons"].items():
        assert set(block) == {"served", "network", "baselines", "dm", "share"}
        fans = [block["served"], *block["baselines"].values()]
        assert all(set(f) >= fan_keys for f in fans)
        assert len({f["n"] for f in fans}) == 1  # the same origins for every fan
        assert block["dm"]["horizon"] == int(horizon) and math.isclose(
            sum(block["share"].values()), 1
        )
        assert block["dm"]["lag"] >= int(horizon) - 1
    assert doc["horizons"]["22"]["served"]["n"] == doc["horizons"]["1"]["served"]["n"] - 21
    # the point and the one-day intervals record, as before the fans
    h = doc["one_day"]
    assert set(h) >= {"served", "network", "baselines", "dm", "share"}
    keys = {
        "interval_score_80",
        "interval_score_95",
        "coverage_80",
        "kupiec_p",
        "christoffersen_cc_p",
        "rel_mae",
        "n",
    }
    scored = [h["served"], h["network"], *(v for v in h["baselines"].values() if v)]
    assert all(set(s) >= keys for s in scored)
    assert len({s["n"] for s in scored}) == 1  # the same days for every forecaster
    assert math.isclose(sum(h["share"].values()), 1.0)
    assert replayed["plot"].stat().st_size > 0
    assert replayed["stderr"].count("refit trained through") == 3  # --verbose: one per date
    # the first served day is the first day of the model's test period
    manifest = json.loads(
        next((replayed["home"] / "models" / "TEST").glob("*/manifest.json")).read_text()
    )
    assert doc["refits"][0]["serves_from"] == manifest["data"]["test"]["start"]


def test_the_python_api_replays_what_the_command_line_prints(replayed: dict[str, Any]) -> None:
    def without_times(doc: dict[str, Any]) -> dict[str, Any]:
        doc = json.loads(json.dumps(doc))
        doc["replay"].pop("seconds")
        for refit in doc["replay"]["refits"]:
            refit.pop("seconds")
        return doc

    assert without_times(replayed["core"].to_dict()) == without_times(replayed["json"])


def test_served_scores_equal_a_by_hand_recomputation(replayed: dict[str, Any]) -> None:
    core = replayed["core"]
    days = core.frame()
    y, naive = days["actual"].to_numpy(), days["naive"].to_numpy()
    low, high = days["served_low_80"].to_numpy(), days["served_high_80"].to_numpy()
    # Winkler's interval score at alpha = 0.2, written out
    score = (high - low) + 10 * np.maximum(low - y, 0) + 10 * np.maximum(y - high, 0)
    hits = (y < low) | (y > high)
    n, x = len(y), int(hits.sum())
    lr_uc = -2 * (stats.binom.logpmf(x, n, 0.2) - stats.binom.logpmf(x, n, x / n))
    served = core.horizon_scores(1)["served"]
    assert served["interval_score_80"] == pytest.approx(score.mean(), rel=1e-12)
    assert served["coverage_80"] == pytest.approx(1 - x / n, rel=1e-12)
    assert served["kupiec_p"] == pytest.approx(stats.chi2.sf(lr_uc, 1), rel=1e-9)
    mae = np.abs(y - days["served_point"].to_numpy()).mean() / np.abs(y - naive).mean()
    assert served["rel_mae"] == pytest.approx(mae, rel=1e-12)
    low95, high95 = days["served_low_95"].to_numpy(), days["served_high_95"].to_numpy()
    score95 = (high95 - low95) + 40 * np.maximum(low95 - y, 0) + 40 * np.maximum(y - high95, 0)
    assert served["interval_score_95"] == pytest.approx(score95.mean(), rel=1e-12)
    # a baseline alone is centred on the previous close: its rel_mae is 1
    h = core.horizon_scores(1)
    assert all(v["rel_mae"] == pytest.approx(1.0) for v in h["baselines"].values() if v)
    # HLN-corrected DM at h = 1 against the best baseline, by hand, with Newey-West's
    # long-run variance over floor(4 (n / 100)^(2/9)) lags (Bartlett weights)
    best = h["dm"]["against"]
    b_low, b_high = days[f"{best}_low_80"].to_numpy(), days[f"{best}_high_80"].to_numpy()
    b_score = (b_high - b_low) + 10 * np.maximum(b_low - y, 0) + 10 * np.maximum(y - b_high, 0)
    d = score - b_score
    lags = math.floor(4 * (n / 100) ** (2 / 9))
    c = d - d.mean()
    gamma = [float(np.sum(c[j:] * c[: n - j])) / n for j in range(lags + 1)]
    long_run = gamma[0] + 2 * sum((1 - j / (lags + 1)) * gamma[j] for j in range(1, lags + 1))
    statistic = d.mean() / math.sqrt(long_run / n) * math.sqrt((n - 1) / n)
    assert h["dm"]["lag"] == lags
    assert h["dm"]["statistic"] == pytest.approx(statistic, rel=1e-9)
    assert h["dm"]["p_value"] == pytest.approx(stats.t.cdf(statistic, n - 1), rel=1e-9)


def test_served_is_the_network_or_the_chosen_baseline_around_the_network_point(
    replayed: dict[str, Any],
) -> None:
    days = replayed["core"].frame()
    assert np.array_equal(days["served_point"], days["network_point"])
    own = days["method"].isin(["conformal", "adaptive_conformal"]).to_numpy()
    assert np.array_equal(days["served_low_80"][own], days["network_low_80"][own])
    for method in set(days["method"][~own]):  # a baseline's widths around the network point
        on = (days["method"] == method).to_numpy()
        ratio = np.log(days["served_high_80"][on] / days["served_point"][on])
        alone = np.log(days[f"{method}_high_80"][on] / days["naive"][on])
        np.testing.assert_allclose(ratio, alone, rtol=1e-9)


def test_every_choice_and_forecast_before_a_date_ignores_the_bars_after_it(
    replayed: dict[str, Any], tmp_path: Path
) -> None:
    first = replayed["core"]
    cut = first.refits[-1].serves_from  # the last refit date's first served day
    prices = replayed["prices"].copy()
    later = prices.index >= pd.Timestamp(cut)
    prices.loc[later, ["Open", "High", "Low", "Close"]] *= 1.7  # a jump nobody could know
    home = replayed["folder"] / "changed"
    changed_csv = tmp_path / "changed.csv"
    prices.to_csv(changed_csv)
    import shutil

    shutil.copytree(replayed["home"], home)
    assert cli("fetch", "TEST", "--csv", str(changed_csv), "--replace", home=home).exit_code == 0
    second = replays.replay(Home(home), "TEST", every=EVERY)
    for a, b in zip(first.refits[:-1], second.refits[:-1], strict=True):
        assert (a.trained_through, a.interval_method, a.shrink) == (
            b.trained_through,
            b.interval_method,
            b.shrink,
        )
    before = first.frame().index <= pd.Timestamp(cut)  # day `cut` is forecast from the day before
    a, b = first.frame()[before], second.frame()[before]
    forecasts = [c for c in a.columns if c not in ("actual", "method")]
    actual_before = a.index < pd.Timestamp(cut)
    np.testing.assert_allclose(a.loc[actual_before, "actual"], b.loc[actual_before, "actual"])
    np.testing.assert_allclose(
        a[forecasts].to_numpy(float), b[forecasts].to_numpy(float), rtol=1e-9
    )
    # and the bars after it did change what came after
    assert not np.allclose(first.frame()["actual"], second.frame()["actual"])


def test_conditional_coverage_is_lr_uc_plus_lr_ind_against_chi2_2() -> None:
    """The replay's christoffersen_cc_p is the metrics package's: Kupiec's ratio on all n
    days plus the independence ratio on the n - 1 transitions, against chi-squared(2)."""
    hits = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0], dtype=bool)
    prev, nxt = hits[:-1], hits[1:]
    n00, n01 = np.sum(~prev & ~nxt), np.sum(~prev & nxt)  # 10, 3
    n10, n11 = np.sum(prev & ~nxt), np.sum(prev & nxt)  # 3, 3
    assert (n00, n01, n10, n11) == (10, 3, 3, 3)
    p, rate = 0.2, 6 / 20  # 6 misses in 20 days
    lr_uc = -2 * (
        14 * math.log(1 - p) + 6 * math.log(p) - 14 * math.log(1 - rate) - 6 * math.log(rate)
    )
    pi, pi01, pi11 = 6 / 19, 3 / 13, 3 / 6
    lr_ind = -2 * (
        13 * math.log(1 - pi)
        + 6 * math.log(pi)
        - 10 * math.log(1 - pi01)
        - 3 * math.log(pi01)
        - 3 * math.log(1 - pi11)
        - 3 * math.log(pi11)
    )
    expected = stats.chi2.sf(lr_uc + lr_ind, 2)
    assert christoffersen_cc_p(hits, 0.8) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--replay", "--every", "0"), ("--every",)),
        (("--replay", "--from", "2031-01-01"), ("2031-01-01", "last stored bar")),
        (("--replay", "--from", "2020-01-01"), ("2020-01-01",)),
        (("--every", "5"), ("--replay",)),
        (("--replay", "--folds", "2"), ("--replay",)),
        (("--replay", "--plot", "x.jpg"), ("PNG",)),
    ],
)
def test_bad_replay_options_exit_2_with_one_line(
    trained_home: Path, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    assert_error(cli("evaluate", "TEST", *args), 2, *words)


def test_a_replay_without_a_model_exits_4_with_a_hint(prices_csv: Path) -> None:
    assert cli("fetch", "ABC", "--csv", str(prices_csv)).exit_code == 0
    result = cli("evaluate", "ABC", "--replay")
    assert_error(result, 4)
    assert result.stderr == "error: no model for ABC: run `rnnforecast train ABC` first\n"


def test_the_networks_95_width_is_the_conformal_quantile_its_80_width_is() -> None:
    """The calibration keeps one width (80%); the replay's 95% width is the same split
    conformal quantile of the same calibration scores, which at 80% gives back the kept one.
    TINY_CONFIG's network shapes nothing served, so no refit: the scored fit serves, and its
    calibration scores are its forecasts of validation's calibration piece."""
    import tomllib

    from rnnforecast.config import config_from_dict
    from rnnforecast.training import per_ticker

    prices = make_prices(300, seed=3).rename(columns=str.lower)
    config = config_from_dict(tomllib.loads(TINY_CONFIG))
    choice = per_ticker.fit_and_choose(prices, config)
    assert choice.served is choice.scored
    served = choice.served.model
    part = choice.dataset.select(choice.split.calibration)
    ranked = np.sort(served.one_step_scores(part.base, part.actual[:, 0]))
    n = len(ranked)
    widths = replays.calibration_widths(choice, config)
    assert ranked[math.ceil((n + 1) * 0.8) - 1] == pytest.approx(served.calibration.halfwidth[0])
    assert widths[0.8] == served.calibration.halfwidth[0]
    assert widths[0.95] == ranked[min(math.ceil((n + 1) * 0.95), n) - 1]


def test_the_replay_tables_in_a_pipe(replayed: dict[str, Any]) -> None:
    result = cli("evaluate", "TEST", "--replay", "--every", "100", home=replayed["home"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split("\t")[:4] == ["trained through", "serves from", "serves to", "intervals"]
    assert len([line for line in lines if line.count("\t") == 5]) == 2  # header + one refit
    one_day = {line.split("\t")[0]: line.split("\t") for line in lines if line.count("\t") == 7}
    assert {"point + one-day record", "network", "garch_t"} <= set(one_day)
    assert one_day["point + one-day record"][-1] == one_day["network"][-1]  # n: the same days
    assert "one-day record vs best baseline" in result.stderr
    # a table per horizon of the fans: a header, the served fan, then every classical fan
    fans = [line.split("\t") for line in lines if line.count("\t") == 8]
    assert [row[0] for row in fans].count("fan") == 3
    assert [row[0] for row in fans].count("served") == 3
    for horizon in ("1 session", "5 sessions", "22 sessions"):
        assert f"{horizon}: served vs best classical fan" in result.stderr
