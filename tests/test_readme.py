from __future__ import annotations

from tests.fixtures import ROOT


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    command = ci[-1]
    assert "pytest" in command
    assert f"{command}\n" in (ROOT / "README.md").read_text()
