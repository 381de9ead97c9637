"""`casework check` and `casework rules publish` refuse an alias bomb and a list nested 100,000
deep at file:line, as the rule editor does (issue 20: they grew past 6.76 GB and 2.77 GB, and
ended in a RecursionError)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli.main import main
from engine.kernel.errors import NotFound
from engine.kernel.settings import Settings
from engine.kernel.yaml_limits import MAX_ALIAS_NODES, MAX_DEPTH
from engine.wiring import open_casework
from tests.fixtures import ROOT, T0, alias_bomb, deep_list

BOMB = f"aliases here expand to more than {MAX_ALIAS_NODES:,} nodes (at '*l4')"
DEEP = f"nesting deeper than {MAX_DEPTH} levels"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "workflows", tmp_path / "workflows")
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    return tmp_path


def casework(home: Path, *args: str, database_url: str = "sqlite:///:memory:") -> Result:
    env = {"CASEWORK_DATABASE_URL": database_url, "CASEWORK_NOW": T0.isoformat()}
    return CliRunner().invoke(main, [*args, "--home", str(home)], env=env)


def test_check_refuses_a_bomb_and_a_deep_list_at_their_lines(home: Path) -> None:
    table = home / "rules" / "customer_tier.yaml"
    table.write_text(alias_bomb(10) + table.read_text())
    workflow = home / "workflows" / "complaint.yaml"
    workflow.write_text(deep_list() + workflow.read_text())
    result = casework(home, "check")
    assert result.exit_code == 1, result.output
    assert f"{table}:7: {BOMB}" in result.stdout
    assert f"{workflow}:1: {DEEP}" in result.stdout
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("description", "line", "message"), [
    (alias_bomb(10), 7, BOMB), (deep_list(), 1, DEEP)], ids=["bomb", "deep"])
def test_rules_publish_refuses_it_at_its_line_and_stores_nothing(
        home: Path, database_url: str, description: str, line: int, message: str) -> None:
    table = home / "rules" / "customer_tier.yaml"
    table.write_text(description + table.read_text().replace("version: 1", "version: 2"))
    result = casework(home, "rules", "publish", str(table), database_url=database_url)
    assert result.exit_code == 1
    assert f"{table}:{line}: {message}" in result.stderr
    assert "Traceback" not in result.output
    app = open_casework(Settings(home=home, database_url=database_url, now=T0))
    try:
        with pytest.raises(NotFound):
            app.store.definition("table", "customer_tier")
    finally:
        app.close()
