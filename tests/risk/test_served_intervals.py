"""The intervals a bundle serves: the rule that picks them, the record that stores them, the
numpy recursion that rebuilds them in predict, and the commands that name them."""

from __future__ import annotations

import json
import math
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

from rnnforecast.config import INTERVAL_METHODS
from rnnforecast.errors import EXIT_CODES, DataError, ModelError
from rnnforecast.forecast.calibration import Calibration
from rnnforecast.jobs import prediction
from rnnforecast.risk import interval_choice
from rnnforecast.risk.assessment import RiskReport
from rnnforecast.risk.baselines import BASELINES
from rnnforecast.risk.fans import choice, registry

# The synthetic series: GARCH(1,1) with standardized Student-t shocks, known parameters.
OMEGA, ALPHA, BETA, NU = 2e-6, 0.08, 0.90, 6.0
ROWS, TRAIN_ROWS = 3000, 2400


def garch_prices(n: int = ROWS, seed: int = 11) -> pd.DataFrame:
    """Daily bars whose close-to-close log returns follow GARCH(1,1)-t (OMEGA, ALPHA, BETA,
    NU; 500 burn-in days dropped); open = previous close, a range that grows with the move."""
    rng = np.random.default_rng(seed)
    shocks = rng.standard_t(NU, n + 500) * math.sqrt((NU - 2) / NU)
    returns = np.empty(n + 500)
    variance = OMEGA / (1 - ALPHA - BETA)
    for t in range(n + 500):
        returns[t] = math.sqrt(variance) * shocks[t]
        variance = OMEGA + ALPHA * returns[t] ** 2 + BETA * variance
    return bars_of_returns(returns[500:], 1e6 + rng.integers(0, 1000, n))


# --- the numpy recursion against arch ---------------------------------------------------------


def bars_from_returns(returns: np.ndarray) -> np.ndarray:
    close = 50 * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))
    return np.column_stack([close, close * 1.01, close * 0.99, close, np.full(close.size, 1e6)])


@pytest.mark.parametrize("method", ["garch_t", "gjr_t"])
@pytest.mark.parametrize("steps", [1, 5])
def test_numpy_recursion_equals_arch_forecast(method: str, steps: int) -> None:
    """The quantiles predict serves are arch's own variance forecasts for the same fixed
    parameters (summed over the steps) times arch's standardized Student-t quantiles."""
    from arch import arch_model

    rng = np.random.default_rng(5)
    returns = rng.standard_t(5, interval_choice.SERVE_ROWS - 1) * 0.012
    returns[-1] = -abs(returns[-1])  # a down day last: GJR's asymmetric term is on
    params = {"omega": 3e-6, "alpha": 0.06, "beta": 0.9, "nu": 7.0}
    if method == "gjr_t":
        params = {"omega": 3e-6, "alpha": 0.03, "gamma": 0.08, "beta": 0.89, "nu": 7.0}
    scale = 100.0  # arch is fitted in percent, as the baselines do
    model = arch_model(
        returns * scale, mean="Zero", vol="GARCH", p=1, o=int(method == "gjr_t"), q=1, dist="t"
    )
    fixed = [params["omega"] * scale**2] + [v for k, v in params.items() if k != "omega"]
    arch_variance = model.fix(fixed).forecast(horizon=steps, reindex=False).variance
    per_step = arch_variance.to_numpy()[-1] / scale**2
    z = model.distribution.ppf([0.1, 0.9], [params["nu"]])
    expected = np.sqrt(np.cumsum(per_step))[:, None] * np.asarray(z)[None, :]

    record = interval_choice.IntervalRecord(method, 0.8, params, (float(z[0]), float(z[1])))
    got = interval_choice.cumulative_quantiles(record, bars_from_returns(returns), steps)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=0)


