"""docs/commands.md shows what the commands print today.

tools/gen_command_docs.py runs every example of the guide in a fresh home (the bundled
sample, CSV files, configs/smoke.toml for training) and writes their output into the page;
this test runs them again and compares with the page, after replacing what depends on the run
rather than the code (run ids, timestamps, durations, stale-session counts: tools/golden.py's
normalising). One run of every example, in one shared home: about 25 s of CPU, 60 to 75 s
wall-clock on the shared 2-core machine (two TensorFlow start-ups: train and run).
After a deliberate change of output, run ``python tools/gen_command_docs.py``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from conftest import REPO

TOOL = REPO / "tools" / "gen_command_docs.py"


def load_tool() -> ModuleType:
    """tools/gen_command_docs.py imported by its path (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("gen_command_docs", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = load_tool()


@pytest.mark.slow
def test_the_guide_shows_what_the_commands_print(tmp_path: Path) -> None:
    page = generator.TARGET.read_text(encoding="utf-8")
    difference = generator.first_difference(page, generator.render(page, tmp_path / "docs"))
    assert difference is None, (
        f"docs/commands.md is out of date ({difference}): run python tools/gen_command_docs.py"
    )


def test_every_example_block_ran() -> None:
    page = generator.TARGET.read_text(encoding="utf-8")
    blocks = list(generator.BLOCK.finditer(page))
    assert len(blocks) >= 8
    for block in blocks:
        commands = [line for line in block["commands"].splitlines() if line.strip()]
        assert block["output"].startswith("```console\n"), commands
        for line in commands:
            assert f"$ {generator.EXPECTED_EXIT.sub('', line).strip()}\n" in block["output"]


def test_comparable_replaces_what_depends_on_the_run() -> None:
    run = "20261206T214020Z-67379a"
    text = (
        f"trained GOOG run {run}: 3 epochs (best 3) in 2.7s; saved\n"
        '  "stale_sessions": 3462,\n  "train_seconds": 5.221,\n  "rel_mae": 1.0,\n'
        '  "created_at": "2026-12-06T21:40:20+00:00",\n'
        "warning: GOOG: last bar 2013-03-01 is 3462 sessions old\n"
        '  "low": 794.1474682123697,\n'
    )
    assert generator.comparable(text) == (
        "trained GOOG run <run_id>: 3 epochs (best 3) in <seconds>s; saved\n"
        '  "stale_sessions": <placeholder>,\n  "train_seconds": <placeholder>,\n'
        '  "rel_mae": 1.0,\n  "created_at": "<timestamp>",\n'
        "warning: GOOG: last bar 2013-03-01 is <sessions> sessions old\n"
        '  "low": 794.147,\n'
    )
