"""The built wheel holds what a running casework reads: every module, the page templates and
static files, the migrations' script template, the demo data and the shipped definitions.
(Only an editable install read them from the checkout before; .ci/wheel-check.sh installs the
wheel outside the checkout and serves the demo from it.)"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.fixtures import ROOT

# What a build reads; copied, so that no earlier build's build/ folder leaks into the wheel.
SOURCES = ["pyproject.toml", "README.md", "engine", "web", "migrations", "workflows", "rules"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """`pip wheel . --no-deps` of a clean copy: each file of the wheel by its path in it."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in SOURCES:
        if (ROOT / name).is_dir():  # engine/shipped links to workflows/ and rules/: kept links
            shutil.copytree(ROOT / name, source / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
                            "--quiet", "--wheel-dir", str(out)],
                           capture_output=True, text=True, timeout=600, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    [path] = out.glob("casework-*.whl")
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()
                if not name.endswith("/")}


def files_under(*folders: str, pattern: str = "*") -> list[str]:
    return sorted(str(path.relative_to(ROOT)) for folder in folders
                  for path in (ROOT / folder).rglob(pattern)
                  if path.is_file() and "__pycache__" not in path.parts)


def test_every_module_of_engine_web_and_migrations_is_in_the_wheel(wheel: dict[str, bytes]
                                                                   ) -> None:
    modules = files_under("engine", "web", "migrations", pattern="*.py")
    assert {"web/api/cases.py", "web/pages/cases.py", "migrations/env.py"} <= set(modules)
    assert [name for name in modules if name not in wheel] == []
    tops = {name.split("/")[0] for name in wheel}
    assert tops == {"engine", "web", "migrations", "casework-0.1.0.dist-info"}


def test_the_wheel_holds_the_templates_static_files_and_migration_template(
        wheel: dict[str, bytes]) -> None:
    data = [*files_under("web/templates", "web/static"), "migrations/script.py.mako",
            "engine/demodata/cdnow_sample.txt"]
    assert "web/static/htmx-2.0.11.min.js" in data and "web/templates/base.html" in data
    assert [n for n in data if n.startswith("web/static/editor-")]  # the built YAML editor
    assert {name: wheel.get(name) == (ROOT / name).read_bytes() for name in data} == {
        name: True for name in data}


def test_the_wheel_holds_every_shipped_workflow_and_rule_file(wheel: dict[str, bytes]) -> None:
    shipped = files_under("workflows", "rules", pattern="*.yaml")
    assert len(shipped) == 16 and "rules/calendars.yaml" in shipped
    # the customers' mail templates, in their workflow's sub-folder
    shipped += files_under("workflows/mail", pattern="*.txt")
    assert "workflows/mail/complaint/acknowledgement.zh.txt" in shipped and len(shipped) == 24
    assert "rules/responses.yaml" in shipped
    assert {name: wheel.get(f"engine/shipped/{name}") == (ROOT / name).read_bytes()
            for name in shipped} == {name: True for name in shipped}
    assert sorted(name for name in wheel if name.startswith("engine/shipped/")) == sorted(
        ["engine/shipped/__init__.py", *(f"engine/shipped/{name}" for name in shipped)])


def test_the_wheel_installs_the_casework_command(wheel: dict[str, bytes]) -> None:
    entry_points = wheel["casework-0.1.0.dist-info/entry_points.txt"].decode()
    assert "casework = engine.cli.main:main" in entry_points
