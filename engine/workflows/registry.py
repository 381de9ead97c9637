"""Workflow versions: loaded from YAML, stored with their source, and cached per process.

A version number means one content forever: loading changed content under a version that is
already stored is refused with a request to raise the version. Running cases are served from the
stored source of their own version, so editing a file never changes a running case.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Protocol, TypeVar

from engine.customers.records import TIER_TABLE
from engine.kernel.errors import ApprovalRefused, DefinitionError, NotFound, Problem
from engine.kernel.records import DefinitionRecord, Store
from engine.kernel.specs import DecideAction, ReactSpec, StartSpec, WorkflowSpec
from engine.kernel.yaml_source import content_hash, parse, read_source
from engine.rules.loading import load_table_text
from engine.rules.responses import RESPONSES_FILE, CannedResponse, load_responses_file
from engine.rules.retention import RETENTION_FILE, RetentionRule, load_retention_file
from engine.rules.tables import TableSpec, in_force, run_tests
from engine.shipped import FOLDERS, shipped_home
from engine.sla.calendars import Calendar
from engine.sla.loading import load_calendars_file
from engine.workflows.approvals import (
    Proposal,
    PublicationRequest,
    PublicationRequests,
    Published,
    PublishStatus,
    RequestState,
    check_current,
    check_decidable,
    check_reason,
    check_withdrawable,
    requires_approval,
)
from engine.workflows.loading import load_workflow_text
from engine.workflows.machine import WorkflowMachine
from engine.workflows.mail_files import template_names


class _Named(Protocol):
    @property
    def name(self) -> str: ...


S = TypeVar("S", bound=_Named)
# A check a table must pass to be published, beyond its own tests: the problems it finds.
TableCheck = Callable[[TableSpec], list[Problem]]

SEVERITY = "severity"  # the enum field whose values the desk filters cases by

_VERSION_LINE = re.compile(r"^version\s*:", re.MULTILINE)


@dataclass(frozen=True)
class Deployed:
    """A stored workflow version, ready to run: its spec, its row id and its machine."""

    definition_id: int
    spec: WorkflowSpec
    machine: WorkflowMachine


def definitions_home(home: Path) -> Path:
    """The folder whose workflows/ and rules/ define `home`: the home itself when it has either
    folder, else the definitions shipped with casework (`casework init` copies them into the
    home to edit). One home never mixes its own files with shipped ones."""
    own = any((home / folder).is_dir() for folder in FOLDERS)
    return home if own else shipped_home()


def workflow_files(home: Path) -> list[Path]:
    folder = definitions_home(home) / "workflows"
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []


CALENDAR_FILE = "calendars.yaml"  # beside the tables in rules/, but not a decision table


def table_files(home: Path) -> list[Path]:
    folder = definitions_home(home) / "rules"
    found = [*folder.glob("*.yaml"), *folder.glob("*.yml")] if folder.is_dir() else []
    return sorted(path for path in found
                  if path.name not in (CALENDAR_FILE, RESPONSES_FILE, RETENTION_FILE))


def load_workflows(home: Path, tables: Mapping[str, TableSpec | None] | None = None,
                   calendars: Collection[str] | None = None) -> list[tuple[WorkflowSpec, str]]:
    """Load every workflow file under home/workflows, its `mail` actions checked against the
    home's mail templates; raise one error listing all problems."""
    definitions = definitions_home(home)
    return _load_all(workflow_files(home), "workflow",
                     lambda text, path: load_workflow_text(
                         text, path, tables, calendars,
                         lambda workflow: template_names(definitions, workflow)))


def load_calendars(home: Path) -> dict[str, Calendar]:
    """The business calendars of home/rules/calendars.yaml (none if there is no such file)."""
    path = definitions_home(home) / "rules" / CALENDAR_FILE
    return load_calendars_file(path) if path.is_file() else {}


def load_responses(home: Path) -> dict[str, CannedResponse]:
    """The canned responses of home/rules/responses.yaml (none if there is no such file)."""
    path = definitions_home(home) / "rules" / RESPONSES_FILE
    return load_responses_file(path) if path.is_file() else {}


def load_retention(home: Path, workflows: Collection[str]) -> dict[str, RetentionRule]:
    """The retention rules of home/rules/retention.yaml, checked against these workflow names
    (none if there is no such file: every case is kept)."""
    path = definitions_home(home) / "rules" / RETENTION_FILE
    return load_retention_file(path, workflows) if path.is_file() else {}


def load_tables(home: Path) -> list[tuple[TableSpec, str]]:
    """Load every decision table under home/rules; raise one error listing all problems."""
    return _load_all(table_files(home), "table", load_table_text)


