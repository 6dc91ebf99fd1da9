"""The README, the configs and the help texts agree with the code."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rnnforecast.cli import app
from rnnforecast.config import Config, load_config
from rnnforecast.errors import EXIT_CODES

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(c.name or c.callback.__name__ for c in app.registered_commands)


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r"^python -m pytest.*$", ci, re.M).group(0)
    assert command in README


def test_readme_quick_start_runs_every_step_on_the_sample() -> None:
    first = next(line for line in README.splitlines() if "rnnforecast fetch --sample" in line)
    for step in ("pip install", "fetch --sample", "train GOOG", "evaluate GOOG", "predict GOOG"):
        assert step in first


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented_and_has_help(command: str) -> None:
    assert f"### `rnnforecast {command}" in README
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.stdout


def test_docs_list_every_exit_code() -> None:
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for code in EXIT_CODES:
        assert re.search(rf"^\| {code} \|", operations, re.M), code


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_config_loads(path: Path) -> None:
    load_config(path)


def test_default_toml_is_the_built_in_default() -> None:
    assert load_config(ROOT / "configs" / "default.toml") == Config()


def test_every_config_key_is_documented() -> None:
    default_toml = (ROOT / "configs" / "default.toml").read_text()
    for section in dataclasses.fields(Config):
        for key in dataclasses.fields(section.default_factory()):
            assert f"`{section.name}.{key.name}`" in README, key.name
            assert re.search(rf"^{key.name} = ", default_toml, re.M), key.name


def test_sample_origin_is_noted_next_to_it() -> None:
    note = (ROOT / "rnnforecast" / "data" / "README.md").read_text()
    assert "backtesting" in note and "60e961a5" in note
