"""`casework init`: the shipped definitions written into a home to edit; a home without them
runs on the shipped ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli.main import main
from engine.shipped import shipped_files, shipped_home
from engine.workflows.registry import definitions_home, table_files, workflow_files
from tests.fixtures import ROOT

# The repository's own workflows/ and rules/ are what casework ships.
SHIPPED = sorted([*(path.relative_to(ROOT) for folder in ("workflows", "rules")
                    for path in (ROOT / folder).glob("*.yaml")),
                  *(path.relative_to(ROOT) for path in (ROOT / "workflows").glob("mail/*/*.txt"))])


def casework(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"CASEWORK_HOME": None})


def test_the_shipped_definitions_are_the_repository_top_level_folders() -> None:
    assert shipped_files() == SHIPPED
    assert len(SHIPPED) == 24 and Path("rules/calendars.yaml") in SHIPPED
    assert Path("workflows/mail/complaint/acknowledgement.zh.txt") in SHIPPED
    for name in SHIPPED:
        assert (shipped_home() / name).read_bytes() == (ROOT / name).read_bytes()


def test_a_home_with_neither_folder_runs_on_the_shipped_ones(tmp_path: Path) -> None:
    assert definitions_home(tmp_path) == shipped_home()
    assert [p.name for p in workflow_files(tmp_path)] == [
        p.name for p in workflow_files(ROOT)]
    checked = casework("check", "--home", str(tmp_path))
    assert checked.exit_code == 0, checked.output
    assert checked.stdout == (f"ok: 7 workflow(s), 6 decision table(s) shipped with casework "
                              f"({tmp_path} has no workflows/ or rules/ of its own; `casework "
                              "init` copies them there to edit)\n")


def test_a_home_with_one_folder_of_its_own_never_mixes_in_shipped_files(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    assert definitions_home(tmp_path) == tmp_path
    assert (workflow_files(tmp_path), table_files(tmp_path)) == ([], [])


def test_init_writes_every_shipped_file_naming_each(tmp_path: Path) -> None:
    home = tmp_path / "new home"
    written = casework("init", str(home))
    assert written.exit_code == 0, written.output
    lines = written.stdout.splitlines()
    assert lines[:-1] == [f"wrote {home / name}" for name in SHIPPED]
    assert lines[-1] == (f"{home}: 24 file(s) written; edit them, then `casework check --home "
                         f"{home}`")
    for name in SHIPPED:
        assert (home / name).read_bytes() == (ROOT / name).read_bytes()
    checked = casework("check", "--home", str(home))
    assert checked.stdout == f"ok: 7 workflow(s), 6 decision table(s) under {home}\n"


def test_init_writes_into_the_home_when_no_folder_is_given(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    assert casework("init", "--home", str(tmp_path / "a")).exit_code == 0
    assert (tmp_path / "a" / "workflows" / "complaint.yaml").is_file()
    monkeypatch.chdir(tmp_path)
    assert casework("init").exit_code == 0
    assert (tmp_path / "rules" / "calendars.yaml").is_file()


def test_init_never_overwrites_an_edited_file_unless_forced(tmp_path: Path) -> None:
    assert casework("init", str(tmp_path)).exit_code == 0
    again = casework("init", str(tmp_path))
    assert again.exit_code == 0
    assert again.stdout == (f"{tmp_path}: 0 file(s) written, 24 already the same as shipped; "
                            f"edit them, then `casework check --home {tmp_path}`\n")
    edited = tmp_path / "rules" / "complaint_sla.yaml"
    edited.write_text(edited.read_text() + "# ours\n")
    (tmp_path / "workflows" / "retention.yaml").unlink()
    refused = casework("init", str(tmp_path))
    assert refused.exit_code == 2
    assert refused.stderr == (f"casework: 1 file(s) in {tmp_path} differ from the shipped "
                              "ones: rules/complaint_sla.yaml; nothing written (edit them "
                              "there, or give --force to overwrite them with the shipped "
                              "versions)\n")
    assert edited.read_text().endswith("# ours\n")
    assert not (tmp_path / "workflows" / "retention.yaml").exists()
    forced = casework("init", str(tmp_path), "--force")
    assert forced.exit_code == 0, forced.output
    assert forced.stdout.splitlines()[:-1] == [f"wrote {tmp_path / 'rules/complaint_sla.yaml'}",
                                               f"wrote {tmp_path / 'workflows/retention.yaml'}"]
    assert edited.read_bytes() == (ROOT / "rules" / "complaint_sla.yaml").read_bytes()


def test_init_says_what_it_does() -> None:
    shown = casework("init", "--help")
    assert shown.exit_code == 0
    assert "Write the shipped workflows/ and rules/ into DIRECTORY (default: the home)" in \
        shown.stdout
    assert "--force" in shown.stdout


def test_check_names_a_mail_template_jinja2_cannot_read(tmp_path: Path) -> None:
    assert casework("init", str(tmp_path)).exit_code == 0
    template = tmp_path / "workflows" / "mail" / "complaint" / "message.zh.txt"
    template.write_text(template.read_text(encoding="utf-8").replace("{{ body }}", "{{ body "),
                        encoding="utf-8")
    checked = casework("check", "--home", str(tmp_path))
    assert checked.exit_code == 1
    assert f"{template}:7: expected token 'end of print statement'" in checked.stdout
