"""The Python API and global models: train a group, evaluate it and its members, and the
clear refusals of what needs a ticker's own model (a plot, a walk-forward backtest).

Tiny networks (TINY_CONFIG) on two synthetic tickers of 300 rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import TINY_CONFIG, make_prices
from typer.testing import CliRunner

import rnnforecast
from rnnforecast.cli import commands
from rnnforecast.errors import OwnModelOnly, PartialFailure, UsageError
from rnnforecast.jsonsafe import finite


def _fetch(home: Path, folder: Path, tickers: dict[str, int]) -> None:
    for ticker, seed in tickers.items():
        csv = folder / f"{ticker}.csv"
        make_prices(300, seed=seed).to_csv(csv)
        rnnforecast.fetch(ticker, home=home, csv=csv)


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A home with AAA and BBB stored and trained, through the API, as the group G."""
    folder = tmp_path_factory.mktemp("api-groups")
    home, config = folder / "home", folder / "tiny.toml"
    config.write_text(TINY_CONFIG)
    _fetch(home, folder, {"AAA": 1, "BBB": 2})
    trained = rnnforecast.train(["AAA", "bbb"], config, group="G", home=home)
    return {"home": home, "config": config, "trained": trained}


def _cli_json(home: Path, *args: str) -> dict:
    result = CliRunner().invoke(commands.app, ["--home", str(home), *args, "--json"])
    assert result.exit_code == 0, result.stderr
    document: dict = json.loads(result.stdout)
    return document


def test_the_api_trains_a_group_saved_under_its_name(group: dict) -> None:
    trained, home = group["trained"], group["home"]
    assert trained.group == "@G"
    assert sorted(trained.members) == ["AAA", "BBB"]
    assert (home / "models" / "@G" / trained.run_id / "manifest.json").is_file()
    # Both members are now served by the group's bundle.
    for ticker in ("AAA", "BBB"):
        assert rnnforecast.predict(ticker, home=home).attrs["run_id"] == trained.run_id


def test_evaluate_the_group_is_the_cli_document(group: dict) -> None:
    home, run_id = group["home"], group["trained"].run_id
    evaluation = rnnforecast.evaluate("@G", home=home)
    assert isinstance(evaluation, rnnforecast.GroupEvaluation)
    assert (evaluation.group, evaluation.run_id, evaluation.member) == ("@G", run_id, None)
    cli = _cli_json(home, "evaluate", "@G")
    assert finite(evaluation.scores)[0] == cli
    table = evaluation.members
    assert list(table.index) == ["AAA", "BBB", "pool"]
    assert table.loc["AAA", "model_mae"] == cli["members"]["AAA"]["model"]["mae"]
    assert table.loc["pool", "n"] == cli["pool"]["n"] == table.loc[["AAA", "BBB"], "n"].sum()


def test_evaluate_a_member_is_its_share_of_the_global_model(group: dict) -> None:
    home, run_id = group["home"], group["trained"].run_id
    cli = _cli_json(home, "evaluate", "@G")
    for ticker in ("AAA", "bbb"):
        member = rnnforecast.evaluate(ticker, home=home)
        assert isinstance(member, rnnforecast.GroupEvaluation)
        symbol = ticker.upper()
        assert (member.group, member.run_id, member.member) == ("@G", run_id, symbol)
        assert finite(member.scores)[0] == cli["members"][symbol]
        assert member.scores["model"]["mae"] > 0 and member.scores["n"] > 0
    forecaster = rnnforecast.Forecaster(home=home)
    assert forecaster.evaluate("AAA").scores == rnnforecast.evaluate("AAA", home=home).scores


@pytest.mark.parametrize("target", ["AAA", "@G"])
def test_a_plot_or_backtest_of_a_global_model_is_refused_clearly(group: dict, target: str) -> None:
    home = group["home"]
    with pytest.raises(OwnModelOnly, match="global model") as raised:
        rnnforecast.plot_test_period(target, home=home)
    assert raised.value.exit_code == 2 and raised.value.target == target
    with pytest.raises(OwnModelOnly, match="walk-forward"):
        rnnforecast.backtest(target, folds=2, home=home)


def test_a_group_needs_two_tickers(group: dict) -> None:
    with pytest.raises(UsageError, match="two"):
        rnnforecast.train(["AAA", "aaa"], group["config"], group="G", home=group["home"])


def test_several_tickers_without_a_group_train_each_and_name_the_failed(
    tmp_path: Path,
) -> None:
    home, config = tmp_path / "own", tmp_path / "tiny.toml"
    config.write_text(TINY_CONFIG)
    _fetch(home, tmp_path, {"AAA": 1})
    with pytest.raises(PartialFailure, match=r"1 of 2 tickers failed: ZZZ \(no data stored"):
        rnnforecast.train(["AAA", "ZZZ"], config, home=home, lock_timeout=5.0)
    own = rnnforecast.list_models("AAA", home=home)
    assert own["current"].tolist() == [True]  # AAA was trained all the same
    evaluation = rnnforecast.evaluate("AAA", home=home)
    assert isinstance(evaluation, rnnforecast.Evaluation)
    assert evaluation.result.run_id == own["run_id"][0]
