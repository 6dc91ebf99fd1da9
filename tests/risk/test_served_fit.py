"""What the served baseline was fitted on: ``fitted_through`` in ``intervals.json`` is the last
bar when the network was refitted on every bar and the day before the test period with
``--no-refit``, and the served GARCH parameters are arch's fit on exactly those bars."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_CONFIG, cli, current_bundle, make_prices

# TINY_CONFIG's split on 300 rows: the test period starts at row 242 (the scored fit was
# calibrated through row 241; tests/training/test_refit.py pins the same rows).
ROWS, FIRST_TEST = 300, 242
pytestmark = pytest.mark.slow  # the fixture trains twice


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """300 rows of TEST trained with garch_t intervals pinned and the network's whole move
    kept (so a refit is trained): once with refit, once with --no-refit. Keys: prices and,
    for "refit" and "plain", the bundle's intervals.json and manifest."""
    folder = tmp_path_factory.mktemp("served_fit")
    home, csv, config = folder / "home", folder / "prices.csv", folder / "tiny.toml"
    prices = make_prices(ROWS, seed=3)
    prices.to_csv(csv)
    config.write_text(
        TINY_CONFIG.replace('intervals = "model"', 'intervals = "garch_t"\nshrink = false')
    )
    assert cli("fetch", "TEST", "--csv", str(csv), home=home).exit_code == 0
    out: dict[str, Any] = {"prices": prices}
    for name, extra in (("plain", ["--no-refit"]), ("refit", [])):
        result = cli("train", "TEST", "--config", str(config), "--json", *extra, home=home)
        assert result.exit_code == 0, result.stderr
        bundle = current_bundle(home, "TEST")
        out[name] = {
            "intervals": json.loads((bundle / "intervals.json").read_text()),
            "manifest": json.loads((bundle / "manifest.json").read_text()),
        }
    return out


def day(prices: pd.DataFrame, row: int) -> str:
    return str(prices.index[row].date())


def arch_fit(closes: np.ndarray) -> dict[str, float]:
    """GARCH(1,1)-t with zero mean fitted by arch on the closes' log returns in percent, as
    the baseline is fitted (risk/baselines/garch.py): omega back in log-return units."""
    from arch import arch_model

    returns = np.diff(np.log(closes)) * 100.0
    model = arch_model(returns, mean="Zero", vol="GARCH", p=1, o=0, q=1, dist="t")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = model.fit(disp="off", show_warning=False)
    assert result.convergence_flag == 0
    omega, alpha, beta, nu = (float(v) for v in result.params)
    return {"omega": omega / 100.0**2, "alpha": alpha, "beta": beta, "nu": nu}


@pytest.mark.parametrize(
    ("name", "last_row"),
    [("refit", ROWS - 1), ("plain", FIRST_TEST - 1)],
    ids=["refit", "no-refit"],
)
def test_served_garch_is_fitted_on_exactly_the_bars_it_says(
    served: dict[str, Any], name: str, last_row: int
) -> None:
    prices = served["prices"]
    record = served[name]["intervals"]
    assert record["method"] == "garch_t"
    assert record["fitted_through"] == day(prices, last_row)
    assert served[name]["manifest"]["serving"]["refit"] is (name == "refit")
    expected = arch_fit(prices["Close"].to_numpy(dtype=np.float64)[: last_row + 1])
    params = record["params"]
    assert params["converged"] == 1.0
    for key, value in expected.items():
        assert params[key] == pytest.approx(value, rel=1e-6), key


def test_the_two_fits_differ(served: dict[str, Any]) -> None:
    """The refit's baseline saw 58 more bars: its parameters are not the scored fit's (a swap
    that fitted both on the same rows would leave them equal)."""
    refit, plain = served["refit"]["intervals"]["params"], served["plain"]["intervals"]["params"]
    assert refit["omega"] != pytest.approx(plain["omega"], rel=1e-3)
    assert refit["nu"] != pytest.approx(plain["nu"], rel=1e-3)


def test_the_served_z_is_the_standardized_t_quantile_at_the_fitted_nu(
    served: dict[str, Any],
) -> None:
    """z: the 10% and 90% quantiles of a unit-variance Student t with the fitted nu."""
    from scipy import stats

    record = served["refit"]["intervals"]
    nu = record["params"]["nu"]
    z = stats.t.ppf(0.9, nu) * np.sqrt((nu - 2) / nu)
    assert record["z"][1] == pytest.approx(z, rel=1e-6)
    assert record["z"][0] == pytest.approx(-z, rel=1e-6)
