"""Packaging (issue "Years of nights on real data", row 15): honest dependency floors, each
installed and tested by .ci/run; a LICENSE file; the default recipe inside the package; the
calendars the code maps exist in the calendar package it asks for."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from conftest import REPO

from rnnforecast.config import Config, default_recipe, load_config
from rnnforecast.data import calendars

ROOT = REPO
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
REQUIREMENT = re.compile(
    r"^(?P<name>[A-Za-z0-9_.\-]+)>=(?P<floor>[0-9][0-9.]*)\s*(?:;(?P<marker>.*))?$"
)
# Wheels exist for x86-64 Linux and Windows only on one side, elsewhere on the other: CI runs
# on x86-64 Linux, so tensorflow-cpu's floor is the one installed there (the same version).
NOT_ON_CI = {"tensorflow"}


def floors() -> dict[str, str]:
    """Every dependency of pyproject.toml -> its floor (each must have one)."""
    found = {}
    for line in PYPROJECT["project"]["dependencies"]:
        match = REQUIREMENT.match(line.strip())
        assert match, f"no floor (name>=X.Y) in {line!r}"
        found[match["name"].lower()] = match["floor"]
    return found


def ci_floors() -> dict[str, str]:
    """The FLOORS=(...) that .ci/run installs: name -> version."""
    text = (ROOT / ".ci" / "run").read_text()
    block = re.search(r"^FLOORS=\((?P<body>[^)]*)\)", text, re.M)
    assert block, ".ci/run lists no FLOORS=(...)"
    pins = re.findall(r'"([A-Za-z0-9_.\-]+)==([0-9][0-9.]*)"', block["body"])
    return {name.lower(): version for name, version in pins}


def test_every_floor_is_installed_by_ci() -> None:
    declared, installed = floors(), ci_floors()
    assert len(declared) >= 13
    for name, floor in declared.items():
        if name in NOT_ON_CI:
            assert declared["tensorflow-cpu"] == floor
            continue
        assert installed.get(name) == floor, f"{name}>={floor} is not what .ci/run installs"
    assert set(installed) <= set(declared) | {"pytest"}


def test_ci_runs_the_floors_tests() -> None:
    text = (ROOT / ".ci" / "run").read_text()
    assert '"${FLOORS[@]}"' in text and "tests/test_packaging.py" in text


@pytest.mark.parametrize("code", sorted(set(calendars._YAHOO_EXCHANGES.values())))
def test_every_mapped_calendar_exists(code: str) -> None:
    """XDUS, XHAM and XSTU came with exchange-calendars 4.5.5 and 4.13.2: the floor."""
    assert calendars.check_code(code) == code


def test_license_file_is_mit() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Permission is hereby granted" in text
    assert PYPROJECT["project"]["license"] == {"text": "MIT"}


def test_the_default_recipe_ships_inside_the_package() -> None:
    shipped = default_recipe()
    assert shipped.parent == Path(__import__("rnnforecast").__file__).parent
    assert shipped.read_bytes() == (ROOT / "configs" / "default.toml").read_bytes()
    assert "default.toml" in PYPROJECT["tool"]["setuptools"]["package-data"]["rnnforecast"]
    assert load_config(None) == load_config(shipped) == Config()
