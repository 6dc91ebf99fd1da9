"""The architecture's numbers, computed from the source so that they stay true.

Every check reads ``rnnforecast/`` with :mod:`ast` (nothing of the package is imported): the
layout (top-level modules and subpackages), the import graph between modules and between
packages (no circles, a bounded number of floors, one direction), which package may print,
exit, read the environment or import TensorFlow, the size of modules and functions, and the
private names and fit paths that one fitted-model type should leave behind. A failure names
the module, function or import arrow at fault.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from conftest import REPO

ROOT = REPO / "rnnforecast"
PROJECT = "rnnforecast"

MAX_TOP_LEVEL = 12
MIN_SUBPACKAGES = 5
MAX_FLOORS = 12
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80
MAX_NETWORK_AND_SCALERS = 3

# The package import rule, bottom first: a node may import its own rank or lower ones only.
# The top-level helpers share the bottom rank; the package face (rnnforecast/__init__.py)
# and ``python -m rnnforecast`` sit above everything they expose.
BOTTOM = ("errors", "jsonsafe", "faults", "exports", "plots", "version")
LAYERS: tuple[tuple[str, ...], ...] = (
    BOTTOM,
    ("data",),
    ("config",),
    ("metrics",),
    ("forecast",),
    ("nn",),
    ("storage",),
    ("risk",),
    ("training",),
    ("jobs",),
    ("results",),
    ("api",),
    ("cli",),
    ("__init__", "__main__"),
)

# The command line is the one place that talks to a terminal or the process.
CLI_ONLY_IMPORTS = ("typer", "rich", "click")
CLI_ONLY_NAMES = ("print", "sys.exit", "typer.Exit", "os.environ", "os.getenv")
# TensorFlow reads its own variables once, when it loads: the network package, which imports
# it, may give them a default first (in any process, a worker's included).
TENSORFLOW_SETTING = "os.environ.setdefault('TF_...')"
# TensorFlow lives behind the network package.
NN_ONLY_IMPORTS = ("tensorflow", "keras", "tf_keras")


@dataclass(frozen=True)
class Module:
    """One ``.py`` file of the package: its dotted name, the node it belongs to on the
    package graph (its subpackage, or its own stem at the top level) and its syntax tree."""

    name: str
    node: str
    path: Path
    tree: ast.Module

    @property
    def where(self) -> str:
        if self.path.is_relative_to(ROOT.parent):
            return self.path.relative_to(ROOT.parent).as_posix()
        return self.path.name


def _dotted(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Module]:
    """Every module of the package by dotted name (a package's ``__init__`` by the package's)."""
    found: dict[str, Module] = {}
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).parts
        node = relative[0] if len(relative) > 1 else path.stem
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found[_dotted(path)] = Module(_dotted(path), node, path, tree)
    return found


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` names (relative imports resolved)."""
    if node.level == 0:
        return node.module or ""
    package = module.name.split(".")
    if module.path.name != "__init__.py":
        package.pop()
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imported(module: Module) -> Iterator[tuple[str, int]]:
    """The project modules ``module`` imports, with the line of each import: at the top or
    inside a function, ``if TYPE_CHECKING:`` included. ``from rnnforecast.pkg import name``
    is an import of the submodule ``pkg.name`` when there is one, else of ``pkg``."""
    known = modules()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PROJECT:
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            if source.split(".")[0] != PROJECT:
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                yield (submodule if submodule in known else source), node.lineno


def module_edges() -> dict[str, set[str]]:
    """Module -> the project modules it imports (itself left out)."""
    return {
        name: {target for target, _ in imported(module) if target != name}
        for name, module in modules().items()
    }


def package_edges() -> dict[str, set[str]]:
    """Package-graph node -> the nodes it imports: each subpackage is one node, each
    top-level module one of its own (``__init__`` is the package face)."""
    known = modules()
    edges: dict[str, set[str]] = {module.node: set() for module in known.values()}
    for name, targets in module_edges().items():
        source = known[name].node
        edges[source] |= {known[t].node for t in targets if t in known} - {source}
    return edges


