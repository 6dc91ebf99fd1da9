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
    assert first_test == 3 and len(ohlcv) == 5 and tuple(levels) == LEVELS
    q = np.array([-1, -1, -1, 0, 1, 1, 1], dtype=float) * math.log(1.2)
    return {
        name: BaselineForecast(name, np.full(2, 0.02), np.tile(q, (2, 1)), LEVELS, {})
        for name in names
    }


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


def test_the_model_variance_reads_the_80_percent_half_width_as_gaussian() -> None:
    # 80% log half-width 0.1 -> sd 0.1 / 1.28155 (the normal's 90% quantile).
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
    assert day.variance == pytest.approx(np.full(10, (0.1 / 1.2815516) ** 2))
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
    }
    keys = {"interval_score_80", "interval_score_95", "coverage_80", "coverage_95"}
    keys |= {"kupiec_p_80", "kupiec_p_95", "christoffersen_p_80", "christoffersen_p_95"}
    keys |= {"pinball", "crps", "qlike"}
    # the tiny network's move does not pass the shrinkage gate: its own interval is the last
    # close +- conformal widths, shaped by no weight, so it is the baseline naive_conformal
    manifest = json.loads((current_bundle(trained_home, "TEST") / "manifest.json").read_text())
    assert manifest["calibration"]["shrink"] == [0.0]
    assert out["network_used"] == {"price": False, "intervals": False}
    assert risk["model"] is None
    assert set(risk["baselines"]["naive_conformal"]) == keys
    assert list(risk["baselines"]) == ["naive_conformal", *BASELINES]
    # 300 rows: about 240 before the test period, too few for the 250-day empirical baseline.
    assert risk["baselines"]["emp250"] is None
    fitted = {k: v for k, v in risk["baselines"].items() if v is not None}
    assert set(fitted) == {"naive_conformal", "garch_t", "gjr_t", "ewma", "hist50", "har"}
    assert risk["best_baseline"] == min(fitted, key=lambda k: fitted[k]["interval_score_80"])
    assert risk["beats_best_baseline"] is None  # no network row to compare
    assert risk["dm"] == {"statistic": None, "p_value": None}
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
