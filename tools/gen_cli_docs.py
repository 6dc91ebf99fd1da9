"""Write docs/cli.md from the CLI's own ``--help`` texts (run after changing an option).

``python tools/gen_cli_docs.py`` rewrites the file; ``--check`` exits 1 if it is out of date
(tests/test_docs.py runs the same comparison, so CI fails on a stale reference).
"""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner

from rnnforecast.cli.commands import app

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "cli.md"
WIDTH = 100

HEADER = """\
# Command-line reference

Generated from `rnnforecast --help` and each command's `--help` by
`python tools/gen_cli_docs.py`; a test fails when this file and the CLI disagree. The prose
guide with examples of every command is [commands.md](commands.md).
"""


def _help(args: list[str]) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], terminal_width=WIDTH)
    if result.exit_code != 0:
        raise RuntimeError(f"rnnforecast {' '.join(args)} --help exited {result.exit_code}")
    return result.stdout.rstrip() + "\n"


def commands() -> list[str]:
    """The registered command names, in the order ``--help`` lists them."""
    return [c.name or c.callback.__name__ for c in app.registered_commands if c.callback]


def render() -> str:
    """The whole of docs/cli.md."""
    parts = [HEADER, "## `rnnforecast`\n", "```text\n" + _help([]) + "```\n"]
    for name in commands():
        parts += [f"## `rnnforecast {name}`\n", "```text\n" + _help([name]) + "```\n"]
    return "\n".join(parts)


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if TARGET.read_text(encoding="utf-8") != text:
            sys.stderr.write("docs/cli.md is out of date: run python tools/gen_cli_docs.py\n")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