def arrows(module: Module) -> Iterator[tuple[str, int]]:
    """``module``'s imports as package-graph nodes, with their lines (for messages)."""
    known = modules()
    for target, line in imported(module):
        if target in known and known[target].node != module.node:
            yield known[target].node, line


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def describe_circle(component: list[str], edges: dict[str, set[str]]) -> str:
    members = set(component)
    inner = [f"{a} -> {b}" for a in component for b in sorted(edges[a] & members)]
    return "; ".join(inner)


def floors(edges: dict[str, set[str]]) -> dict[str, int]:
    """Each node's floor on an acyclic graph: 1 when it imports nothing of the project,
    else 1 + the highest floor it imports."""
    found: dict[str, int] = {}

    def floor(node: str) -> int:
        if node not in found:
            found[node] = 1 + max((floor(t) for t in edges.get(node, ())), default=0)
        return found[node]

    for node in edges:
        floor(node)
    return found


def rank(node: str) -> int:
    for level, members in enumerate(LAYERS):
        if node in members:
            return level
    raise AssertionError(f"{node} has no place in the package import rule (LAYERS)")


def dotted(node: ast.expr) -> str:
    """``a.b.c`` for a chain of attributes on a name, else ''."""
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return node.id if isinstance(node, ast.Name) else ""


