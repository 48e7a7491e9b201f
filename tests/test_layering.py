"""The layering rule of docs/architecture.md, read from the import statements of kcompat's modules.

Every import counts, at module level or inside a function: a circle through a lazy import is
still a circle. The guarded-load worker and the environment probe run by file path in another
interpreter and import no kcompat module, so they are not part of the graph.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kcompat"

# Highest first. A package may import packages of lower layers only; packages in one layer are
# independent of each other. `model` and `catalog` are the two modules the whole package shares, and `record` the base of their classes.
LAYERS: list[tuple[str, ...]] = [
    ("cli",),
    ("api",),
    ("fix",),
    ("pipeline",),
    ("report", "load"),
    ("checks", "releases"),
    ("artifacts", "env", "config"),
    ("sources", "catalog"),
    ("model",),
    ("record",),
]
FACE = {"__init__", "__main__"}  # kcompat/__init__.py and __main__.py: the package face


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    """kcompat modules that `path` imports; `from pkg import sub` counts as importing pkg.sub."""
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
            found.update(subs)
            if len(subs) < len(node.names) and target in known:
                found.add(target)
    found.discard(name)
    return found


def graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    mods = modules(root)
    known = set(mods)
    return {name: imports(path, name, known) for name, path in mods.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer_of(stage_name: str) -> int | None:
    for i, names in enumerate(LAYERS):
        if stage_name in names:
            return i
    return None


def violations(g: dict[str, set[str]]) -> list[str]:
    bad = []
    for src, targets in sorted(g.items()):
        s = stage(src)
        if s in FACE:
            continue
        for dst in sorted(targets):
            d = stage(dst)
            if d == s or d == "__init__" and dst == "kcompat":  # kcompat.__version__
                continue
            ls, ld = layer_of(s), layer_of(d)
            if ls is None or ld is None or ld <= ls:
                bad.append(f"{src} -> {dst} ({s} may not import {d})")
    return bad


def test_every_stage_has_a_layer():
    stages = {stage(m) for m in modules()} - FACE
    assert stages <= {n for names in LAYERS for n in names}, stages


def test_no_import_circles():
    assert cycles(graph()) == []


def test_no_upward_or_sideways_imports():
    assert violations(graph()) == []


def test_root_holds_only_the_package_face():
    loose = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__", "__main__", "catalog", "model", "record"]


# --- the checks above really fail: a throwaway package with a circle and an upward import ---

def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


@pytest.fixture
def throwaway(tmp_path: Path) -> Path:
    root = tmp_path / "kcompat"
    for pkg in ("", "artifacts", "report", "cli"):
        write(root, f"{pkg}/__init__.py" if pkg else "__init__.py", "")
    write(root, "model.py", "X = 1\n")
    write(root, "artifacts/a.py", "from kcompat.model import X\n")
    write(root, "report/r.py", "from kcompat.artifacts import a\n")
    write(root, "cli/c.py", "from kcompat.report.r import a\n")
    return root


def test_the_throwaway_package_is_clean(throwaway: Path):
    g = graph(throwaway)
    assert g["kcompat.report.r"] == {"kcompat.artifacts.a"}
    assert cycles(g) == [] and violations(g) == []


def test_a_circle_is_caught(throwaway: Path):
    write(throwaway, "artifacts/b.py", "def f():\n    from kcompat.artifacts import a\n")
    write(throwaway, "artifacts/a.py", "from kcompat.model import X\nfrom . import b\n")
    assert cycles(graph(throwaway)) == [["kcompat.artifacts.a", "kcompat.artifacts.b"]]


def test_an_upward_import_is_caught(throwaway: Path):
    write(throwaway, "artifacts/up.py", "def f():\n    from kcompat.cli import c\n")
    assert violations(graph(throwaway)) == ["kcompat.artifacts.up -> kcompat.cli.c (artifacts may not import cli)"]


def test_a_sideways_import_is_caught(throwaway: Path):
    write(throwaway, "load/__init__.py", "")
    write(throwaway, "load/w.py", "import kcompat.report.r\n")
    assert violations(graph(throwaway)) == ["kcompat.load.w -> kcompat.report.r (load may not import report)"]


def test_no_module_over_400_lines_unless_named_in_the_architecture_doc():
    doc = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    section = doc.split("## Modules over 400 lines", 1)[1]
    allowed = {line.split("`")[1] for line in section.splitlines() if line.startswith("- `")}
    long = {p.relative_to(ROOT).as_posix(): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text("utf-8").splitlines())) > 400}
    assert set(long) <= allowed, long