def test_fit_quantiles_are_the_baselines_one_step_forecast() -> None:
    """Fitted on every bar, the record rebuilds the forecast :mod:`rnnforecast.risk.baselines`
    (arch's filter over the whole history) makes for the day after the last bar: the same up
    to the filter's start, forgotten over SERVE_ROWS bars."""
    from rnnforecast.risk.baselines import forecast_baselines

    bars = garch_prices(1200).to_numpy(dtype=np.float64)
    extended = np.vstack([bars, bars[-1:]])
    for method in BASELINES:
        record = interval_choice.fit_record(method, bars, len(bars), 0.8, "2014-08-08")
        reference = forecast_baselines(extended, len(bars), (0.1, 0.9), [method])[method]
        got = interval_choice.cumulative_quantiles(record, bars[-interval_choice.SERVE_ROWS :], 1)
        np.testing.assert_allclose(got[0], reference.quantiles[0], rtol=1e-6, err_msg=method)


# --- the rule ---------------------------------------------------------------------------------


def report(best: str | None, p_value: float | None) -> RiskReport:
    dm = {"statistic": None if p_value is None else -2.0, "p_value": p_value}
    return RiskReport({}, {}, best, None, dm, "conformal")


@pytest.mark.parametrize(
    ("risk", "pinned", "expected"),
    [
        (report("ewma", 0.01), "auto", "model"),  # the network earns its place
        (report("ewma", 0.05), "auto", "ewma"),  # not below the significance level
        (report("har", 0.6), "auto", "har"),
        (report("gjr_t", None), "auto", "gjr_t"),  # no test: not significant
        (report(None, None), "auto", "model"),  # no baseline could be scored
        (None, "auto", "model"),
        (report("ewma", 0.01), "hist50", "hist50"),
        (report("ewma", 0.9), "model", "model"),
    ],
)
def test_pick_method(risk: RiskReport | None, pinned: str, expected: str) -> None:
    method, choice = interval_choice.pick_method(risk, pinned, 0.05)
    assert method == expected
    assert choice["pinned"] == (pinned != "auto")
    assert choice["reason"]


def test_config_names_every_method() -> None:
    """Every method but naive_conformal can be pinned: it is the bundle's own interval named
    by its calibration, so pinning ``model`` serves it whenever the weights shape nothing."""
    pinnable = [m for m in interval_choice.METHODS if m != "naive_conformal"]
    assert INTERVAL_METHODS == ("auto", *pinnable)
    assert "naive_conformal" in interval_choice.METHODS


def test_a_report_without_a_network_row_serves_its_best_baseline() -> None:
    """No network row (the weights shape no interval): the lowest interval score is served,
    naive_conformal included, with no test against a network that is not there."""
    none = {"statistic": None, "p_value": None}
    for best in ("naive_conformal", "garch_t"):
        risk = RiskReport(None, {}, best, None, none, "naive_conformal")
        method, choice = interval_choice.pick_method(risk, "auto", 0.05)
        assert method == best
        assert choice["reason"].startswith("the network shapes no interval")
    record = interval_choice.fit_record("naive_conformal", np.ones((5, 5)), 5, 0.8, "2020-01-01")
    assert record == interval_choice.IntervalRecord("naive_conformal", 0.8)
    assert not record.serves_baseline
    assert interval_choice.IntervalRecord.from_json(record.to_json()) == record


def test_unknown_interval_method_is_a_usage_error(prices_csv: Path, home: Path) -> None:
    assert cli("fetch", "T", "--csv", str(prices_csv)).exit_code == 0
    result = cli("train", "T", "--set", "calibration.intervals=garch")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "calibration.intervals must be one of auto, model, garch_t" in result.stderr


# --- the record -------------------------------------------------------------------------------


def record_json(**changes: Any) -> dict[str, Any]:
    raw = interval_choice.IntervalRecord(
        "gjr_t",
        0.8,
        {"omega": 1e-6, "alpha": 0.02, "gamma": 0.1, "beta": 0.9, "nu": 6.0},
        (-1.2, 1.2),
        "2020-01-02",
    ).to_json()
    return {**raw, **changes}