def third_party_imports(module: Module) -> Iterator[tuple[str, int]]:
    """The top-level names of the libraries ``module`` imports, with their lines."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


def functions(module: Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(module.tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(module: Module) -> Iterator[str]:
    """Another module's private names that ``module`` uses: ``from rnnforecast.m import _x``
    and ``m._x`` where ``m`` is bound to a project module here (by any import form)."""
    known = modules()
    bound: dict[str, str] = {}  # local name -> project module
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PROJECT:
                    bound[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            if source.split(".")[0] != PROJECT:
                continue
            for alias in node.names:
                if f"{source}.{alias.name}" in known:
                    bound[alias.asname or alias.name] = f"{source}.{alias.name}"
                elif is_private(alias.name) and source != module.name:
                    yield f"{module.where}:{node.lineno} imports {source}.{alias.name}"
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            target = bound.get(dotted(node.value))
            if target is not None and target != module.name:
                yield f"{module.where}:{node.lineno} uses {target}.{node.attr}"


def calls(name: str) -> list[str]:
    """Where the package calls a function called ``name`` (plainly or as an attribute)."""
    found = []
    for module in modules().values():
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call):
                callee = node.func
                called = callee.attr if isinstance(callee, ast.Attribute) else dotted(callee)
                if called == name:
                    found.append(f"{module.where}:{node.lineno}")
    return found


NETWORK_PARAMETERS = {"network", "net", "keras_model"}
SCALER_PARAMETERS = {"scalers", "scaler"}


def network_and_scalers() -> list[str]:
    """The functions that take a network and its scalers as two parameters (what one
    fitted-model object should carry together)."""
    found = []
    for module in modules().values():
        for function in functions(module):
            arguments = function.args
            names = {
                a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            }
            if names & NETWORK_PARAMETERS and names & SCALER_PARAMETERS:
                found.append(f"{module.where}:{function.lineno} {function.name}")
    return found


def process_uses(module: Module) -> Iterator[tuple[str, int]]:
    """Where ``module`` prints, exits or reads the environment: a call of ``print``, and any
    mention of ``sys.exit``, ``typer.Exit``, ``os.environ`` or ``os.getenv`` (also imported
    by name, ``from os import environ``)."""
    tensorflow_settings = {  # the ``os.environ`` of ``os.environ.setdefault("TF_...", ...)``
        id(node.func.value)
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and dotted(node.func) == "os.environ.setdefault"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and str(node.args[0].value).startswith("TF_")
    }
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call) and dotted(node.func) == "print":
            yield "print", node.lineno
        elif id(node) in tensorflow_settings:
            yield TENSORFLOW_SETTING, node.lineno
        elif isinstance(node, ast.Attribute) and dotted(node) in CLI_ONLY_NAMES:
            yield dotted(node), node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                if f"{node.module}.{alias.name}" in CLI_ONLY_NAMES:
                    yield f"{node.module}.{alias.name}", node.lineno


# --- layout ---------------------------------------------------------------------------------


def test_few_top_level_modules_and_the_rest_in_subpackages() -> None:
    top = sorted(path.name for path in ROOT.glob("*.py"))
    packages = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file())
    assert len(top) <= MAX_TOP_LEVEL, f"{len(top)} top-level modules: {', '.join(top)}"
    assert len(packages) >= MIN_SUBPACKAGES, f"subpackages: {', '.join(packages)}"
    nested = {m.node for m in modules().values() if m.path.parent != ROOT}
    assert nested == set(packages), (
        f"folders of modules without __init__.py: {nested - set(packages)}"
    )


# --- the import graph -----------------------------------------------------------------------


def test_no_import_circle_between_modules() -> None:
    edges = module_edges()
    found = [describe_circle(c, edges) for c in circles(edges)]
    assert found == [], "import circles between modules: " + " | ".join(found)


def test_no_import_circle_between_packages() -> None:
    edges = package_edges()
    found = [describe_circle(c, edges) for c in circles(edges)]
    assert found == [], "import circles between packages: " + " | ".join(found)


def test_few_import_floors() -> None:
    edges = package_edges()
    assert circles(edges) == [], "floors are counted on an acyclic graph"
    floor = floors(edges)
    top = max(floor.values())
    assert top <= MAX_FLOORS, f"{top} import floors: " + ", ".join(
        f"{node} {level}" for node, level in sorted(floor.items(), key=lambda item: item[1])
    )


def test_every_package_has_a_place_in_the_import_rule() -> None:
    placed = {node for layer in LAYERS for node in layer}
    assert set(package_edges()) <= placed, sorted(set(package_edges()) - placed)


def test_no_package_imports_one_above_it() -> None:
    upward = [
        f"{module.where}:{line} {module.node} -> {target}"
        for module in modules().values()
        for target, line in arrows(module)
        if rank(target) > rank(module.node)
    ]
    assert upward == [], "imports against the package import rule: " + "; ".join(upward)


def test_nothing_but_the_entry_point_imports_the_command_line() -> None:
    found = [
        f"{module.where}:{line} {module.node} -> cli"
        for module in modules().values()
        if module.node not in ("cli", "__main__")
        for target, line in arrows(module)
        if target == "cli"
    ]
    assert found == [], "the core imports the command line: " + "; ".join(found)


def test_the_import_graph_sees_every_form_of_import(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\nimport rnnforecast.cli.commands\n"
        "from rnnforecast import errors, train\nfrom rnnforecast.jobs import listing, run\n"
        "if TYPE_CHECKING:\n    from rnnforecast.nn.threads import limit_threads\n"
        "def f():\n    from . import exports\n"
    )
    module = Module("rnnforecast.m", "m", ROOT / "m.py", ast.parse(source))
    assert sorted(imported(module)) == [
        ("rnnforecast", 3),
        ("rnnforecast.cli.commands", 2),
        ("rnnforecast.errors", 3),
        ("rnnforecast.exports", 8),
        ("rnnforecast.jobs", 4),
        ("rnnforecast.jobs.listing", 4),
        ("rnnforecast.nn.threads", 6),
    ]
    assert sorted(arrows(module)) == [
        ("__init__", 3),
        ("cli", 2),
        ("errors", 3),
        ("exports", 8),
        ("jobs", 4),
        ("jobs", 4),
        ("nn", 6),
    ]


def test_circles_and_floors_are_found() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert circles(edges) == [["a", "b", "c"]]
    assert describe_circle(["a", "b", "c"], edges) == "a -> b; b -> c; c -> a"
    assert floors({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == {"a": 3, "b": 2, "c": 1}


# --- who may talk to the terminal, the process or TensorFlow --------------------------------


def test_only_the_command_line_imports_typer_or_rich() -> None:
    found = [
        f"{module.where}:{line} imports {library}"
        for module in modules().values()
        if module.node not in ("cli", "__main__")
        for library, line in third_party_imports(module)
        if library in CLI_ONLY_IMPORTS
    ]
    assert found == [], "outside the command line: " + "; ".join(found)


def test_only_the_command_line_prints_exits_or_reads_the_environment() -> None:
    found = [
        f"{module.where}:{line} {what}"
        for module in modules().values()
        if module.node not in ("cli", "__main__")
        for what, line in process_uses(module)
        if not (module.node == "nn" and what == TENSORFLOW_SETTING)
    ]
    assert found == [], "outside the command line: " + "; ".join(found)


def test_only_the_network_package_imports_tensorflow() -> None:
    found = [
        f"{module.where}:{line} imports {library}"
        for module in modules().values()
        if module.node != "nn"
        for library, line in third_party_imports(module)
        if library in NN_ONLY_IMPORTS
    ]
    assert found == [], "outside rnnforecast/nn/: " + "; ".join(found)


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    source = (
        "import os\nfrom os import environ\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import keras\n"
        "def f():\n    import rich.console\n    print(os.environ.get('X'))\n"
        "    raise SystemExit(os.getenv('Y'))\nos.environ.setdefault('TF_X', '1')\n"
    )
    module = Module("m", "m", tmp_path / "m.py", ast.parse(source))
    assert sorted(third_party_imports(module)) == [
        ("keras", 5),
        ("os", 1),
        ("os", 2),
        ("rich", 7),
        ("typing", 3),
    ]
    uses = [("os.environ", 2), ("os.environ", 8), ("os.getenv", 9), ("print", 8)]
    assert sorted(process_uses(module)) == sorted([*uses, (TENSORFLOW_SETTING, 10)])


# --- sizes ----------------------------------------------------------------------------------


def test_every_module_is_short() -> None:
    long = [
        f"{module.where} has {lines} lines"
        for module in modules().values()
        if (lines := len(module.path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert long == [], "; ".join(long)


def test_every_function_is_short() -> None:
    long = [
        f"{module.where}:{function.lineno} {function.name} has {lines} lines"
        for module in modules().values()
        for function in functions(module)
        if (lines := (function.end_lineno or function.lineno) - function.lineno + 1)
        > MAX_FUNCTION_LINES
    ]
    assert long == [], "; ".join(long)


def renamed_modules(module: Module) -> Iterator[str]:
    """The imports in ``module`` that bind a project module under another name
    (``from rnnforecast.jobs import prediction as serving``)."""
    known = modules()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known and alias.asname:
                    yield f"{module.where}:{node.lineno} {alias.name} as {alias.asname}"
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            for alias in node.names:
                named = f"{source}.{alias.name}"
                if named in known and alias.asname and alias.asname != alias.name:
                    yield f"{module.where}:{node.lineno} {named} as {alias.asname}"


RENAMED_MODULES = [alias for module in modules().values() for alias in renamed_modules(module)]


def test_a_module_is_called_by_its_name() -> None:
    # A module imported under another name (pooling for global_model) is two names to learn.
    assert RENAMED_MODULES == [], "modules imported under another name: " + "; ".join(
        RENAMED_MODULES
    )


# --- one fitted model, one fit path ---------------------------------------------------------

PRIVATE_USES = sorted({use.split(" ", 2)[2] for m in modules().values() for use in private_uses(m)})
NETWORK_AND_SCALERS = network_and_scalers()
CALIBRATION_FITS = calls("fit_calibration")
NETWORK_FITS = calls("train_network")


def test_no_module_uses_another_modules_private_names() -> None:
    found = [use for module in modules().values() for use in private_uses(module)]
    assert found == [], f"{len(PRIVATE_USES)} private names used elsewhere: " + "; ".join(found)


def test_the_private_name_check_sees_both_forms(tmp_path: Path) -> None:
    source = (
        "from rnnforecast.storage import home\nimport rnnforecast.jobs.listing as runs\n"
        "from rnnforecast.errors import _hidden, __all__\n"
        "home._root()\nruns._describe\nhome.__doc__\n"
    )
    module = Module("m", "m", tmp_path / "m.py", ast.parse(source))
    assert sorted(private_uses(module)) == [
        "m.py:3 imports rnnforecast.errors._hidden",
        "m.py:4 uses rnnforecast.storage.home._root",
        "m.py:5 uses rnnforecast.jobs.listing._describe",
    ]


def test_few_functions_take_a_network_and_its_scalers_apart() -> None:
    assert len(NETWORK_AND_SCALERS) <= MAX_NETWORK_AND_SCALERS, (
        "functions taking a network and scalers as two parameters: "
        + "; ".join(NETWORK_AND_SCALERS)
    )


def test_one_fit_path() -> None:
    assert len(CALIBRATION_FITS) == 1, "fit_calibration( called at " + ", ".join(CALIBRATION_FITS)
    assert len(NETWORK_FITS) == 1, "train_network( called at " + ", ".join(NETWORK_FITS)
