"""The engine's core stays pure: SQL only in engine/store (and the wiring that assembles it),
HTTP only in web/ (reached from the `serve` command alone)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.fixtures import ROOT

SQL = ("sqlalchemy", "alembic", "psycopg", "engine.store")
HTTP = ("litestar", "web", "uvicorn", "httpx")
# Who may import what the core may not: the assembly of the pieces and the serve command.
ASSEMBLY = {"engine/wiring.py": SQL, "engine/cli_serve.py": HTTP}


def imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def offending(names: set[str], banned: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(n == b or n.startswith(b + ".") for b in banned))


def test_no_engine_module_outside_the_store_speaks_sql_or_http() -> None:
    problems = {}
    for path in sorted((ROOT / "engine").glob("*.py")):
        where = str(path.relative_to(ROOT))
        allowed = ASSEMBLY.get(where, ())
        banned = tuple(b for b in (*SQL, *HTTP) if b not in allowed)
        if bad := offending(imported(path), banned):
            problems[where] = bad
    assert problems == {}


def test_the_store_knows_no_http() -> None:
    problems = {str(p.relative_to(ROOT)): bad for p in sorted((ROOT / "engine" / "store")
                                                              .glob("*.py"))
                if (bad := offending(imported(p), HTTP))}
    assert problems == {}


def test_the_check_sees_an_offending_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom sqlalchemy import select\nfrom web.app import create_app\n")
    assert offending(imported(sample), SQL) == ["sqlalchemy"]
    assert offending(imported(sample), HTTP) == ["web.app"]
