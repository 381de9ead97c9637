"""`casework init`: the shipped workflows and decision tables written into a home to edit."""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli.support import common, fail, handles_errors, settings_of
from engine.shipped import shipped_files, shipped_home


@click.command()
@click.argument("directory", required=False,
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True,
              help="Overwrite files there that differ from the shipped ones")
@common
@handles_errors
def init(directory: Path | None, force: bool, home: Path | None, now_text: str | None) -> None:
    """Write the shipped workflows/ and rules/ into DIRECTORY (default: the home) to edit.

    From then on the home runs on its own files, not on the shipped ones. A file there that
    differs from the shipped one is left alone, and nothing is written, unless --force; a file
    that is the same as the shipped one is kept as it is. Prints each file written."""
    target = (directory or settings_of(home, now_text).home).resolve()
    source = shipped_home()
    wanted = [(target / name, (source / name).read_bytes()) for name in shipped_files()]
    differing = [path for path, content in wanted
                 if path.exists() and path.read_bytes() != content]
    if differing and not force:
        fail(f"{len(differing)} file(s) in {target} differ from the shipped ones: "
             f"{', '.join(str(path.relative_to(target)) for path in differing)}; nothing "
             "written (edit them there, or give --force to overwrite them with the shipped "
             "versions)", 2)
    written = 0
    for path, content in wanted:
        if path.exists() and path.read_bytes() == content:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        click.echo(f"wrote {path}")
        written += 1
    kept = len(wanted) - written
    click.echo(f"{target}: {written} file(s) written"
               + (f", {kept} already the same as shipped" if kept else "")
               + f"; edit them, then `casework check --home {target}`")
