"""Workflow versions: loaded from YAML, stored with their source, and cached per process.

A version number means one content forever: loading changed content under a version that is
already stored is refused with a request to raise the version. Running cases are served from the
stored source of their own version, so editing a file never changes a running case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.errors import DefinitionError, NotFound, Problem
from engine.loading import load_workflow_text
from engine.machine import WorkflowMachine
from engine.records import DefinitionRecord, Store
from engine.specs import WorkflowSpec

_VERSION_LINE = re.compile(r"^version\s*:", re.MULTILINE)


@dataclass(frozen=True)
class Deployed:
    """A stored workflow version, ready to run: its spec, its row id and its machine."""

    definition_id: int
    spec: WorkflowSpec
    machine: WorkflowMachine


def workflow_files(home: Path) -> list[Path]:
    folder = home / "workflows"
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []


def load_workflows(home: Path) -> list[tuple[WorkflowSpec, str]]:
    """Load every workflow file under home/workflows; raise one error listing all problems."""
    loaded, problems = [], []
    names: dict[str, str] = {}
    for path in workflow_files(home):
        text = path.read_text(encoding="utf-8")
        try:
            spec = load_workflow_text(text, str(path))
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        if spec.name in names:
            problems.append(Problem(str(path), 1, f"workflow '{spec.name}' is also defined in "
                                    f"{names[spec.name]}; each workflow lives in one file"))
            continue
        names[spec.name] = str(path)
        loaded.append((spec, text))
    if problems:
        raise DefinitionError(problems)
    return loaded


class Registry:
    """Every workflow version this process has seen, by definition id and by name."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._deployed: dict[int, Deployed] = {}

    def deploy(self, spec: WorkflowSpec, source: str, at: datetime) -> Deployed:
        """Store this version if it is new; refuse changed content under a stored version."""
        try:
            record = self.store.definition("workflow", spec.name, spec.version)
        except NotFound:
            record = self.store.add_definition("workflow", spec.name, spec.version,
                                               spec.content_hash, source, spec.path, at)
        if record.content_hash != spec.content_hash:
            newest = self.store.definition("workflow", spec.name).version
            match = _VERSION_LINE.search(source)
            line = source.count("\n", 0, match.start()) + 1 if match else 1
            raise DefinitionError([Problem(
                spec.path, line,
                f"workflow '{spec.name}' version {spec.version} is already stored with other "
                f"content (loaded {record.loaded_at:%Y-%m-%d %H:%M} from {record.source_path}); "
                f"running cases depend on it, so set 'version: {newest + 1}' to publish the change",
            )])
        return self._remember(record, spec)

    def deploy_home(self, home: Path, at: datetime) -> list[Deployed]:
        return [self.deploy(spec, text, at) for spec, text in load_workflows(home)]

    def get(self, definition_id: int) -> Deployed:
        """A stored version by row id, rebuilt from its stored source on first use."""
        deployed = self._deployed.get(definition_id)
        if deployed is None:
            record = self.store.definition_by_id(definition_id)
            deployed = self._remember(record, self._parse(record))
        return deployed

    def active(self, name: str) -> Deployed:
        """The newest stored version of a workflow: the one new cases start on."""
        try:
            record = self.store.definition("workflow", name)
        except NotFound:
            known = sorted({d.name for d in self.store.definitions("workflow")})
            raise NotFound(f"workflow '{name}' is not loaded (loaded: "
                           f"{', '.join(known) or 'none'}); check workflows/{name}.yaml") from None
        return self.get(record.id)

    def _remember(self, record: DefinitionRecord, spec: WorkflowSpec) -> Deployed:
        deployed = self._deployed.get(record.id)
        if deployed is None:
            deployed = Deployed(record.id, spec, WorkflowMachine(spec))
            self._deployed[record.id] = deployed
        return deployed

    @staticmethod
    def _parse(record: DefinitionRecord) -> WorkflowSpec:
        return load_workflow_text(record.source, record.source_path)
