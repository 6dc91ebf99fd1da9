"""Run mutmut over one core module with the tests of its package, in a scratch copy.

    python tools/mutate_module.py rnnforecast/risk/baselines/ewma.py tests/risk
    python tools/mutate_module.py rnnforecast/data/store.py tests/data/test_store.py --summary
    python tools/mutate_module.py "rnnforecast/risk/baselines/*.py" tests/risk/test_baselines.py

The working tree (tracked files plus new ones, as they are now) is copied to
DIR (default: a directory under the system temporary directory named after the module);
the copy's ``[tool.mutmut]`` mutates that one module and selects the given tests
(``-m "not slow"``), and ``mutmut run --max-children 1`` runs there, so the checkout's own
``mutants/`` and configuration are left alone. It prints the counts by status and every
survivor's name; ``--summary`` only reads the counts of an earlier run in DIR, and
``--rerun`` copies the tests into DIR again and runs the earlier run's survivors only
(after tests were added to kill them; the tests selected stay those of the first run). See
docs/tests.md ("Mutation testing over the core") for the results and the triage.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# mutmut 3's exit codes by status (mutmut/stats.py)
STATUS: dict[int | None, str] = {1: "killed", 3: "killed", 0: "survived"}
STATUS.update({5: "no tests", 33: "no tests"})
STATUS.update(
    {
        None: "not checked",
        36: "timeout",
        -24: "timeout",
        24: "timeout",
        152: "timeout",
        255: "timeout",
    }
)


def _copy_tree(dest: Path, *under: str) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", *under],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def _narrow_config(dest: Path, modules: list[str], tests: list[str]) -> None:
    pyproject = dest / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    table_start = re.search(r"^\[tool\.mutmut\]$", text, re.MULTILINE)
    if table_start is None:
        raise SystemExit("pyproject.toml has no [tool.mutmut] table")
    head = text[: table_start.start()]
    selection = [*tests, "-m", "not slow"]
    table = (
        "[tool.mutmut]\n"
        'source_paths = ["rnnforecast"]\n'
        f"only_mutate = {json.dumps(modules)}\n"
        "mutate_only_covered_lines = true\n"
        # tests that read the documentation (test_csv_exports_import's list of samples)
        'also_copy = ["docs"]\n'
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]\n'
        f"pytest_add_cli_args_test_selection = {json.dumps(selection)}\n"
    )
    pyproject.write_text(head + table, encoding="utf-8")


def _diff(dest: Path, mutant: str) -> str:
    shown = subprocess.run(
        [str(Path(sys.executable).with_name("mutmut")), "show", mutant],
        cwd=dest,
        check=False,
        capture_output=True,
        text=True,
    ).stdout
    changed = [line for line in shown.splitlines() if line[:2] in ("- ", "+ ")]
    return "".join(f"\n        {line}" for line in changed)


def _survivors(dest: Path, modules: list[str]) -> list[str]:
    metas = {m for module in modules for m in (dest / "mutants").glob(module + ".meta")}
    return sorted(
        mutant
        for meta in metas
        for mutant, code in json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"].items()
        if code == 0
    )


def _summary(dest: Path, modules: list[str], diffs: bool = False) -> int:
    metas = sorted({m for module in modules for m in (dest / "mutants").glob(module + ".meta")})
    if not metas:
        print(f"no results for {modules} in {dest / 'mutants'}", file=sys.stderr)
        return 1
    for meta in metas:
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        counts = collections.Counter(STATUS.get(code, f"exit {code}") for code in codes.values())
        name = meta.relative_to(dest / "mutants").as_posix().removesuffix(".meta")
        print(f"{name}: {len(codes)} mutants, " + ", ".join(f"{n} {s}" for s, n in counts.items()))
        for mutant, code in sorted(codes.items()):
            if STATUS.get(code) != "killed":
                shown = _diff(dest, mutant) if diffs and code == 0 else ""
                print(f"    {mutant}: {STATUS.get(code, code)}{shown}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "module", help="e.g. rnnforecast/risk/baselines/ewma.py; several: comma-separated"
    )
    parser.add_argument("tests", nargs="*", help="test files or directories (pytest arguments)")
    parser.add_argument("--dir", type=Path, help="the scratch copy (reused if it exists)")
    parser.add_argument("--summary", action="store_true", help="only count an earlier run")
    parser.add_argument("--diffs", action="store_true", help="with each survivor's change")
    parser.add_argument(
        "--rerun",
        action="store_true",
        help="copy tests/ into DIR again and run only the earlier run's survivors",
    )
    args = parser.parse_intermixed_args()
    modules = args.module.split(",")
    for module in modules:
        if not re.fullmatch(r"rnnforecast/[\w/]+(\.py|/\*\.py)", module):
            parser.error(f"module {module}: a path like rnnforecast/data/store.py or a/*.py")
    stem = modules[0].removeprefix("rnnforecast/").removesuffix(".py").replace("/", "-")
    stem = stem.replace("*", "all") + ("-etc" if len(modules) > 1 else "")
    dest = args.dir or Path(tempfile.gettempdir()) / f"rnnforecast-mutmut-{stem}"
    if args.summary:
        return _summary(dest, modules, args.diffs)
    mutmut = Path(sys.executable).with_name("mutmut")
    if args.rerun:
        survivors = _survivors(dest, modules)
        if not survivors:
            print(f"no survivors of {modules} in {dest / 'mutants'}", file=sys.stderr)
            return 1
        _copy_tree(dest, "tests")  # new tests; mutmut records what they reach
        command = [str(mutmut), "run", "--max-children", "1", *survivors]
        run = subprocess.run(command, cwd=dest, check=False)
        return run.returncode or _summary(dest, modules, args.diffs)
    if not args.tests:
        parser.error("name the tests that reach the module")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    _copy_tree(dest)
    _narrow_config(dest, modules, args.tests)
    run = subprocess.run([str(mutmut), "run", "--max-children", "1"], cwd=dest, check=False)
    if run.returncode != 0:
        return run.returncode
    return _summary(dest, modules, args.diffs)


if __name__ == "__main__":
    sys.exit(main())
