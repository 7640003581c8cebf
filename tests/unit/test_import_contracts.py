"""The layers of ARCHITECTURE.md hold: the import-linter contracts (.importlinter) pass,
no module of hablo takes part in an import cycle, and no import of hablo hides inside a
function (the usual way to dodge a cycle) outside a short list of heavy optional SDKs."""

from __future__ import annotations

import ast
import configparser
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "hablo"

# Imports of hablo that may stay inside a function, each for a reason other than a cycle.
ALLOWED_IN_FUNCTIONS = {
    # The outermost module: nothing imports it, so it cannot hide a cycle. Each command
    # imports what it uses, so `hablo --help` does not load the whole server (~4 s of CPU
    # on a small machine instead of ~0.3 s).
    "hablo/cli.py": "*",
    # The openai SDK (~0.6 s) loads with the first tenant in LLM mode, not in every process.
    "hablo/llm/attach.py": "hablo.llm.mode",
    # scikit-learn and scipy (~1 s) load only in the process that trains a model.
    "hablo/engine/nlu/pipeline.py": "hablo.engine.nlu.training",
    # The stripe SDK (~0.3 s) loads only in a process that takes a Stripe payment.
    "hablo/payments/checkout.py": "hablo.payments.stripe_gateway",
}


def test_import_linter_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache"],  # reads .importlinter in ROOT
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_every_top_level_module_has_a_layer() -> None:
    """A new package left out of the contract would not be checked at all."""
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter")
    raw = parser["importlinter:contract:layers"]["layers"]
    named = {part.strip() for line in raw.split("\n") for part in line.replace(":", "|").split("|")}
    named.discard("")
    found = {
        f"hablo.{path.stem if path.suffix else path.name}"
        for path in PACKAGE.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert found - named == set(), "add these to the layers in .importlinter"


def _cycles(graph: grimp.ImportGraph) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = 0
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def test_no_import_cycles() -> None:
    """Every import counts, also those inside functions and under TYPE_CHECKING."""
    graph = grimp.build_graph("hablo", include_external_packages=False, cache_dir=None)
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("x", "x.a", "x.b", "x.c"):
        graph.add_module(name)
    graph.add_import(importer="x.a", imported="x.b")
    graph.add_import(importer="x.b", imported="x.a")
    graph.add_import(importer="x.c", imported="x.a")
    assert _cycles(graph) == [{"x.a", "x.b"}]


def _imports_in_functions(source: str) -> list[tuple[int, str]]:
    """(line, module) of every `import hablo...` / `from hablo... import` in a function."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if in_function and isinstance(child, ast.ImportFrom):
                module = "." * child.level + (child.module or "")
                if child.level or module.split(".")[0] == "hablo":  # relative: ours too
                    found.append((child.lineno, module))
            if in_function and isinstance(child, ast.Import):
                found.extend(
                    (child.lineno, a.name) for a in child.names if a.name.split(".")[0] == "hablo"
                )
            visit(child, inside)

    visit(ast.parse(source), False)
    return found


def test_no_hablo_import_inside_a_function() -> None:
    offending = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if "/migrations/" in relative:
            continue
        allowed = ALLOWED_IN_FUNCTIONS.get(relative)
        for line, module in _imports_in_functions(path.read_text("utf-8")):
            if allowed == "*" or module == allowed:
                continue
            offending.append(f"{relative}:{line}: {module}")
    assert offending == [], "import these at the top of the module (see ARCHITECTURE.md)"


def test_the_function_import_check_sees_nested_and_relative_imports() -> None:
    source = (
        "import hablo.db\n"
        "def f():\n"
        "    import json\n"
        "    from hablo.engine import store\n"
        "    class C:\n"
        "        def g(self):\n"
        "            import hablo.api\n"
        "            from .x import y\n"
    )
    assert _imports_in_functions(source) == [(4, "hablo.engine"), (7, "hablo.api"), (8, ".x")]
