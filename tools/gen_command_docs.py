"""Write the example outputs of docs/commands.md from real runs (run after changing an output).

The guide's examples are blocks between markers; the commands are in the opening marker::

    <!-- run
    rnnforecast fetch --sample
    rnnforecast forget GOOG        # exit 2
    -->
    ```console
    (written by this script)
    ```
    <!-- /run -->

This script runs every block's commands in page order, as a user would (``python -m
rnnforecast ...`` in a subprocess, this tree first on the path), in ONE fresh home in a
temporary folder, and writes what they print (stdout and stderr, in the order written) between
the markers. The work folder holds a copy of configs/ and the input files of the examples
(:func:`write_inputs`), so commands name them as a user in a checkout would. A command that exits
non-zero must say so with ``# exit N``; its code is shown as ``echo $?`` shows it. ``cat FILE``
shows a file the commands wrote. Paths print as the default home (``~/.local/share/rnnforecast``)
and ``.`` for the work folder; nothing else is replaced in the page.

``python tools/gen_command_docs.py`` rewrites the page; ``--check`` exits 1 if a fresh run
differs from it after :func:`comparable` (run ids, timestamps, durations and what depends on
today's date replaced, with the normalising of tools/golden.py), which tests/test_command_docs.py
runs too.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "commands.md"
SHOWN_HOME = "~/.local/share/rnnforecast"
TIMEOUT = 600  # seconds for one command: generous, a hang must still end

BLOCK = re.compile(r"(<!-- run\n(?P<commands>.*?)-->\n)(?P<output>.*?)(<!-- /run -->)", re.S)
EXPECTED_EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")


def _load_golden() -> ModuleType:
    """tools/golden.py by its path (tools/ is not a package): its CLI environment, synthetic
    bars and normalising functions are reused here."""
    spec = importlib.util.spec_from_file_location("golden_tool", ROOT / "tools" / "golden.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


golden = _load_golden()


class ExampleError(RuntimeError):
    """A command exited with another code than its block says, or a block is malformed."""


# --- inputs -----------------------------------------------------------------------------------


def write_inputs(workdir: Path) -> None:
    """The files the examples read: configs/ (a copy of the repository's), AAA.csv (a
    synthetic random walk, as tools/golden.py's group scenario) and eu.csv (seven bars with
    day-first dates that read month-first too)."""
    shutil.copytree(ROOT / "configs", workdir / "configs")
    golden.synthetic_bars(11).to_csv(workdir / "AAA.csv")
    bars = golden.synthetic_bars(12, rows=7).round(2)
    bars.index = bars.index.strftime("%d/%m/%Y")
    bars.to_csv(workdir / "eu.csv")


# --- running ----------------------------------------------------------------------------------


def shown(text: str, workdir: Path) -> str:
    """``text`` with the home folder and the work folder spelt as a reader's would be."""
    home = workdir / "home"
    for path, name in ((home, SHOWN_HOME), (workdir, ".")):
        for prefix in sorted({str(path.resolve()), str(path)}, key=len, reverse=True):
            text = text.replace(prefix, name)
    return text


def run_one(line: str, workdir: Path) -> str:
    """Run one command line of a block; the transcript (``$ line``, its output, its exit code
    if not 0). Raises ExampleError when the exit code is not the one the line states."""
    expected = EXPECTED_EXIT.search(line)
    command = EXPECTED_EXIT.sub("", line).strip()
    args = shlex.split(command)
    if args[:1] == ["cat"] and len(args) == 2:
        return f"$ {command}\n" + (workdir / args[1]).read_text()
    if args[:1] != ["rnnforecast"]:
        raise ExampleError(f"not an rnnforecast command: {line!r}")
    env = golden.cli_environment(workdir / "home")
    env["PYTHONUNBUFFERED"] = "1"  # stdout and stderr interleaved in the order written
    done = subprocess.run(
        [sys.executable, "-m", "rnnforecast", *args[1:]],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    want = int(expected.group(1)) if expected else 0
    if done.returncode != want:
        raise ExampleError(f"{command} exited {done.returncode}, not {want}:\n{done.stdout}")
    transcript = f"$ {command}\n{shown(done.stdout, workdir)}"
    return transcript + (f"$ echo $?\n{want}\n" if want else "")


def render(page: str, workdir: Path) -> str:
    """``page`` with every block's output replaced by a fresh run in ``workdir`` (new or
    empty)."""
    write_inputs(workdir)

    def block(match: re.Match[str]) -> str:
        lines = [ln for ln in match["commands"].splitlines() if ln.strip()]
        if not lines:
            raise ExampleError("a run block without commands")
        transcript = "".join(run_one(line, workdir) for line in lines)
        return f"{match.group(1)}```console\n{transcript}```\n{match.group(4)}"

    return BLOCK.sub(block, page)


def fresh(page: str) -> str:
    """:func:`render` in a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="rnnforecast-docs-") as folder:
        return render(page, Path(folder))


# --- comparing --------------------------------------------------------------------------------

JSON_NUMBER = re.compile(r'"(\w+)": (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)')
DURATION = re.compile(r"\bin \d+(?:\.\d+)?s\b")
LONG_FLOAT = re.compile(r"-?\d+\.\d{7,}(?:e[+-]?\d+)?")


def comparable(text: str) -> str:
    """``text`` with what depends on the run, not on the code, replaced: run ids, timestamps
    and stale-session counts (tools/golden.py's :func:`normalise_text`), the values of
    timing keys (golden's ``TIMING_KEY``) and ``stale_sessions`` in JSON, durations in
    text (``in 1.2s``), and floats rounded to 6 significant digits (golden's tolerance:
    another CPU may round the last bits differently)."""
    text = golden.normalise_text(text, Path("/nonexistent-work-folder"))

    def number(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "stale_sessions" or golden.TIMING_KEY.search(key):
            return f'"{key}": <placeholder>'
        return match.group(0)

    text = JSON_NUMBER.sub(number, text)
    text = DURATION.sub("in <seconds>s", text)
    return LONG_FLOAT.sub(lambda m: f"{float(m.group(0)):.6g}", text)


def first_difference(expected: str, actual: str) -> str | None:
    """None if the two pages agree after :func:`comparable`, else the first differing line."""
    want, got = comparable(expected).splitlines(), comparable(actual).splitlines()
    for number, (a, b) in enumerate(zip(want, got, strict=False), start=1):
        if a != b:
            return f"line {number}: page has {a!r}, a fresh run prints {b!r}"
    if len(want) != len(got):
        return f"the page has {len(want)} lines, a fresh run {len(got)}"
    return None


def main(argv: list[str]) -> int:
    page = TARGET.read_text(encoding="utf-8")
    text = fresh(page)
    if "--check" in argv:
        found = first_difference(page, text)
        if found:
            sys.stderr.write(
                f"docs/commands.md is out of date ({found}): run python tools/gen_command_docs.py\n"
            )
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
