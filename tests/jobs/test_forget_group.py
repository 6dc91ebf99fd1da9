"""A global model from the command line: `models @G` lists its runs, `forget @G` deletes
them and its members' pointers (not their bars), and forgetting a member warns that the
group no longer serves it while it still serves the others."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import TINY_CONFIG, assert_error, cli, make_prices

MEMBERS = ("AAA", "BBB", "CCC")


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with AAA, BBB, CCC stored and the global model @G trained over them."""
    folder = tmp_path_factory.mktemp("grouped")
    home, config = folder / "home", folder / "tiny.toml"
    config.write_text(TINY_CONFIG)
    for seed, ticker in enumerate(MEMBERS, start=1):
        csv = folder / f"{ticker}.csv"
        make_prices(300, seed=seed).to_csv(csv)
        assert cli("fetch", ticker, "--csv", str(csv), home=home).exit_code == 0
    result = cli("train", *MEMBERS, "--global", "--name", "G", "--config", str(config), home=home)
    assert result.exit_code == 0, result.stderr
    return home


@pytest.fixture
def home(grouped: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(grouped, copy)
    return copy


def _json(*args: str, home: Path) -> dict:
    result = cli(*args, "--json", home=home)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_models_lists_the_group_like_a_ticker(home: Path) -> None:
    listed = _json("models", "@g", home=home)
    assert listed["ticker"] == "@G"
    assert listed["members"] == list(MEMBERS)
    [run] = listed["runs"]
    assert run["current"] and run["run_id"] == listed["current"]
    assert (home / "models" / "@G" / run["run_id"]).is_dir()
    assert "error" not in run
    table = cli("models", "@G", home=home)
    assert table.exit_code == 0 and run["run_id"] in table.stdout


def test_forget_group_deletes_its_models_and_pointers_not_bars(home: Path) -> None:
    run = _json("models", "@G", home=home)["current"]
    dry = cli("forget", "@G", home=home)
    assert_error(dry, 2, "1 saved run of @G", "AAA, BBB, CCC", "--yes")
    gone = _json("forget", "@G", "--yes", home=home)
    assert gone["ticker"] == "@G" and gone["runs"] == [run] and gone["rows"] == 0
    assert gone["members"] == list(MEMBERS) and gone["warnings"] == []
    assert not (home / "models" / "@G").exists()
    for ticker in MEMBERS:
        assert not (home / "models" / ticker).exists()  # only its pointer was there
        assert _json("models", ticker, home=home) == {"ticker": ticker, "current": None, "runs": []}
    stored = _json("tickers", home=home)["tickers"]
    assert [(t["ticker"], t["rows"]) for t in stored] == [(t, 300) for t in MEMBERS]
    assert_error(cli("predict", "AAA", home=home), 4, "AAA")
    assert_error(cli("forget", "@G", "--yes", home=home), 3, "@G")


def test_forget_member_warns_and_the_group_serves_the_others(home: Path) -> None:
    result = cli("forget", "AAA", "--yes", "--json", home=home)
    assert result.exit_code == 0, result.stderr
    gone = json.loads(result.stdout)
    assert gone["rows"] == 300 and gone["runs"] == []
    [warning] = gone["warnings"]
    assert "@G no longer serves AAA" in warning
    assert "warning: global model @G no longer serves AAA" in result.stderr
    assert "members" not in gone
    assert _json("models", "@G", home=home)["members"] == ["BBB", "CCC"]
    # the others are still served by the group
    for ticker in ("BBB", "CCC"):
        served = _json("predict", ticker, home=home)
        assert served["run_id"] == _json("models", "@G", home=home)["current"]
    # scoring the whole group needs the forgotten member's bars: one clear line, no crash
    message = assert_error(cli("evaluate", "@G", home=home), 3, "AAA", "fetch")
    assert "Traceback" not in message
    # an ordinary ticker's forget has nothing to warn of
    csv = home.parent / "DDD.csv"
    make_prices(300, seed=9).to_csv(csv)
    assert cli("fetch", "DDD", "--csv", str(csv), home=home).exit_code == 0
    plain = cli("forget", "DDD", "--yes", "--json", home=home)
    assert json.loads(plain.stdout)["warnings"] == [] and "warning" not in plain.stderr


def test_forget_group_keeps_a_members_own_models(home: Path, tmp_path: Path) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_CONFIG)
    own = cli("train", "CCC", "--config", str(config), home=home)
    assert own.exit_code == 0, own.stderr
    run = _json("models", "CCC", home=home)["current"]
    assert run is not None
    assert _json("models", "@G", home=home)["members"] == ["AAA", "BBB"]  # CCC's own now
    gone = _json("forget", "@G", "--yes", home=home)
    assert gone["members"] == ["AAA", "BBB"]
    listed = _json("models", "CCC", home=home)
    assert listed["current"] == run and "served_by" not in listed
    assert _json("predict", "CCC", home=home)["run_id"] == run


@pytest.mark.parametrize("name", ["@", "@bad/name", "@a b"])
def test_bad_group_names_are_refused(home: Path, name: str) -> None:
    assert_error(cli("models", name, home=home), 2, "group")
    assert_error(cli("forget", name, "--yes", home=home), 2, "group")
