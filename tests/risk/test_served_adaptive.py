"""Adaptive widths on a served baseline (rnnforecast.risk.adaptive_widths): the factor against a
straightforward computation, a volatility jump that fixed widths miss, the recipe key, the
record's scheme and old records without one."""

from __future__ import annotations

import json
import math
import shutil
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import (
    TINY_CONFIG,
    HomeAsOf,
    bars_of_returns,
    cli,
    current_bundle,
    heavy_imports,
    reseal,
    trained_entry,
)

from rnnforecast.errors import ModelError
from rnnforecast.forecast.calibration import Calibration
from rnnforecast.forecast.conformal import Adaptive
from rnnforecast.jobs import prediction
from rnnforecast.risk import adaptive_widths, interval_choice
from rnnforecast.risk.baselines import BASELINES, REGISTRY
from rnnforecast.storage.artifacts import sha256_file

NAIVE = Calibration((0.0,), (1.0,), 0.8)  # a served baseline's name does not depend on it

# GARCH(1,1)-t with a persistent, weakly reacting variance; omega jumps tenfold at TRAIN_ROWS
# (the daily volatility about triples), so a GARCH fitted before the jump pulls its variance
# back toward the calm level: its fixed 80% interval is too narrow after it.
NU, ALPHA, BETA, OMEGAS = 6.0, 0.03, 0.95, (2e-6, 2e-5)
ROWS, TRAIN_ROWS, WALK = 1400, 1000, 300


def regime_prices(n: int = ROWS, switch: int = TRAIN_ROWS, seed: int = 1) -> pd.DataFrame:
    """Daily bars whose close-to-close log returns follow GARCH(1,1)-t (omega OMEGAS[0] before
    row ``switch``, OMEGAS[1] from it; 500 burn-in days dropped); open = previous close."""
    rng = np.random.default_rng(seed)
    shocks = rng.standard_t(NU, n + 500) * math.sqrt((NU - 2) / NU)
    returns = np.empty(n + 500)
    variance = OMEGAS[0] / (1 - ALPHA - BETA)
    for t in range(n + 500):
        returns[t] = math.sqrt(variance) * shocks[t]
        omega = OMEGAS[0] if t < switch + 500 else OMEGAS[1]
        variance = omega + ALPHA * returns[t] ** 2 + BETA * variance
    return bars_of_returns(returns[500:], np.full(n, 1e6))


# --- the factor, computed the long way ----------------------------------------------------


def straightforward_factor(record: interval_choice.IntervalRecord, rows: np.ndarray) -> float:
    """The factor for the day after ``rows``, by hand: each past day's served one-step
    half-width from :func:`interval_choice.cumulative_quantiles` on the bars before it, its score
    ``|log return| / sd`` (sd = half-width / z), then adaptive conformal inference written out
    day by day: ``alpha`` starts at 0.2 ``warmup`` days back and moves by ``gamma (0.2 - miss)``,
    each width the ``ceil((n + 1)(1 - alpha))``-th smallest of the ``n`` scores before it."""
    scheme = record.adaptive
    assert scheme is not None
    z = 1.0 if record.z is None else (record.z[1] - record.z[0]) / 2
    closes = rows[:, 3]
    scores = []
    for j in range(len(rows) - scheme.history - 1, len(rows) - 1):  # the return into row j + 1
        q = interval_choice.cumulative_quantiles(record, rows[: j + 1], 1)[0]
        sd = (q[1] - q[0]) / 2 / z
        scores.append(abs(math.log(closes[j + 1] / closes[j])) / sd)

    def quantile(window: list[float], alpha: float) -> float:
        n = len(window)
        k = min(max(math.ceil((n + 1) * (1 - alpha) - 1e-9), 1), n)
        return sorted(window)[k - 1]

    n, target, alpha = scheme.window, 1 - record.level, 1 - record.level
    for day in range(n, n + scheme.warmup):  # scores[day] is the day being walked
        miss = scores[day] > quantile(scores[day - n : day], alpha)
        alpha += scheme.gamma * (target - miss)
    return quantile(scores[-n:], alpha) / z