def check_tables(home: Path) -> tuple[dict[str, TableSpec | None], list[Problem]]:
    """Every table under home/rules by name (None for one that does not load, named by its
    file), and the problems; for checking workflows against the tables that do load."""
    loaded, problems, failed = _read_all(table_files(home), "table", load_table_text)
    tables: dict[str, TableSpec | None] = {path.stem: None for path in failed}
    tables.update((spec.name, spec) for spec, _ in loaded)
    return tables, problems


def _load_all(paths: list[Path], kind: str, load: Callable[[str, str], S]) -> list[tuple[S, str]]:
    loaded, problems, _ = _read_all(paths, kind, load)
    if problems:
        raise DefinitionError(problems)
    return loaded


def _read_all(paths: list[Path], kind: str, load: Callable[[str, str], S],
              ) -> tuple[list[tuple[S, str]], list[Problem], list[Path]]:
    """Load each file: the definitions that load (with their text), every problem, and the
    files that did not load. A name defined in two files is a problem of the second."""
    loaded: list[tuple[S, str]] = []
    problems: list[Problem] = []
    failed: list[Path] = []
    names: dict[str, str] = {}
    for path in paths:
        try:
            text = read_source(path)
            spec = load(text, str(path))
        except DefinitionError as exc:
            problems.extend(exc.problems)
            failed.append(path)
            continue
        if spec.name in names:
            problems.append(Problem(str(path), 1, f"{kind} '{spec.name}' is also defined in "
                                    f"{names[spec.name]}; each {kind} lives in one file"))
            continue
        names[spec.name] = str(path)
        loaded.append((spec, text))
    return loaded, problems, failed


