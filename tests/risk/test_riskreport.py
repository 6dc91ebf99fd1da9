"""Distribution scores next to the baselines: the glue by hand, and evaluate's JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import current_bundle

from rnnforecast.risk import assessment
from rnnforecast.risk.baselines import BASELINES, BaselineForecast

CLOSES = np.array([100.0, 100.0, 100.0, 110.0, 99.0])
OHLCV = np.stack([CLOSES, CLOSES, CLOSES, CLOSES, np.full(5, 1e6)], axis=1)
LEVELS = (0.025, 0.05, 0.10, 0.50, 0.90, 0.95, 0.975)


def model_days() -> assessment.DayForecasts:
    """Days 3 and 4 (last closes 100 and 110): 80% intervals 95..105 and 105..115."""
    band = {
        level: (np.array([95.0, 105.0]), np.array([105.0, 115.0])) for level in (0.8, 0.9, 0.95)
    }
    point = np.array([100.0, 110.0])
    return assessment.DayForecasts(band, point, np.zeros(2), np.full(2, 0.01))


def fake_baselines(ohlcv, first_test, levels, names):
    """Every baseline says: log return within +-ln(1.2) at every level but the median."""
    assert first_test == 3 and len(ohlcv) == 5 and set(LEVELS) <= set(levels)
    q = np.sign(np.array(levels) - 0.5) * math.log(1.2)
    return {
        name: BaselineForecast(name, np.full(2, 0.02), np.tile(q, (2, 1)), tuple(levels), {})
        for name in names
    }


def family_baselines(ohlcv, first_test, levels, names):
    """A Gaussian (variance 0.01) as ewma, a t(5) of variance 0.01 as garch_t."""
    from scipy import stats

    sd = 0.1
    gauss = np.tile(stats.norm.ppf(levels) * sd, (2, 1))
    t_scale = sd * math.sqrt(3 / 5)
    student = np.tile(stats.t.ppf(levels, 5) * t_scale, (2, 1))
    var = np.full(2, sd**2)
    return {
        "ewma": BaselineForecast("ewma", var, gauss, tuple(levels), {}, "gaussian"),
        "garch_t": BaselineForecast(
            "garch_t", var, student, tuple(levels), {"nu": 5.0}, "student_t"
        ),
        "emp250": BaselineForecast("emp250", var, student, tuple(levels), {}),
    }


def test_each_baseline_is_scored_by_its_own_distribution() -> None:
    """CRPS of the log return (times the last close) from each family, recomputed by
    integrating (F(x) - 1{x >= y})^2 with scipy; the empirical one (here t(5) quantiles)
    from its 100 quantiles, within 0.05% of the t's integral."""
    from scipy import integrate, stats

    def by_quad(dist, y: float) -> float:
        below = integrate.quad(lambda x: dist.cdf(x) ** 2, -np.inf, y)[0]
        return below + integrate.quad(lambda x: (dist.cdf(x) - 1) ** 2, y, np.inf)[0]

    report = assessment.compare(
        OHLCV, 3, model_days(), "conformal", family_baselines, names=("ewma", "garch_t", "emp250")
    )
    y = np.log(CLOSES[3:] / CLOSES[2:4])
    gauss, t5 = stats.norm(scale=0.1), stats.t(5, scale=0.1 * math.sqrt(3 / 5))
    expected_gauss = np.mean(CLOSES[2:4] * [by_quad(gauss, v) for v in y])
    expected_t = np.mean(CLOSES[2:4] * [by_quad(t5, v) for v in y])
    assert report.baselines["ewma"]["crps"] == pytest.approx(expected_gauss, rel=1e-7)
    assert report.baselines["garch_t"]["crps"] == pytest.approx(expected_t, rel=1e-7)
    assert report.baselines["emp250"]["crps"] == pytest.approx(expected_t, rel=5e-4)
    # QLIKE reads each one's variance: the same 0.01 for all three
    assert report.baselines["ewma"]["qlike"] == report.baselines["garch_t"]["qlike"]


