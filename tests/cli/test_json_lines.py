"""``--json`` prints one document on one line, so that ``--json >> run.jsonl`` keeps JSON Lines."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from conftest import cli


def test_every_json_document_is_one_line_and_the_file_reads_as_json_lines(
    prices_csv: Path,
) -> None:
    outputs = [
        cli("fetch", "AAA", "--csv", str(prices_csv), "--json"),
        cli("predict", "AAA", "--json"),  # an error: no model yet
        cli("fetch", "BBB", "--csv", str(prices_csv), "--json"),
    ]
    assert [o.exit_code for o in outputs] == [0, 4, 0], [o.stderr for o in outputs]
    for output in outputs:
        assert output.stdout.count("\n") == 1 and output.stdout.endswith("\n"), output.stdout
    log = "".join(o.stdout for o in outputs)
    frame = pd.read_json(io.StringIO(log), lines=True)
    assert len(frame) == 3
    assert frame["error"].notna().tolist() == [False, True, False]
