"""The README, the configs and the help texts agree with the code."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rnnforecast.cli.commands import app
from rnnforecast.config import Config, load_config
from rnnforecast.errors import EXIT_CODES

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = ROOT / "docs"
GUIDE = (DOCS / "commands.md").read_text(encoding="utf-8")
CONFIGURATION = (DOCS / "configuration.md").read_text(encoding="utf-8")
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
    assert f"## `rnnforecast {command}" in GUIDE
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.stdout


def test_readme_and_operations_list_every_exit_code() -> None:
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for code in EXIT_CODES:
        assert re.search(rf"^\| {code} \|", operations, re.M), code
        assert re.search(rf"^\| {code} \|", README, re.M), code


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_config_loads(path: Path) -> None:
    load_config(path)


def test_default_toml_is_the_built_in_default() -> None:
    assert load_config(ROOT / "configs" / "default.toml") == Config()


def test_every_config_key_is_documented() -> None:
    default_toml = (ROOT / "configs" / "default.toml").read_text()
    for section in dataclasses.fields(Config):
        for key in dataclasses.fields(section.default_factory()):
            assert f"`{section.name}.{key.name}`" in CONFIGURATION, key.name
            assert re.search(rf"^{key.name} = ", default_toml, re.M), key.name


def test_sample_origin_is_noted_next_to_it() -> None:
    note = (ROOT / "rnnforecast" / "data" / "README.md").read_text()
    assert "backtesting" in note and "60e961a5" in note


def test_readme_stays_short() -> None:
    assert len(README.splitlines()) <= 220


def _generator():  # tools/ is not a package: load the script by path
    spec = importlib.util.spec_from_file_location(
        "gen_cli_docs", ROOT / "tools" / "gen_cli_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_matches_the_help_texts() -> None:
    expected = _generator().render()
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == expected, (
        "docs/cli.md is out of date: run python tools/gen_cli_docs.py"
    )


def test_every_module_is_named_in_the_architecture_page() -> None:
    page = (DOCS / "architecture.md").read_text(encoding="utf-8")
    for module in sorted((ROOT / "rnnforecast").glob("*.py")):
        assert f"`{module.stem}`" in page, module.stem


@pytest.mark.parametrize(
    "page", [ROOT / "README.md", *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name
)
def test_relative_links_resolve(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
