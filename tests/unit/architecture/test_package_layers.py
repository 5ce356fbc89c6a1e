"""The package import graph follows the layer order of docs/architecture.md.

Every ``import beamit.x`` / ``from beamit.x import ...`` anywhere in a module (at the top, in
a function, under ``TYPE_CHECKING``) is an edge from the module's package to ``x``. An edge
may only point to an earlier layer, or within a layer to a package listed before it: so the
graph has no cycles, and a newcomer reads the packages bottom-up.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "shared" / "beamit"
DOC = ROOT / "docs" / "architecture.md"
LAYER_LINE = re.compile(r"^(\d+)\. \*\*([\w ]+)\*\*: (.+)$")


def layer_order() -> dict[str, tuple[int, int]]:
    """Package -> (layer, position in its layer), from the doc's numbered list of layers."""
    order: dict[str, tuple[int, int]] = {}
    for line in DOC.read_text("utf-8").splitlines():
        match = LAYER_LINE.match(line.strip())
        if match:
            names = [n.strip(" `") for n in match.group(3).split(",")]
            for position, name in enumerate(names):
                order[name] = (int(match.group(1)), position)
    return order


def package_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """(package, line) of every beamit import in the module."""
    found: set[tuple[str, int]] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "beamit":
                names = [f"beamit.{alias.name}" for alias in node.names]
            elif node.module.startswith("beamit."):
                names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.startswith("beamit.")]
        for name in names:
            found.add((name.split(".")[1], node.lineno))
    return found


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def test_the_doc_places_every_package():
    order = layer_order()
    packages = {package_of(p) for p in modules()}
    assert packages - set(order) == set(), "packages missing from docs/architecture.md's layers"
    assert set(order) - packages == set(), "docs/architecture.md names packages that do not exist"


def test_imports_point_down_the_layers():
    order = layer_order()
    wrong = []
    for path in modules():
        source = package_of(path)
        for target, line in imported_packages(path):
            if target == source or target == "__version__":
                continue
            if not order[target] < order[source]:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {source} -> {target}")
    assert wrong == [], "imports against the layer order:\n" + "\n".join(sorted(wrong))


API_STORAGE_CALL = re.compile(r"\.(metadata|blobs|events|keys)\.(get|get_many|query|count|create|set|update|delete|"
                              r"commit|run_transaction|put|read|stream|stat|list|copy|publish|publish_many|encrypt|"
                              r"decrypt)\(")


@pytest.mark.parametrize("path", sorted((PACKAGE / "api").glob("*.py")), ids=lambda p: p.name)
def test_handlers_reach_storage_only_through_the_domain(path: Path):
    """``api/`` modules neither import the storage adapters (but for type annotations) nor call
    a store: they hand ``ctx.services`` to one domain operation."""
    tree = ast.parse(path.read_text("utf-8"))
    runtime_imports = []
    for node in tree.body:  # module-level imports outside ``if TYPE_CHECKING:``
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("beamit.storage"):
            runtime_imports.append(node.lineno)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("beamit.storage"):
                    runtime_imports.append(inner.lineno)
    calls = [n for n, line in enumerate(path.read_text("utf-8").splitlines(), 1) if API_STORAGE_CALL.search(line)]
    assert runtime_imports == [] and calls == [], f"{path.name}: storage imports {runtime_imports}, calls {calls}"


def test_layer_test_finds_a_wrong_import(tmp_path: Path):
    """The check itself: an upward import is reported (a guard against a test that cannot fail)."""
    order = layer_order()
    assert order["dicomweb"] < order["catalog"] < order["web"] < order["api"]
    module = tmp_path / "m.py"
    module.write_text("from beamit.catalog import Catalog\n\ndef f():\n    from beamit import api\n")
    assert imported_packages(module) == {("catalog", 1), ("api", 4)}