class Registry:
    """Every workflow version this process has seen, by definition id and by name."""

    def __init__(self, store: Store, table_checks: Mapping[str, TableCheck] | None = None,
                 requests: PublicationRequests | None = None) -> None:
        self.store = store
        self.requests = requests  # four-eyes publishing (engine.workflows.approvals)
        self.table_checks = dict(table_checks or {})  # by table name
        self._deployed: dict[int, Deployed] = {}
        self._tables: dict[int, TableSpec] = {}
        self._publications: dict[str, list[DefinitionRecord]] = {}  # valid under self._mark
        self._mark: int | None = None
        # tiers, severities and queues as the pages ask for them on every view, kept while
        # nothing new is stored or published (store.definition_marks)
        self._named: dict[tuple[str, date], tuple[str, ...]] = {}
        self._named_marks: tuple[int, int] | None = None
        self._titles: tuple[tuple[int, int], dict[tuple[str, str], str]] | None = None

    def _store(self, kind: str, name: str, version: int, content_hash: str, source: str,
               path: str, at: datetime) -> DefinitionRecord:
        """Store a version if it is new; refuse changed content under a stored version."""
        self._refuse_clash(kind, name, version, content_hash, source, path)
        try:
            return self.store.definition(kind, name, version)
        except NotFound:
            record = self.store.add_definition(kind, name, version, content_hash, source, path, at)
        # stored meanwhile by another process: add_definition returned that one
        self._refuse_clash(kind, name, version, content_hash, source, path)
        return record

    def _refuse_clash(self, kind: str, name: str, version: int, content_hash: str, source: str,
                      path: str) -> None:
        """Refuse content other than the stored content under a stored version number."""
        try:
            record = self.store.definition(kind, name, version)
        except NotFound:
            return
        if record.content_hash != content_hash:
            newest = self.store.definition(kind, name).version
            raise DefinitionError([Problem(
                path, _version_line(source),
                f"{kind} '{name}' version {version} is already stored with other "
                f"content (loaded {record.loaded_at:%Y-%m-%d %H:%M} from {record.source_path}); "
                f"what was decided with it depends on it, so set 'version: {newest + 1}' to "
                "publish the change",
            )])

    def deploy(self, spec: WorkflowSpec, source: str, at: datetime) -> Deployed:
        """Store a workflow version (new cases start on the newest one)."""
        record = self._store("workflow", spec.name, spec.version, spec.content_hash, source,
                             spec.path, at)
        return self._remember(record, spec)

    def deploy_home(self, home: Path, at: datetime) -> list[Deployed]:
        tables = {spec.name: spec for spec, _ in load_tables(home)}
        return [self.deploy(spec, text, at)
                for spec, text in load_workflows(home, tables, load_calendars(home))]

    def publish_table(self, spec: TableSpec, source: str, at: datetime,
                      by: str = "operator") -> Published:
        """Make a table version the active one, once it loads, all its tests pass and so do
        the checks given for its name (`table_checks`); under `approval: required` (the active
        version's or its own) record it for a second manager instead (engine.workflows.
        approvals)."""
        passed = self._check_table(spec)
        self._refuse_clash("table", spec.name, spec.version, spec.content_hash, source, spec.path)
        base_id, active_approval, _ = self._base("table", spec.name)
        if requires_approval(active_approval, spec.approval):
            return self._propose("table", spec.name, spec.version, spec.content_hash, source,
                                 spec.path, base_id, f"{passed} of {passed} tests passed", by, at)
        record = self._activate_table(spec, source, at, by)
        return Published(PublishStatus.PUBLISHED, "table", spec.name, spec.version,
                         spec.content_hash, record=record)

    def publish_workflow(self, spec: WorkflowSpec, source: str, at: datetime,
                         by: str = "operator") -> Published:
        """Store a workflow version as the one new cases start on, recording who published
        it; under `approval: required` (the newest version's or its own) record it for a
        second manager instead. Its version must be above every stored one (running cases
        keep theirs), and it must change more than the version number."""
        try:
            newest: DefinitionRecord | None = self.store.definition("workflow", spec.name)
        except NotFound:
            newest = None
        if newest is not None:
            refusal = _not_next(spec, source, newest)
            if refusal is not None:
                raise DefinitionError([Problem(spec.path, _version_line(source), refusal)])
        self._refuse_clash("workflow", spec.name, spec.version, spec.content_hash, source,
                           spec.path)
        base_id, active_approval, _ = self._base("workflow", spec.name)
        if requires_approval(active_approval, spec.approval):
            return self._propose("workflow", spec.name, spec.version, spec.content_hash,
                                 source, spec.path, base_id, "it loads (workflows have no "
                                 "embedded tests)", by, at)
        record = self._activate_workflow(spec, source, at, by)
        return Published(PublishStatus.PUBLISHED, "workflow", spec.name, spec.version,
                         spec.content_hash, record=record)

    def approve(self, request_id: int, by: str, at: datetime) -> Published:
        """Publish a pending request as its proposer's, approved by `by`: refused for one's
        own request, a request no longer pending, or a stale one (its base is not active)."""
        requests = self._requests()
        request = requests.get(request_id)
        check_decidable(request, by, "approve")
        base_id, _, active_version = self._base(request.kind, request.name)
        check_current(request, base_id, active_version)
        p = request.proposal
        table = load_table_text(p.source, p.source_path) if p.kind == "table" else None
        workflow = load_workflow_text(p.source, p.source_path) if table is None else None
        if table is not None:
            self._check_table(table)
        self._refuse_clash(p.kind, p.name, p.version, p.content_hash, p.source, p.source_path)
        if not requests.decide(request_id, RequestState.APPROVED, by, at):
            raise ApprovalRefused(f"{request.what} was decided by someone else meanwhile; "
                                  "reload the request to see how")
        if table is not None:
            record = self._activate_table(table, p.source, at, p.proposed_by, by)
        else:
            assert workflow is not None  # a request is of a table or of a workflow
            record = self._activate_workflow(workflow, p.source, at, p.proposed_by, by)
        return Published(PublishStatus.PUBLISHED, p.kind, p.name, p.version, p.content_hash,
                         record=record, request=requests.get(request_id))

    def reject(self, request_id: int, by: str, at: datetime, reason: str | None
               ) -> PublicationRequest:
        """End a pending request without publishing it, saying why (not one's own)."""
        requests = self._requests()
        request = requests.get(request_id)
        check_decidable(request, by, "reject")
        text = check_reason(reason)
        if not requests.decide(request_id, RequestState.REJECTED, by, at, text):
            raise ApprovalRefused(f"{request.what} was decided by someone else meanwhile")
        return requests.get(request_id)

    def withdraw(self, request_id: int, by: str, at: datetime) -> PublicationRequest:
        """The proposer takes a pending request back."""
        requests = self._requests()
        request = requests.get(request_id)
        check_withdrawable(request, by)
        if not requests.decide(request_id, RequestState.WITHDRAWN, by, at):
            raise ApprovalRefused(f"{request.what} was decided by someone else meanwhile")
        return requests.get(request_id)

    def _requests(self) -> PublicationRequests:
        if self.requests is None:
            raise ApprovalRefused("this casework keeps no publication requests; open it with "
                                  "engine.wiring.open_casework")
        return self.requests

    def _propose(self, kind: str, name: str, version: int, content_hash: str, source: str,
                 path: str, base_id: int | None, tests: str, by: str, at: datetime
                 ) -> Published:
        request = self._requests().add(Proposal(kind, name, version, content_hash, source,
                                                path, base_id, tests, by, at))
        return Published(PublishStatus.AWAITING_APPROVAL, kind, name, version, content_hash,
                         request=request)

    def _base(self, kind: str, name: str) -> tuple[int | None, bool | None, int | None]:
        """The active version's definition id, its `approval` setting and its version (all
        None while there is none): the newest publication of a table, the newest stored
        version of a workflow."""
        if kind == "table":
            published = self.store.publications("table", name)
            if not published:
                return None, None, None
            record = published[0]
            spec = self._tables.get(record.id) or load_table_text(record.source,
                                                                  record.source_path)
            return record.id, spec.approval, record.version
        try:
            newest = self.store.definition("workflow", name)
        except NotFound:
            return None, None, None
        return newest.id, self.get(newest.id).spec.approval, newest.version

    def _check_table(self, spec: TableSpec) -> int:
        """Refuse a table whose tests or checks fail; how many tests passed."""
        results = run_tests(spec)
        failures = [Problem(spec.path, r.test.line, f"test failed: {r.failure}; not published")
                    for r in results if r.failure]
        check = self.table_checks.get(spec.name)
        if check is not None:
            failures += check(spec)
        if failures:
            raise DefinitionError(failures)
        return len(results)

    def _activate_table(self, spec: TableSpec, source: str, at: datetime, by: str,
                        approved_by: str | None = None) -> DefinitionRecord:
        record = self._store("table", spec.name, spec.version, spec.content_hash, source,
                             spec.path, at)
        self.store.publish(record, at, by, approved_by)
        self._tables[record.id] = spec
        return record

    def _activate_workflow(self, spec: WorkflowSpec, source: str, at: datetime, by: str,
                           approved_by: str | None = None) -> DefinitionRecord:
        record = self._store("workflow", spec.name, spec.version, spec.content_hash, source,
                             spec.path, at)
        self.store.publish(record, at, by, approved_by)
        self._remember(record, spec)
        return record

    def active_table(self, name: str, at: datetime, mark: int | None = None) -> TableSpec:
        """The table version in force at `at`: the newest publication whose effective dates
        contain that day. With `mark` (the store's newest publication id, read in the caller's
        transaction) the publications seen under the same mark are reused; a publish anywhere
        changes the mark, so it is seen at once."""
        if mark is None or mark != self._mark:
            self._publications.clear()
            self._mark = mark
        published = self._publications.get(name)
        if published is None:
            published = self.store.publications("table", name)
            if mark is not None:
                self._publications[name] = published
        if not published:
            raise NotFound(f"decision table '{name}' has no published version; run `casework "
                           f"rules publish rules/{name}.yaml`")
        for record in published:
            spec = self._tables.get(record.id)
            if spec is None:
                spec = load_table_text(record.source, record.source_path)
                self._tables[record.id] = spec
            if in_force(spec, at.date()):
                return spec
        raise NotFound(f"no published version of decision table '{name}' is in force on "
                       f"{at.date()} (see their 'effective' dates)")

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

    def starts(self) -> list[tuple[Deployed, StartSpec]]:
        """Every automatic start of the newest version of each stored workflow."""
        return [(deployed, start) for deployed in self._newest() for start in deployed.spec.starts]

    def reacts(self) -> list[tuple[Deployed, ReactSpec]]:
        """Every reaction to customer events of the newest version of each stored workflow
        (it fires on the open cases of every version; a version without the trigger refuses)."""
        return [(deployed, react) for deployed in self._newest() for react in deployed.spec.reacts]

    # --- what the loaded definitions name ------------------------------------------------

    def tiers(self, at: datetime) -> tuple[str, ...]:
        """The tiers a customer may be given: the `tier` values of the customer_tier table in
        force at `at`, in its order (none while no version is)."""
        return self._named_at("tiers", at, self._tiers)

    def severities(self) -> tuple[str, ...]:
        """The values of the `severity` enum field of the newest version of each workflow
        that has one, as declared (workflows by name)."""
        return self._named_at("severities", None, lambda _: self._severities())

    def queues(self, at: datetime) -> tuple[str, ...]:
        """Every queue a case may be put in, by name: the states' queues of the newest version
        of each workflow, and the `queue` values of the tables in force at `at` that those
        versions decide with (a routing table)."""
        return self._named_at("queues", at, self._queues)

    def workflow_names(self) -> tuple[str, ...]:
        """The name of every workflow ever stored, sorted."""
        return tuple(sorted({record.name for record in self.store.definitions("workflow")}))

    def state_titles(self) -> Mapping[tuple[str, str], str]:
        """(workflow, state) -> what people call the state: its title in the newest version
        of the workflow, else its name; kept while nothing new is stored or published."""
        marks = self.store.definition_marks()
        if self._titles is None or self._titles[0] != marks:
            self._titles = (marks, {(d.spec.name, s.name): s.title or s.name
                                    for d in self._newest() for s in d.spec.states.values()})
        return self._titles[1]

    def _named_at(self, what: str, at: datetime | None,
                  find: Callable[[datetime], tuple[str, ...]]) -> tuple[str, ...]:
        """A list the definitions name, found once per day asked about (tables have effective
        dates) and found again once anything is stored or published: one small read a call."""
        marks = self.store.definition_marks()
        if marks != self._named_marks:
            self._named.clear()
            self._named_marks = marks
        day = at.date() if at is not None else date.min
        found = self._named.get((what, day))
        if found is None:
            found = self._named[(what, day)] = find(at or datetime.min)
        return found

    def _tiers(self, at: datetime) -> tuple[str, ...]:
        table = self._table_in_force(TIER_TABLE, at)
        return tuple(map(str, table.values_of("tier"))) if table else ()

    def _severities(self) -> tuple[str, ...]:
        found = (value for deployed in self._newest()
                 for value in _enum_values(deployed.spec, SEVERITY))
        return tuple(dict.fromkeys(found))

    def _queues(self, at: datetime) -> tuple[str, ...]:
        newest = [deployed.spec for deployed in self._newest()]
        found = {state.queue for spec in newest for state in spec.states.values()
                 if state.queue}
        for name in sorted({name for spec in newest for name in _tables_of(spec)}):
            table = self._table_in_force(name, at)
            if table is not None:
                found.update(map(str, table.values_of("queue")))
        return tuple(sorted(found))

    def _table_in_force(self, name: str, at: datetime) -> TableSpec | None:
        try:
            return self.active_table(name, at)
        except NotFound:
            return None

    def _newest(self) -> list[Deployed]:
        """The newest stored version of each workflow, by name, from one read of the store."""
        newest: dict[str, DefinitionRecord] = {}
        for record in self.store.definitions("workflow"):
            known = newest.get(record.name)
            if known is None or record.version > known.version:
                newest[record.name] = record
        return [self._deployed.get(record.id) or self._remember(record, self._parse(record))
                for _, record in sorted(newest.items())]

    def _remember(self, record: DefinitionRecord, spec: WorkflowSpec) -> Deployed:
        deployed = self._deployed.get(record.id)
        if deployed is None:
            deployed = Deployed(record.id, spec, WorkflowMachine(spec))
            self._deployed[record.id] = deployed
        return deployed

    @staticmethod
    def _parse(record: DefinitionRecord) -> WorkflowSpec:
        return load_workflow_text(record.source, record.source_path)