@pytest.mark.parametrize("method", BASELINES)
def test_factor_equals_a_straightforward_computation(method: str) -> None:
    bars = regime_prices(420, switch=330).to_numpy(dtype=np.float64)
    scheme = Adaptive(window=30, gamma=0.05, warmup=40)
    record = replace(
        interval_choice.fit_record(method, bars, 300, 0.8, "2011-02-25"), adaptive=scheme
    )
    got = adaptive_widths.factor(record, bars)
    assert got == pytest.approx(straightforward_factor(record, bars), rel=1e-9)
    assert got != 1.0  # the scheme ran: 1.0 is what too little history gives


# 550 scored days: more than SERVE_ROWS bars hold, for every method, so the bars the scheme
# needs, not SERVE_ROWS, set what predict reads
LONG = Adaptive(window=100, gamma=0.002, warmup=450)


@pytest.mark.parametrize("method", BASELINES)
@pytest.mark.parametrize("scheme", [interval_choice.DEFAULT, LONG], ids=["default", "long"])
def test_the_scheme_applies_from_the_bars_predict_reads_for_every_method(
    method: str, scheme: Adaptive
) -> None:
    """For each baseline, the fewest bars from which the factor moves off 1.0 (the scheme ran)
    are found by bisection between the scheme's history and 1400 bars; predict's read
    (rows_needed) covers them, ``applies`` says the same at that count and one below, and
    ``as_served`` drops the scheme (so the name drops +rolling) exactly where it cannot
    apply."""
    bars = regime_prices(1400, switch=1000).to_numpy(dtype=np.float64)
    record = replace(
        interval_choice.fit_record(method, bars[:900], 900, 0.8, "2011-02-25"), adaptive=scheme
    )
    low, high = scheme.history, 1400  # fewer bars than scored days: the factor cannot move
    assert adaptive_widths.factor(record, bars[-low:]) == 1.0
    assert adaptive_widths.factor(record, bars[-high:]) != 1.0
    while high - low > 1:  # the first count that moves it, by bisection
        mid = (low + high) // 2
        low, high = (
            (low, mid) if adaptive_widths.factor(record, bars[-mid:]) != 1.0 else (mid, high)
        )
    first = high
    assert adaptive_widths.factor(record, bars[-(first - 1) :]) == 1.0
    assert adaptive_widths.rows_needed(record) >= first
    assert adaptive_widths.rows_needed(record) == max(interval_choice.SERVE_ROWS, first)
    assert adaptive_widths.factor(record, bars[-adaptive_widths.rows_needed(record) :]) != 1.0
    assert adaptive_widths.applies(record, first)
    assert not adaptive_widths.applies(record, first - 1)
    assert adaptive_widths.as_served(record, first) == record
    short = adaptive_widths.as_served(record, first - 1)
    assert short == replace(record, adaptive=None)
    assert interval_choice.served_name(short, NAIVE) == method
    assert interval_choice.served_name(record, NAIVE) == method + "+rolling"
    assert not adaptive_widths.applies(replace(record, adaptive=None), 1400)
    assert adaptive_widths.as_served(None, 1400) is None


def test_the_networks_record_has_no_scheme_to_apply() -> None:
    bars = regime_prices(420, switch=330).to_numpy(dtype=np.float64)
    own = interval_choice.IntervalRecord("model", 0.8, {}, None, adaptive=interval_choice.DEFAULT)
    assert adaptive_widths.factor(own, bars) == 1.0
    assert not adaptive_widths.applies(own, 10_000)
    assert not adaptive_widths.applies(None, 10_000)


def test_the_factor_reads_the_last_rows_needed_bars_only() -> None:
    """A GARCH filter run from further back gives other scales: the factor of a long
    history is that of its last rows_needed bars."""
    bars = regime_prices(1400, switch=1000).to_numpy(dtype=np.float64)
    record = replace(
        interval_choice.fit_record("garch_t", bars, 900, 0.8, "x"), adaptive=interval_choice.DEFAULT
    )
    need = adaptive_widths.rows_needed(record)
    assert adaptive_widths.factor(record, bars) == adaptive_widths.factor(record, bars[-need:])
    assert adaptive_widths.factor(record, bars[-need - 200 :][:need]) != adaptive_widths.factor(
        record, bars[-need:]
    )


