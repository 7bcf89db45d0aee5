"""The tree's seams: no import cycles among ordercare's modules (lazy and type-only imports included), the core never
imports Flask, and only the CLI and the demo reach the web shell, through ``create_app``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("connector", "webhooks")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def imports(path: Path, name: str, known: set[str]) -> list[tuple[str, int]]:
    """The ordercare modules ``path`` imports anywhere in the file (for types only too), with the line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.append((target, getattr(node, "lineno", 0)))
                break
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {target for target, _ in imports(path, name, set(known))} for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

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
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def parents_of(name: str) -> set[str]:
    """A module's packages: importing ``a.b.c`` runs ``a`` and ``a.b`` first, which is no cycle."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def test_no_module_imports_another_that_imports_it_back() -> None:
    edges = {name: {t for t in targets if t not in parents_of(name)} for name, targets in graph().items()}
    assert cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("name", sorted(n for n in modules() if n.startswith("connector")))
def test_the_core_does_not_import_flask_or_the_web_shell(name: str) -> None:
    tree = ast.parse(modules()[name].read_text(encoding="utf-8"))
    web: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            web += [a.name for a in node.names if a.name.split(".")[0] in ("flask", "webhooks")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("flask", "webhooks"):
            web += [f"{node.module}.{a.name}" for a in node.names]
    allowed = {"webhooks.create_app"} if name in ("connector.cli", "connector.demo") else set()
    assert set(web) <= allowed