def test_compare_by_hand() -> None:
    report = assessment.compare(
        OHLCV, 3, model_days(), "conformal", fake_baselines, names=("ewma", "hist50")
    )
    # Model, level 0.8 (penalty 10 per unit): 110 above 105 -> 10 + 50; 99 below 105 -> 10 + 60.
    assert report.model["interval_score_80"] == pytest.approx(65.0)
    assert report.model["coverage_80"] == 0.0
    # 95%: penalty 2 / 0.05 = 40: 10 + 200 and 10 + 240.
    assert report.model["interval_score_95"] == pytest.approx(230.0)
    # Baselines: 100 / 1.2 .. 120 and 110 / 1.2 .. 132, both inside: widths 36.67 and 40.33.
    ewma = report.baselines["ewma"]
    assert ewma is not None
    assert ewma["interval_score_80"] == pytest.approx((120 - 100 / 1.2 + 132 - 110 / 1.2) / 2)
    assert ewma["coverage_80"] == 1.0
    # Pinball of the baseline on day 1 (y 110, median 100): levels 5/10/50/90/95% give
    # 0.05 * 26.67, 0.1 * 26.67, 0.5 * 10, 0.1 * 10, 0.05 * 10; day 2 (y 99, median 110).
    day1 = (0.15 * (110 - 100 / 1.2) + 0.5 * 10 + 0.15 * 10) / 5
    day2 = (0.15 * (99 - 110 / 1.2) + 0.5 * 11 + 0.15 * (132 - 99)) / 5
    assert ewma["pinball"] == pytest.approx((day1 + day2) / 2)
    assert set(report.baselines) == set(BASELINES)
    assert report.baselines["garch_t"] is None  # not asked for: null, not missing
    assert report.best_baseline == "ewma"  # a tie with hist50: the first in order
    assert report.beats_best_baseline is False
    assert report.dm["statistic"] is None  # two days: too few for the test
    assert report.served_intervals == "conformal"


def test_compare_without_baselines_has_no_verdict() -> None:
    report = assessment.compare(OHLCV, 3, model_days(), "conformal", fake_baselines, names=())
    assert report.best_baseline is None
    assert report.beats_best_baseline is None
    assert all(v is None for v in report.baselines.values())


def test_the_model_distribution_is_its_conformal_one() -> None:
    # 80% log half-width 0.1 is the validation scores' conformal 80% quantile (the
    # ceil(11 * 0.8) = 9th smallest, scores[8] = 0.9) times mult = 0.1 / 0.9; the variance is
    # mult^2 times the mean squared validation score, not (0.1 / 1.2816)^2.
    scores = np.linspace(0.1, 2.0, 20)
    validation = np.arange(20) < 10
    test = ~validation
    day = assessment.model_forecasts(
        np.full(10, 100.0),
        np.full(10, 100.0),
        np.ones(10),
        (0.8, np.full(10, 0.1)),
        scores,
        validation,
        test,
        None,
    )
    mult = 0.1 / scores[8]
    assert day.variance == pytest.approx(np.full(10, mult**2 * np.mean(scores[:10] ** 2)))
    # the CRPS grid: at level 0.995 (central 0.99: ceil(11 * 0.99) = 11 -> the 10th
    # smallest), at 0.505 (central 0.01: the 1st smallest), at 0.005 the mirror of 0.995
    assert day.grid is not None and day.grid.shape == (10, 100)
    assert day.grid[:, 99] == pytest.approx(np.full(10, mult * scores[9]))
    assert day.grid[:, 50] == pytest.approx(np.full(10, mult * scores[0]))
    assert day.grid[:, 0] == pytest.approx(-day.grid[:, 99])
    # 95%: the ceil(11 * 0.95) = 11th -> clipped to the 10th smallest validation score.
    assert day.bounds[0.95][1] == pytest.approx(100 * np.exp(np.full(10, scores[9])))
    # 90%: the ceil(11 * 0.9) = 10th smallest, too.
    assert day.bounds[0.9][0] == pytest.approx(100 * np.exp(-np.full(10, scores[9])))


# --- evaluate --json -------------------------------------------------------------------------


