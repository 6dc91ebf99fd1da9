"""The README, the configs and the help texts agree with the code."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path

import pytest
from conftest import REPO
from typer.testing import CliRunner

from rnnforecast.cli.commands import app
from rnnforecast.config import Config, load_config
from rnnforecast.errors import EXIT_CODES

ROOT = REPO
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
    steps = ("pip install", "fetch --sample", "train GOOG", "evaluate GOOG", "predict GOOG")
    assert any(all(step in line for step in steps) for line in README.splitlines())


def test_readme_first_screen_says_what_a_user_gets_and_what_to_run() -> None:
    first_screen = "\n".join(README.splitlines()[:25])
    assert "today's close" in first_screen and "80% interval" in first_screen
    for command in ("rnnforecast fetch --sample", "rnnforecast train GOOG", "predict GOOG"):
        assert command in first_screen, command


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


ARCHITECTURE = (DOCS / "architecture.md").read_text(encoding="utf-8")


def test_architecture_page_names_every_module_and_no_other() -> None:
    named = set(re.findall(r"`(rnnforecast/[\w/]+\.py)`", ARCHITECTURE))
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "rnnforecast").rglob("*.py")}
    assert not on_disk - named, f"add to docs/architecture.md: {sorted(on_disk - named)}"
    assert not named - on_disk, f"named but missing: {sorted(named - on_disk)}"


def _import_rule() -> dict[str, int]:
    """The rank of each package in the page's rule ``a, b  <  c  <  ...`` (low imports none
    of high)."""
    line = next(line for line in ARCHITECTURE.splitlines() if line.count("<") > 5)
    return {
        name.strip(): rank for rank, part in enumerate(line.split("<")) for name in part.split(",")
    }


def _package(module: str) -> str:
    """``rnnforecast.jobs.nightly`` -> ``jobs``; ``rnnforecast.config`` -> ``config``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_imports_follow_the_architecture_page_rule() -> None:
    import ast

    rank = _import_rule()
    broken = []
    for path in sorted((ROOT / "rnnforecast").rglob("*.py")):
        source = _package(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module]
                if node.module == "rnnforecast":
                    targets = [f"rnnforecast.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                if not target.startswith("rnnforecast."):
                    continue
                package = _package(target)
                if source in rank and package in rank and rank[package] > rank[source]:
                    broken.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not broken, "imports against the rule of docs/architecture.md: " + "; ".join(broken)


@pytest.mark.parametrize(
    "page",
    [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_relative_links_resolve(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_every_report_is_indexed_with_a_command_that_exists() -> None:
    index = (DOCS / "reports" / "README.md").read_text(encoding="utf-8")
    for report in sorted((DOCS / "reports").glob("*.md")):
        if report.name == "README.md":
            continue
        row = next((line for line in index.splitlines() if f"]({report.name})" in line), None)
        assert row is not None, f"docs/reports/README.md does not list {report.name}"
        assert "`python " in row, f"no command reproduces {report.name}"
    for script in re.findall(r"python ((?:benchmarks|tools)/\w+\.py)", index):
        assert (ROOT / script).exists(), script
