"""The command line's layer: options checked before any work, and the core speaking no flags.

Each refused combination is asserted on an empty home, or with a config file that does not
exist, so that any work done before the check would end with another exit code (3 for no
data, 4 for no model) or another message. That the core imports nothing of the command line
is checked with the other import rules in tests/test_design.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import assert_error, cli

from rnnforecast.cli.options import ExecutorName
from rnnforecast.jobs import executors


def test_plot_suffix_is_refused_before_the_model_is_looked_for() -> None:
    line = assert_error(cli("evaluate", "NOMODEL", "--plot", "out.jpg"), 2)
    assert line == "error: --plot writes a PNG file: out.jpg does not end in .png"


def test_plot_suffix_in_capitals_passes_the_check() -> None:
    line = assert_error(cli("evaluate", "NOMODEL", "--plot", "OUT.PNG"), 4)
    assert "NOMODEL" in line


def test_executor_is_a_choice_of_local_and_ray() -> None:
    line = assert_error(cli("train", "AAA", "--executor", "spark"), 2)
    assert "'spark' is not one of 'local', 'ray'" in line
    assert line.endswith("(see 'rnnforecast train --help')")


def test_executor_choices_are_the_ones_the_executors_run() -> None:
    assert tuple(e.value for e in ExecutorName) == executors.EXECUTORS


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["AAA", "--address", "ray://head:10001"], "error: --address is for --executor ray"),
        (
            ["AAA", "BBB", "--global", "--workers", "2"],
            "error: --global trains one network, in one process: drop --workers",
        ),
        (
            ["AAA", "--name", "pair"],
            "error: --name names the group of a --global model of two or more tickers",
        ),
    ],
)
def test_train_option_combinations_are_refused_before_the_config_is_read(
    args: list[str], message: str
) -> None:
    # The config file does not exist: reading it first would end with its own message.
    line = assert_error(cli("train", *args, "--config", "missing.toml"), 2)
    assert line == message


def test_a_refused_combination_gives_the_json_error_document() -> None:
    result = cli("train", "AAA", "--address", "ray://head:10001", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {
        "error": {"code": 2, "kind": "usage", "message": "--address is for --executor ray"}
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"executor": "spark"}, "the executor must be one of local, ray; got 'spark'"),
        ({"workers": 0}, "workers must be at least 1, got 0"),
        ({"address": "ray://head:10001"}, "an address is for the ray executor"),
    ],
)
def test_executors_speak_no_flags(changes: dict, message: str) -> None:
    from rnnforecast.errors import UsageError

    with pytest.raises(UsageError) as caught, executors.pool_for(**changes):
        pass
    assert str(caught.value) == message


def test_saving_a_plot_speaks_no_flags(tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    from rnnforecast import plots
    from rnnforecast.errors import UsageError

    with pytest.raises(UsageError) as caught:
        plots.save_png(Figure(), tmp_path / "out.jpg")
    assert (
        str(caught.value)
        == f"a plot is saved as a PNG file: {tmp_path / 'out.jpg'} does not end in .png"
    )
    assert not (tmp_path / "out.jpg").exists()


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["tickers", "--home", "elsewhere"], "'rnnforecast --home ... tickers ...'"),
        (["predict", "AAA", "--wait", "3"], "'rnnforecast --wait ... predict ...'"),
        (["models", "-v", "AAA"], "'rnnforecast -v models ...'"),
    ],
)
def test_a_global_option_after_the_command_is_told_to_come_before_it(
    args: list[str], hint: str
) -> None:
    line = assert_error(cli(*args), 2)
    assert "is a global option: put it before the command, as in " + hint in line
    assert "Possible options" not in line


def test_an_unknown_option_still_points_to_the_commands_help() -> None:
    line = assert_error(cli("predict", "AAA", "--bogus"), 2)
    assert line == "error: No such option: --bogus (see 'rnnforecast predict --help')"