def test_record_round_trips(tmp_path: Path) -> None:
    record = interval_choice.IntervalRecord.from_json(record_json())
    interval_choice.save(tmp_path, record)
    assert interval_choice.load(tmp_path) == record
    assert interval_choice.load(tmp_path / "nothing-here") is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"schema": 3}, "schema 1 or 2"),
        ({"method": "garch"}, "unknown method 'garch'"),
        ({"level": 1.0}, "level must be in (0, 1)"),
        ({"params": {"omega": 1e-6}}, "gjr_t needs params alpha, gamma, beta, nu"),
        (
            {"params": {"omega": 1e-6, "alpha": 0.1, "gamma": 0.1, "beta": 0.9, "nu": 6}},
            "not stationary",
        ),
        (
            {"params": {"omega": 1e-6, "alpha": 0.1, "gamma": 0.1, "beta": 0.5, "nu": 2}},
            "out of range",
        ),
        ({"z": [1.2, -1.2]}, "z must be a negative then a positive quantile"),
        ({"z": None}, "z must be two numbers"),
        ({"level": "0.8"}, "level must be a finite number"),
    ],
)
def test_bad_record_is_a_model_error(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    (tmp_path / interval_choice.INTERVALS_FILE).write_text(json.dumps(record_json(**changes)))
    with pytest.raises(ModelError, match=r"intervals\.json: not a valid intervals record") as exc:
        interval_choice.load(tmp_path)
    assert message in str(exc.value)


def test_too_few_bars_for_a_baseline_is_a_data_error() -> None:
    record = interval_choice.IntervalRecord("emp250", 0.8, {"window": 250.0})
    bars = bars_from_returns(np.full(100, 0.01))
    with pytest.raises(DataError, match="emp250 intervals need 251 stored bars, 101 are stored"):
        interval_choice.cumulative_quantiles(record, bars, 1)


@pytest.mark.parametrize("method", BASELINES)
def test_every_baseline_widens_with_the_horizon(method: str) -> None:
    bars = garch_prices(700).to_numpy(dtype=np.float64)
    record = interval_choice.fit_record(method, bars, len(bars), 0.8, "2012-09-07")
    q = interval_choice.cumulative_quantiles(record, bars[-interval_choice.SERVE_ROWS :], 10)
    assert q.shape == (10, 2)
    assert np.all(q[:, 0] < 0) and np.all(q[:, 1] > 0)
    assert np.all(np.diff(q[:, 1] - q[:, 0]) > 0)


# --- trained on GARCH(1,1)-t data ----------------------------------------------------------------


@pytest.fixture(scope="module")
def garch_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A home whose store holds all ROWS bars of ``garch_prices()`` as ticker G, with a model
    trained (tiny network; refitted only if it shapes what is served) when only the first
    TRAIN_ROWS were stored."""
    folder = tmp_path_factory.mktemp("garch")
    home, config = folder / "home", folder / "tiny.toml"
    prices = garch_prices()
    config.write_text(TINY_CONFIG)
    prices.iloc[:TRAIN_ROWS].to_csv(folder / "first.csv")
    prices.to_csv(folder / "all.csv")
    assert cli("fetch", "G", "--csv", str(folder / "first.csv"), home=home).exit_code == 0
    auto = ["--set", "calibration.intervals=auto"]  # TINY_CONFIG pins the network's
    trained = cli("train", "G", "--config", str(config), *auto, "--json", home=home)
    assert trained.exit_code == 0, trained.stderr
    assert cli("fetch", "G", "--csv", str(folder / "all.csv"), home=home).exit_code == 0
    return {"home": home, "config": config, "train": trained_entry(trained.stdout)}


def binomial_interval(n: int, p: float, alpha: float) -> tuple[int, int]:
    """The central ``1 - alpha`` range of a Binomial(n, p) count."""
    cdf, low, high = 0.0, None, n
    for k in range(n + 1):
        cdf += math.comb(n, k) * p**k * (1 - p) ** (n - k)
        if low is None and cdf >= alpha / 2:
            low = k
        if cdf >= 1 - alpha / 2:
            high = k
            break
    return int(low or 0), high


def test_garch_series_serves_a_baseline_that_covers(garch_home: dict[str, Any]) -> None:
    """The tiny network cannot beat a GARCH on GARCH data: train and predict name the served
    baseline, and walked over the 600 days after training its 80% intervals cover 80% of the
    closes, within the binomial range of a correct 80% interval."""
    home = garch_home["home"]
    method = garch_home["train"]["interval_method"]
    assert method in BASELINES

    predicted = cli("predict", "G", "--json", home=home)
    assert predicted.exit_code == 0, predicted.stderr
    out = json.loads(predicted.stdout)
    assert out["interval_method"] == method
    assert out["as_of"] == str(garch_prices().index[-1].date())

    closes = garch_prices()["Close"].to_numpy()
    origins = range(TRAIN_ROWS - 1, TRAIN_ROWS + 599)
    inside = 0
    for last in origins:
        result = prediction.predict(HomeAsOf(home, last=last), "G", horizon=1)
        assert result.interval_method == method
        day = result.forecasts[0]
        inside += day["low"] <= closes[last + 1] <= day["high"]
    low, high = binomial_interval(len(origins), 0.8, 0.001)
    assert low <= inside <= high, (inside, low, high)


def test_human_predict_names_the_method(garch_home: dict[str, Any]) -> None:
    method = garch_home["train"]["interval_method"]
    result = cli("predict", "G", home=garch_home["home"])
    assert result.exit_code == 0, result.stderr
    assert f"; 80% intervals from {method}\n" in result.stderr


def test_evaluate_names_the_served_baseline(garch_home: dict[str, Any]) -> None:
    result = cli("evaluate", "G", "--json", home=garch_home["home"])
    assert result.exit_code == 0, result.stderr
    risk = json.loads(result.stdout)["risk"]
    assert risk["served_intervals"] == garch_home["train"]["interval_method"]
    assert risk["served_intervals"] == risk["best_baseline"]
    human = cli("evaluate", "G", home=garch_home["home"])
    assert human.exit_code == 0, human.stderr
    rows = [line.split("\t")[0] for line in human.stdout.splitlines()]
    # the network's own row only where its weights shape the interval; else naive_conformal
    shaped = json.loads(result.stdout)["network_used"]["intervals"]
    assert shaped == (risk["model"] is not None)
    assert ("model" if shaped else "naive_conformal") in rows
    assert f"{risk['served_intervals']} (served)" in rows


def test_predict_of_a_baseline_imports_no_arch_scipy_pandas_tensorflow(
    garch_home: dict[str, Any],
) -> None:
    imports = heavy_imports("--home", str(garch_home["home"]), "predict", "G")
    assert imports == {"code": 0, "heavy": []}


# --- pinned, old and tampered bundles -------------------------------------------------------------


def test_pinned_model_serves_the_network(trained: dict[str, Any], trained_home: Path) -> None:
    """conftest's trained home: TINY_CONFIG pins the bundle's own intervals; its shrink is 0,
    so no weight shapes them and they are named naive_conformal."""
    assert trained["train"]["calibration"]["shrink"] == [0.0]
    assert trained["train"]["interval_method"] == "naive_conformal"
    assert interval_choice.load(
        current_bundle(trained_home, "TEST")
    ) == interval_choice.IntervalRecord(
        "model",
        0.8,
        choice={
            "pinned": True,
            "best_baseline": None,
            "p_value": None,
            "significance": 0.05,
            "reason": "pinned by the recipe",
        },
    )
    result = cli("predict", "TEST", "--json", home=trained_home)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["interval_method"] == "naive_conformal"


def copy_home(source: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(source, target)
    return target


def test_bundle_without_intervals_file_serves_the_network(
    garch_home: dict[str, Any], tmp_path: Path
) -> None:
    """A bundle saved before intervals.json and fan.json existed (deleted and resealed here)
    still predicts the same close, with the network's intervals instead of the baseline's."""
    home = copy_home(garch_home["home"], tmp_path / "old")
    before = json.loads(cli("predict", "G", "--json", home=home).stdout)["forecasts"][0]
    bundle = current_bundle(home, "G")
    manifest = json.loads((bundle / "manifest.json").read_text())
    for name in (interval_choice.INTERVALS_FILE, "fan.json"):
        (bundle / name).unlink()
        del manifest["files"][name]
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    reseal(bundle / "manifest.json")
    result = cli("predict", "G", "--json", home=home)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["interval_method"] == "naive_conformal"
    assert out["forecasts"][0]["close"] == before["close"]
    assert (out["forecasts"][0]["low"], out["forecasts"][0]["high"]) != (
        before["low"],
        before["high"],
    )
    evaluated = cli("evaluate", "G", "--json", home=home)
    assert json.loads(evaluated.stdout)["risk"]["served_intervals"] == "naive_conformal"


@pytest.mark.parametrize("resealed", [False, True])
def test_tampered_intervals_file_is_a_model_error(
    garch_home: dict[str, Any], tmp_path: Path, resealed: bool
) -> None:
    """Edited behind the bundle's back: the checksum catches it. Edited and resealed into
    nonsense (a GARCH with nu = 1): the record's own check catches it. One stderr line."""
    from rnnforecast.storage.artifacts import sha256_file

    home = copy_home(garch_home["home"], tmp_path / "tampered")
    bundle = current_bundle(home, "G")
    path = bundle / interval_choice.INTERVALS_FILE
    raw = json.loads(path.read_text())
    raw["params"]["nu"] = 1.0
    path.write_text(json.dumps(raw))
    if resealed:
        manifest = json.loads((bundle / "manifest.json").read_text())
        manifest["files"][interval_choice.INTERVALS_FILE] = sha256_file(path)
        (bundle / "manifest.json").write_text(json.dumps(manifest))
        reseal(bundle / "manifest.json")
    result = cli("predict", "G", home=home)
    assert result.exit_code == 4
    assert "model missing, corrupt" in EXIT_CODES[4]
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert str(path) in result.stderr
    expected = "not a valid intervals record" if resealed else "corrupt (checksum"
    assert expected in result.stderr


# --- a global model: each member its own -----------------------------------------------------


def test_global_model_serves_each_member_its_own(tmp_path: Path, home: Path) -> None:
    """Three GARCH-t series in one network: each member's intervals are chosen and fitted on
    its own bars, saved in its own file, and predict serves and names that member's."""
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_CONFIG)
    for seed, ticker in enumerate(("AAA", "BBB", "CCC")):
        garch_prices(700, seed=seed).to_csv(tmp_path / f"{ticker}.csv")
        assert cli("fetch", ticker, "--csv", str(tmp_path / f"{ticker}.csv")).exit_code == 0
    auto = ["--set", "calibration.intervals=auto"]
    trained = cli(
        "train", "AAA", "BBB", "CCC", "--global", "--config", str(config), *auto, "--json"
    )
    assert trained.exit_code == 0, trained.stderr
    out = json.loads(trained.stdout)
    methods = out["interval_method"]
    assert set(methods) == {"AAA", "BBB", "CCC"}
    bundle = Path(out["path"])
    manifest = json.loads((bundle / "manifest.json").read_text())
    calibration = Calibration.from_dict(manifest["calibration"])
    for ticker, method in methods.items():
        record = interval_choice.load(bundle, ticker)
        assert record is not None
        assert (bundle / f"intervals.{ticker}.json").is_file()
        fan = choice.load(bundle, registry.REGISTRY, ticker)
        # at one session predict serves the member's fan where it has one, else its record
        one_day = interval_choice.served_name(record, calibration)
        assert method == (fan.methods[0] if fan is not None else one_day)
        assert one_day in (*BASELINES, "rolling_conformal", "naive_conformal")
        predicted = cli("predict", ticker, "--json")
        assert predicted.exit_code == 0, predicted.stderr
        assert json.loads(predicted.stdout)["interval_method"] == method
    assert not (bundle / interval_choice.INTERVALS_FILE).exists()
    # each member's baseline is fitted on its own bars: different parameters
    records = [interval_choice.load(bundle, t) for t in methods]
    fitted = [r.params for r in records if r is not None and r.serves_baseline]
    assert len(fitted) == len({json.dumps(p, sort_keys=True) for p in fitted})
