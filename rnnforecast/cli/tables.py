"""The drawing primitive of the CLI's output: a rich table on a terminal, tab-separated lines
(header first) in a pipe. :mod:`rnnforecast.cli.render` builds every table of a result with it;
rich loads only when a table is drawn on a terminal.
"""

from __future__ import annotations

import sys
from typing import Any

from rnnforecast.cli.output import say


def human() -> bool:
    return sys.stdout.isatty()


WHOLE = frozenset({"ticker", "run"})
"""Columns never cut or wrapped on a narrow terminal: a ticker and a run id are copied into
the next command (``models --promote RUN``); the other columns fold onto more lines to make
room, so that no cell is ever cut."""


def table(title: str, headers: list[str], rows: list[list[Any]]) -> None:
    """A rich table on a terminal; tab-separated lines (header first) otherwise. On a
    terminal the :data:`WHOLE` columns keep their full width, however narrow the terminal."""
    if human():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table()
        for i, header in enumerate(headers):
            whole = header in WHOLE
            widest = max([len(header), *(len(str(row[i])) for row in rows)])
            table.add_column(
                header,
                justify="left" if i == 0 else "right",
                no_wrap=whole,
                min_width=widest if whole else None,
                overflow="fold",  # wrapped onto more lines, never cut with an ellipsis
            )
        for row in rows:
            table.add_row(*(str(v) for v in row))
        console = Console()
        console.print(Text(title, style="bold"))
        console.print(table)
    else:
        say(title)
        print("\t".join(headers))
        for row in rows:
            print("\t".join(str(v) for v in row))


def fmt(value: float | None, digits: int = 4) -> str:
    """A number as a table cell: ``digits`` decimals, ``-`` for a missing one."""
    return "-" if value is None else f"{value:.{digits}f}"
