"""The packages keep their order: each imports only the ones below it, lazily or not.

    kernel < rules, sla, customers, shipped < workflows < cases < channels < jobs, store < wiring
    < web < cli

SQL is spoken only in engine/store, HTTP only in web/ and the command line; the engine never
imports web/ or the command line; web/ reaches the database through the engine's read and write
interfaces, never engine/store.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.fixtures import ROOT

# Each package's layer; a package may import its own modules and those of lower layers only.
LAYERS: dict[str, int] = {
    "engine.kernel": 0, "engine.demodata": 0,
    "engine.rules": 1, "engine.sla": 1, "engine.customers": 1, "engine.shipped": 1,
    "engine.workflows": 2,
    "engine.cases": 3,
    "engine.channels": 4,
    "engine.jobs": 5, "engine.store": 5,
    "engine.wiring": 6,
    "web": 7,
    "engine.cli": 8,
}
SQL = ("sqlalchemy", "alembic", "psycopg")
HTTP = ("litestar", "uvicorn", "httpx", "jinja2_fragments")
# Who may speak what: SQL only the store (and wiring, which opens it); HTTP only web and the CLI.
MAY_SPEAK = {"engine.store": SQL, "engine.wiring": SQL, "web": HTTP, "engine.cli": HTTP}


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "engine" or node.module in LAYERS:  # a submodule by name
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def package_of(module: str) -> str | None:
    """The layered package a dotted module name belongs to (the longest prefix that is one)."""
    matches = [p for p in LAYERS if module == p or module.startswith(p + ".")]
    return max(matches, key=len) if matches else None


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def problems_of(path: Path, module: str) -> list[str]:
    """What `path` (module `module`) imports against the order or the speaking rules."""
    own = package_of(module)
    if own is None:
        return []
    problems = []
    for name in sorted(imported(path)):
        other = package_of(name)
        if other is not None and other != own and LAYERS[other] >= LAYERS[own]:
            problems.append(f"{name} (layer {LAYERS[other]} >= {own}'s {LAYERS[own]})")
        banned = tuple(b for b in (*SQL, *HTTP) if b not in MAY_SPEAK.get(own, ()))
        if any(name == b or name.startswith(b + ".") for b in banned):
            problems.append(f"{name} (not spoken in {own})")
    return problems


def sources() -> list[Path]:
    return sorted(p for top in ("engine", "web") for p in (ROOT / top).rglob("*.py"))


def test_every_module_belongs_to_a_layered_package() -> None:
    unplaced = [module_name(p) for p in sources()
                if package_of(module_name(p)) is None and p.name != "__init__.py"]
    assert unplaced == []


def test_no_package_imports_one_above_it_or_speaks_out_of_turn() -> None:
    problems = {module_name(p): bad for p in sources() if (bad := problems_of(p, module_name(p)))}
    assert problems == {}


def test_the_check_sees_an_import_from_above(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom engine.kernel.errors import CaseworkError\n"
                      "def later() -> None:\n    from engine.cases.runtime import Runtime\n"
                      "from sqlalchemy import select\nfrom web.app import create_app\n")
    assert problems_of(sample, "engine.rules.sample") == [
        "engine.cases.runtime (layer 3 >= engine.rules's 1)",
        "sqlalchemy (not spoken in engine.rules)",
        "web.app (layer 7 >= engine.rules's 1)",
    ]
    assert problems_of(sample, "engine.cli.sample") == ["sqlalchemy (not spoken in engine.cli)"]
    assert problems_of(sample, "engine.store.sample") == ["web.app (layer 7 >= engine.store's 5)"]


def test_web_never_reaches_into_the_store() -> None:
    reaching = {module_name(p): sorted(n for n in imported(p) if package_of(n) == "engine.store")
                for p in sorted((ROOT / "web").rglob("*.py"))}
    assert {m: names for m, names in reaching.items() if names} == {}