def test_a_zero_scale_is_not_warned_about() -> None:
    """emp250 after 250 unchanged closes has a scale of 0; the next day's move divides by it
    (numpy would warn). The factor is computed without a warning."""
    closes = np.concatenate([np.full(620, 50.0), [51.0]])
    bars = np.column_stack([closes, closes, closes, closes, np.full(closes.size, 1e6)])
    scheme = Adaptive(window=20, gamma=0.0, warmup=0)
    record = interval_choice.IntervalRecord("emp250", 0.8, {"window": 250.0}, None, adaptive=scheme)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        factor = adaptive_widths.factor(record, bars)
    assert factor == 1.0  # every score is 0/0 or x/0: none is finite


def test_factor_is_one_without_a_scheme_or_history() -> None:
    bars = regime_prices(420, switch=330).to_numpy(dtype=np.float64)
    record = interval_choice.fit_record("garch_t", bars, 300, 0.8, "2011-02-25")
    assert adaptive_widths.factor(record, bars) == 1.0
    scheme = Adaptive(window=100, gamma=0.002, warmup=250)  # 350 scores; 299 returns here
    assert adaptive_widths.factor(replace(record, adaptive=scheme), bars[:300]) == 1.0


def test_absurd_or_flat_baselines_are_not_rescued_by_the_factor() -> None:
    """An absurd GARCH (omega 1e300) still fails predict's finiteness check with the scheme
    on (the factor is clipped at 0.1); constant closes (no spread to score) give a factor of
    1.0 without a numpy warning, for every baseline."""
    scheme = Adaptive(window=100, gamma=0.002, warmup=250)
    bars = regime_prices(700).to_numpy(dtype=np.float64)
    params = {"omega": 1e300, "alpha": 0.05, "beta": 0.9, "nu": 6.0}
    absurd = interval_choice.IntervalRecord("garch_t", 0.8, params, (-1.2, 1.2), adaptive=scheme)
    factor = adaptive_widths.factor(absurd, bars)
    assert factor == 0.1
    with pytest.raises(ModelError, match="the garch_t interval is not finite from step 1 on"):
        interval_choice.bounds(absurd, bars, bars[-1:, 3], factor)
    flat = np.tile(bars[:1], (700, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in BASELINES:
            record = replace(
                interval_choice.fit_record(method, bars, 600, 0.8, "x"), adaptive=scheme
            )
            assert adaptive_widths.factor(record, flat) == 1.0, method


def test_bars_read_cover_the_scheme_and_the_methods_window() -> None:
    scheme = Adaptive(window=100, gamma=0.002, warmup=250)
    emp = interval_choice.IntervalRecord("emp250", 0.8, {"window": 250.0})
    garch = interval_choice.IntervalRecord(
        "garch_t", 0.8, {"omega": 1e-6, "alpha": 0.05, "beta": 0.9, "nu": 6.0}, (-1.2, 1.2)
    )
    assert adaptive_widths.rows_needed(emp) == interval_choice.SERVE_ROWS
    assert adaptive_widths.rows_needed(replace(emp, adaptive=scheme)) == 601  # 350 + 250 + 1
    assert (
        adaptive_widths.rows_needed(replace(garch, adaptive=scheme)) == interval_choice.SERVE_ROWS
    )
    assert adaptive_widths.rows_needed(None) == 0


# --- the record -------------------------------------------------------------------------------


OLD_RECORD = {  # intervals.json as saved before the adaptive scheme existed
    "schema": 1,
    "method": "garch_t",
    "level": 0.8,
    "params": {"omega": 2e-6, "alpha": 0.03, "beta": 0.95, "nu": 6.0},
    "z": [-1.17, 1.17],
    "fitted_through": "2013-10-31",
    "choice": {"pinned": True, "reason": "pinned by the recipe"},
}


def test_old_record_loads_with_fixed_widths(tmp_path: Path) -> None:
    (tmp_path / interval_choice.INTERVALS_FILE).write_text(json.dumps(OLD_RECORD))
    record = interval_choice.load(tmp_path)
    assert record is not None and record.adaptive is None
    assert interval_choice.served_name(record, NAIVE) == "garch_t"
    saved = record.to_json()
    assert saved["schema"] == 2 and saved["adaptive"] is None


def test_record_with_a_scheme_round_trips(tmp_path: Path) -> None:
    scheme = {"window": 100, "gamma": 0.002, "warmup": 250}
    (tmp_path / interval_choice.INTERVALS_FILE).write_text(
        json.dumps({**OLD_RECORD, "schema": 2, "adaptive": scheme})
    )
    record = interval_choice.load(tmp_path)
    assert record is not None and record.adaptive == Adaptive(100, 0.002, 250)
    assert interval_choice.served_name(record, NAIVE) == "garch_t+rolling"
    assert json.loads(json.dumps(record.to_json()))["adaptive"] == scheme


@pytest.mark.parametrize(
    "scheme",
    [{"window": 0, "gamma": 0.002, "warmup": 250}, {"window": 100}, [100, 0.002, 250]],
)
def test_bad_scheme_is_a_model_error(tmp_path: Path, scheme: Any) -> None:
    (tmp_path / interval_choice.INTERVALS_FILE).write_text(
        json.dumps({**OLD_RECORD, "schema": 2, "adaptive": scheme})
    )
    with pytest.raises(ModelError, match=r"intervals\.json: not a valid intervals record"):
        interval_choice.load(tmp_path)


# --- trained, then walked over a volatility jump -------------------------------------------


@pytest.fixture(scope="module")
def regime(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two homes, ``fixed`` and ``adaptive``, each with ticker R's first TRAIN_ROWS bars, a
    tiny recursive model pinned to serve garch_t (``calibration.adaptive_baseline`` false and
    true), then all ROWS bars fetched. ``train``: each home's ``train --json``."""
    folder = tmp_path_factory.mktemp("regime")
    config = folder / "tiny.toml"
    config.write_text(TINY_CONFIG)
    prices = regime_prices()
    prices.iloc[:TRAIN_ROWS].to_csv(folder / "first.csv")
    prices.to_csv(folder / "all.csv")
    out: dict[str, Any] = {"train": {}}
    for name, on in (("fixed", "false"), ("adaptive", "true")):
        home = out[name] = folder / name
        assert cli("fetch", "R", "--csv", str(folder / "first.csv"), home=home).exit_code == 0
        sets = ["--set", "calibration.intervals=garch_t", "--set", "data.strategy=recursive"]
        sets += ["--set", f"calibration.adaptive_baseline={on}"]
        trained = cli("train", "R", "--config", str(config), *sets, "--json", home=home)
        assert trained.exit_code == 0, trained.stderr
        out["train"][name] = trained_entry(trained.stdout)
        assert cli("fetch", "R", "--csv", str(folder / "all.csv"), home=home).exit_code == 0
    return out


def test_adaptive_widths_cover_closer_to_80_after_a_volatility_jump(
    regime: dict[str, Any],
) -> None:
    """Walked over the WALK days after the jump, as of the bar before each: the fixed GARCH-t
    interval covers far less than 80%, the adaptive one close to 80%, both finite."""
    closes = regime_prices()["Close"].to_numpy()
    coverage = {}
    for name, method in (("fixed", "garch_t"), ("adaptive", "garch_t+rolling")):
        inside = 0
        for last in range(TRAIN_ROWS - 1, TRAIN_ROWS - 1 + WALK):
            result = prediction.predict(HomeAsOf(regime[name], last=last), "R", horizon=1)
            assert result.interval_method == method
            day = result.forecasts[0]
            assert math.isfinite(day["low"]) and math.isfinite(day["high"])
            assert 0 < day["low"] < day["close"] < day["high"]
            inside += day["low"] <= closes[last + 1] <= day["high"]
        coverage[name] = inside / WALK
    assert coverage["fixed"] < 0.74, coverage
    assert 0.75 <= coverage["adaptive"] <= 0.85, coverage
    assert abs(coverage["adaptive"] - 0.8) < abs(coverage["fixed"] - 0.8)


def test_predict_and_train_name_the_adaptive_scheme(regime: dict[str, Any]) -> None:
    assert regime["train"]["adaptive"]["interval_method"] == "garch_t+rolling"
    assert regime["train"]["fixed"]["interval_method"] == "garch_t"
    outs = {}
    for name in ("fixed", "adaptive"):
        result = cli("predict", "R", "--json", "--horizon", "3", home=regime[name])
        assert result.exit_code == 0, result.stderr
        outs[name] = json.loads(result.stdout)
    assert outs["adaptive"]["interval_method"] == "garch_t+rolling"
    assert outs["fixed"]["interval_method"] == "garch_t"
    for fixed, adaptive in zip(
        outs["fixed"]["forecasts"], outs["adaptive"]["forecasts"], strict=True
    ):
        # after the jump the adaptive interval is wider, at every step
        assert 0 < adaptive["low"] < adaptive["close"] < adaptive["high"]
        assert adaptive["low"] / adaptive["close"] < fixed["low"] / fixed["close"]
        assert adaptive["high"] / adaptive["close"] > fixed["high"] / fixed["close"]
    human = cli("predict", "R", home=regime["adaptive"])
    assert human.exit_code == 0, human.stderr
    assert "; 80% intervals from garch_t+rolling\n" in human.stderr


def test_evaluate_names_the_adaptive_scheme(regime: dict[str, Any]) -> None:
    result = cli("evaluate", "R", "--json", home=regime["adaptive"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["risk"]["served_intervals"] == "garch_t+rolling"
    human = cli("evaluate", "R", home=regime["adaptive"])
    assert human.exit_code == 0, human.stderr
    rows = [line.split("\t")[0] for line in human.stdout.splitlines()]
    assert "garch_t (served with rolling widths)" in rows
    # the network's own row only where its weights shape the interval; else naive_conformal
    shaped = json.loads(result.stdout)["network_used"]["intervals"]
    assert ("model" if shaped else "naive_conformal") in rows


def test_key_off_serves_the_baselines_own_widths(regime: dict[str, Any]) -> None:
    """With ``calibration.adaptive_baseline = false`` the pinned garch_t is served as its fan
    (rnnforecast.risk.fans), whose one-session interval is arch's own forecast for the stored
    parameters over the last GARCH_SERVE_ROWS bars times the t's quantiles (an independent
    computation), around the last close: the fixed widths, unchanged."""
    from arch import arch_model

    from rnnforecast.risk.fans.garch import GARCH_SERVE_ROWS

    bundle = current_bundle(regime["fixed"], "R")
    raw = json.loads((bundle / interval_choice.INTERVALS_FILE).read_text())
    assert (raw["schema"], raw["adaptive"]) == (2, None)
    fan = json.loads((bundle / "fan.json").read_text())
    assert set(fan["methods"]) == {"garch_t"}
    result = cli("predict", "R", "--json", home=regime["fixed"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    day = out["forecasts"][0]

    closes = regime_prices()["Close"].to_numpy()[-GARCH_SERVE_ROWS:]
    returns = np.diff(np.log(closes)) * 100  # arch is fitted in percent, as the baselines do
    p = fan["fits"]["garch_t"]["params"]
    assert p == pytest.approx({**raw["params"]}, rel=1e-12)  # one fit, two records
    model = arch_model(returns, mean="Zero", vol="GARCH", p=1, q=1, dist="t")
    fixed = [p["omega"] * 1e4, p["alpha"], p["beta"], p["nu"]]
    variance = model.fix(fixed).forecast(horizon=1, reindex=False).variance.to_numpy()[-1, 0]
    z = model.distribution.ppf([0.1, 0.9], [p["nu"]])
    sd = math.sqrt(variance) / 100
    close = out["last_close"]
    assert day["low"] == pytest.approx(close * math.exp(z[0] * sd), rel=1e-9)
    assert day["high"] == pytest.approx(close * math.exp(z[1] * sd), rel=1e-9)


def test_old_record_in_a_bundle_serves_fixed_widths(regime: dict[str, Any], tmp_path: Path) -> None:
    """The adaptive bundle's intervals.json rewritten as the previous version saved it
    (schema 1, no scheme) and resealed: predict serves the fixed widths, named as before."""
    home = Path(shutil.copytree(regime["adaptive"], tmp_path / "old"))
    bundle = current_bundle(home, "R")
    path = bundle / interval_choice.INTERVALS_FILE
    raw = json.loads(path.read_text())
    fixed_raw = json.loads((current_bundle(regime["fixed"], "R") / path.name).read_text())
    assert raw["params"] == fixed_raw["params"]  # the same bars, the same fit
    del raw["adaptive"]
    path.write_text(json.dumps({**raw, "schema": 1}))
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"][interval_choice.INTERVALS_FILE] = sha256_file(path)
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    reseal(bundle / "manifest.json")
    result = cli("predict", "R", "--json", home=home)
    assert result.exit_code == 0, result.stderr
    old = json.loads(result.stdout)
    assert old["interval_method"] == "garch_t"
    # the fixed record's own widths around the old bundle's point, from the last stored bars
    fixed = interval_choice.IntervalRecord.from_json(fixed_raw)
    rows = regime_prices()[["Open", "High", "Low", "Close", "Volume"]].to_numpy()
    points = np.array([f["close"] for f in old["forecasts"]])
    low, high = interval_choice.bounds(fixed, rows[-interval_choice.SERVE_ROWS :], points)
    for a, lo, hi in zip(old["forecasts"], low, high, strict=True):
        assert a["low"] == pytest.approx(lo, rel=1e-12)
        assert a["high"] == pytest.approx(hi, rel=1e-12)


def test_predict_with_adaptive_widths_imports_nothing_heavy(regime: dict[str, Any]) -> None:
    imports = heavy_imports("--home", str(regime["adaptive"]), "predict", "R")
    assert imports == {"code": 0, "heavy": []}


def test_old_names_of_the_rolling_scheme_map_to_the_new_ones() -> None:
    assert interval_choice.current_name("adaptive_conformal") == "rolling_conformal"
    assert interval_choice.current_name("garch_t+adaptive") == "garch_t+rolling"
    for kept in ("conformal", "rolling_conformal", "ewma", "gjr_t+rolling"):
        assert interval_choice.current_name(kept) == kept


def test_predict_serves_and_names_the_scheme_for_every_method(
    regime: dict[str, Any], tmp_path: Path
) -> None:
    """Each baseline in turn served from the adaptive bundle (its intervals.json rewritten and
    resealed), with and without the default scheme. With all ROWS bars stored, the scheme's log
    widths are the fixed record's times the factor of every stored bar (so predict read at
    least what the scheme needs: fewer give a factor of 1.0 or another one), named
    ``METHOD+rolling``; with one bar fewer than the scheme needs, the fixed widths, named
    ``METHOD``."""
    home = Path(shutil.copytree(regime["adaptive"], tmp_path / "every"))
    bundle = current_bundle(home, "R")
    path = bundle / interval_choice.INTERVALS_FILE
    bars = regime_prices().to_numpy(dtype=np.float64)

    def serve(record: interval_choice.IntervalRecord, last: int) -> tuple[str, np.ndarray]:
        path.write_text(json.dumps(record.to_json()))
        manifest = json.loads((bundle / "manifest.json").read_text())
        manifest["files"][interval_choice.INTERVALS_FILE] = sha256_file(path)
        (bundle / "manifest.json").write_text(json.dumps(manifest))
        reseal(bundle / "manifest.json")
        result = prediction.predict(HomeAsOf(home, last=last), "R", horizon=2)
        days = result.forecasts
        return result.interval_method, np.log([d["high"] / d["low"] for d in days])

    for method in BASELINES:
        fixed = interval_choice.fit_record(method, bars, TRAIN_ROWS, 0.8, "2013-01-01")
        record = replace(fixed, adaptive=interval_choice.DEFAULT)
        name, widths = serve(record, ROWS - 1)
        assert name == method + "+rolling"
        fixed_name, fixed_widths = serve(fixed, ROWS - 1)
        assert fixed_name == method
        factor = adaptive_widths.factor(record, bars)
        assert factor != 1.0, method
        np.testing.assert_allclose(widths, factor * fixed_widths, rtol=1e-9, err_msg=method)
        # the scheme's history plus the method's window, less one: the scheme cannot apply
        short = interval_choice.DEFAULT.history + REGISTRY[method].serve_returns
        name, widths = serve(record, short - 1)
        assert name == method, method
        np.testing.assert_array_equal(widths, serve(fixed, short - 1)[1], err_msg=method)