def _version_line(source: str) -> int:
    """The line of a definition's `version:` key (1 when it has none)."""
    match = _VERSION_LINE.search(source)
    return source.count("\n", 0, match.start()) + 1 if match else 1


def _unversioned(source: str, path: str) -> str:
    """The content hash of a definition's document without its version number."""
    document, _ = parse(source, path)
    if isinstance(document, dict):
        document = {key: value for key, value in document.items() if key != "version"}
    return content_hash(document)


def _not_next(spec: WorkflowSpec, source: str, newest: DefinitionRecord) -> str | None:
    """Why a workflow version may not follow the newest stored one, or None if it may."""
    if _unversioned(source, spec.path) == _unversioned(newest.source, newest.source_path):
        return (f"this is the content of v{newest.version}, the newest version, with "
                f"{'the same' if spec.version == newest.version else 'another'} version "
                "number; change the workflow to publish a new version")
    if spec.version <= newest.version:
        return (f"workflow '{spec.name}' version {spec.version} is already taken (the newest "
                f"stored version is v{newest.version}); set 'version: {newest.version + 1}'")
    return None


def _enum_values(spec: WorkflowSpec, name: str) -> tuple[str, ...]:
    field = spec.fields.get(name)
    return field.values if field is not None and field.type == "enum" else ()


def _tables_of(spec: WorkflowSpec) -> Iterator[str]:
    """The tables a workflow decides with: in its transitions, and on its SLA's escalations."""
    for transition in spec.transitions:
        for action in transition.actions:
            if isinstance(action, DecideAction):
                yield action.table
    if spec.sla is not None:
        yield from (name for name in (spec.sla.on_warn, spec.sla.on_breach) if name)