def test_evaluate_json_has_risk_scores_and_no_nan(trained_home) -> None:
    """conftest's trained home: 300 rows of TEST, a tiny model with TINY_CONFIG."""
    from typer.testing import CliRunner

    from rnnforecast.cli.commands import app

    runner = CliRunner()
    base = ["--home", str(trained_home)]
    result = runner.invoke(app, [*base, "evaluate", "TEST", "--json"])
    assert result.exit_code == 0, result.stderr

    def no_constant(name: str) -> None:
        raise AssertionError(f"{name} in the JSON")

    out = json.loads(result.stdout, parse_constant=no_constant)
    risk = out["risk"]
    assert set(risk) == {
        "model",
        "baselines",
        "best_baseline",
        "beats_best_baseline",
        "dm",
        "served_intervals",
        "horizons",
    }
    keys = {"interval_score_80", "interval_score_95", "coverage_80", "coverage_95"}
    keys |= {"kupiec_p_80", "kupiec_p_95", "christoffersen_p_80", "christoffersen_p_95"}
    keys |= {"christoffersen_cc_p_80", "christoffersen_cc_p_95"}
    keys |= {"pinball", "crps", "qlike"}
    # the tiny network's move does not pass the shrinkage gate: its own interval is the last
    # close +- conformal widths, shaped by no weight, so it is the baseline naive_conformal
    manifest = json.loads((current_bundle(trained_home, "TEST") / "manifest.json").read_text())
    assert manifest["calibration"]["shrink"] == [0.0]
    assert out["network_used"] == {"price": False, "intervals": False}
    assert risk["model"] is None
    assert set(risk["baselines"]["naive_conformal"]) == keys
    # conditional coverage: the two likelihood ratios behind the reported p-values, added,
    # read on chi-squared(2) (scipy)
    from scipy.stats import chi2

    for scores in (b for b in risk["baselines"].values() if b):
        for tag in ("80", "95"):
            if scores[f"christoffersen_p_{tag}"] is None:
                continue
            lr = chi2.isf(scores[f"kupiec_p_{tag}"], 1)
            lr += chi2.isf(scores[f"christoffersen_p_{tag}"], 1)
            expected = chi2.sf(lr, 2)
            assert scores[f"christoffersen_cc_p_{tag}"] == pytest.approx(expected, abs=1e-9)
    assert list(risk["baselines"]) == ["naive_conformal", *BASELINES]
    # 300 rows: about 240 before the test period, too few for the 250-day empirical baseline.
    assert risk["baselines"]["emp250"] is None
    fitted = {k: v for k, v in risk["baselines"].items() if v is not None}
    assert set(fitted) == {"naive_conformal", "garch_t", "gjr_t", "ewma", "hist50", "har"}
    assert risk["best_baseline"] == min(fitted, key=lambda k: fitted[k]["interval_score_80"])
    assert risk["beats_best_baseline"] is None  # no network row to compare
    assert risk["dm"] == {"statistic": None, "p_value": None, "lag": None}
    # adaptive by default (with 300 rows too little history to move: the fixed width)
    assert risk["served_intervals"] == "naive_conformal"
    naive = risk["baselines"]["naive_conformal"]
    assert naive["coverage_80"] == out["steps"][0]["interval_coverage"]
    human = runner.invoke(app, [*base, "evaluate", "TEST"])
    assert human.exit_code == 0
    lines = human.stdout.splitlines()
    header = lines.index("forecast\tIS80\tcov80\tIS95\tcov95\tQLIKE\tpinball")
    assert [line.split("\t")[0] for line in lines[header + 1 : header + 8]] == [
        "naive_conformal (served)",
        *BASELINES,
    ]
    assert lines[header + 6].split("\t")[1:] == ["-"] * 6  # emp250: not fitted
    assert "the network shapes the scored fit's price: no; its served range: no" in human.stderr


def test_the_gaussian_reading_overstated_qlike_by_0_028_for_t5_returns() -> None:
    """The figure docs/risk.md gives for the old variance: a t(5) return of unit variance has
    its 90% quantile at t5.ppf(0.9) sqrt(3/5) = 1.143; read as a Gaussian's 1.2816 sd, the
    variance is 0.796, and QLIKE against the true variance 1 is 0.028 instead of 0."""
    from scipy import stats

    from rnnforecast.metrics import probabilistic

    half_width = stats.t.ppf(0.9, 5) * math.sqrt(3 / 5)
    gaussian_reading = (half_width / stats.norm.ppf(0.9)) ** 2
    excess = probabilistic.qlike(np.array([gaussian_reading]), np.array([1.0]))
    assert excess == pytest.approx(0.028, abs=5e-4)
