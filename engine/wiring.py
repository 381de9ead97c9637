"""Put a running casework together from settings: database, store, registry, runtime."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.cases.audit import Audit
from engine.cases.conversation import Conversation, Limits
from engine.cases.dashboards import Dashboards
from engine.cases.desk import Desk
from engine.cases.holds import LegalHolds
from engine.cases.notifying import Notifications
from engine.cases.queues import Queues
from engine.cases.runtime import Runtime
from engine.cases.saved_views import SavedViews
from engine.cases.search import CaseSearch
from engine.cases.verifying import Verification, Verifier, take_checkpoint
from engine.cases.version_moves import Migrator
from engine.channels.inbound import MailLimits
from engine.channels.intake import Intake
from engine.channels.mailing import Mailing
from engine.channels.surveys import Signer, Surveys, SurveySender
from engine.channels.templates import MailTemplates
from engine.channels.webform import WebForm
from engine.customers.editing import CustomerEditor
from engine.customers.records import TIER_TABLE
from engine.customers.search import CustomerSearch
from engine.jobs.opening import Opening, managed_tier_problems
from engine.kernel.accounts import Accounts, password_matches
from engine.kernel.administration import Administration
from engine.kernel.checkpoints import Checkpoint
from engine.kernel.errors import CaseworkError
from engine.kernel.history import Break
from engine.kernel.protection import PersonalData
from engine.kernel.records import Operating, Timers
from engine.kernel.settings import Settings
from engine.kernel.sign_ins import SignInLimits, SignIns
from engine.kernel.signing import secret_key
from engine.kernel.specs import WorkflowSpec
from engine.rules.responses import CannedResponse
from engine.sla.clocks import Reckoner
from engine.store import Database, SqlStore
from engine.store.accounts import SqlAccounts
from engine.store.administration import SqlAdministration
from engine.store.approvals import SqlPublicationRequests
from engine.store.audit_sources import SqlAuditSource
from engine.store.audit_views import SqlAudit
from engine.store.backups import Restored, SqlBackups
from engine.store.case_search import SqlCaseSearch
from engine.store.conversation import SqlConversations
from engine.store.customer_edits import SqlCustomerEdits
from engine.store.customer_search import SqlCustomerSearch
from engine.store.customers import SqlCustomers
from engine.store.dashboard_views import SqlDashboards
from engine.store.drafts import SqlDrafts
from engine.store.erasure import SqlPersonalData
from engine.store.holds import SqlHolds
from engine.store.inbound import SqlInbound
from engine.store.jobs import SqlJobs
from engine.store.notifications import SqlNotifications
from engine.store.operating import SqlOperating
from engine.store.publications import SqlPublications
from engine.store.saved_views import SqlSavedViews
from engine.store.sign_ins import SqlSignIns
from engine.store.surveys import SqlSurveys
from engine.store.sweeps import SqlTimers
from engine.store.upgrades import is_current, upgrade
from engine.store.views import SqlViews
from engine.workflows.approvals import PublicationRequests
from engine.workflows.drafts import Drafts
from engine.workflows.publications import Publications
from engine.workflows.registry import (
    Registry,
    definitions_home,
    load_calendars,
    load_responses,
    load_retention,
)

if TYPE_CHECKING:
    from engine.jobs.requested import Jobs
    from engine.jobs.retention import Retention
    from engine.jobs.tiering import Tiering
    from engine.jobs.worker import Worker


@dataclass
class Casework:
    """A running casework: the write side (store, registry, runtime, customers) and, read
    through their protocols, the services the pages, the API and the command line ask."""

    settings: Settings
    database: Database
    store: SqlStore
    registry: Registry
    runtime: Runtime
    customers: SqlCustomers

    @cached_property
    def tiering(self) -> Tiering:
        from engine.jobs.tiering import (
            Tiering,  # NumPy and SciPy load only for the commands that fit
        )

        return Tiering(self.customers, self.registry, self.runtime)

    @cached_property
    def operating(self) -> Operating:
        """What /metrics and /readyz read of the database."""
        return SqlOperating(self.database)

    @cached_property
    def accounts(self) -> Accounts:
        return SqlAccounts(self.database)

    @cached_property
    def administration(self) -> Administration:
        return Administration(SqlAdministration(self.database))

    @cached_property
    def sign_ins(self) -> SignIns:
        web = self.settings.web
        limits = SignInLimits(web.sign_in_per_address,
                              timedelta(minutes=web.sign_in_window_minutes),
                              web.sign_in_lock_after, timedelta(minutes=web.sign_in_lock_minutes))
        accounts = self.accounts
        return SignIns(SqlSignIns(self.database), limits,
                       lambda name, password: password_matches(accounts.password_hash(name),
                                                               password))

    @cached_property
    def views(self) -> Queues:
        return SqlViews(self.database)

    @cached_property
    def search(self) -> CustomerSearch:
        return SqlCustomerSearch(self.database)

    @cached_property
    def customer_editor(self) -> CustomerEditor:
        return CustomerEditor(SqlCustomerEdits(self.database),
                              lambda: secret_key(self.settings.home))

    @cached_property
    def case_search(self) -> CaseSearch:
        return SqlCaseSearch(self.database)

    @cached_property
    def saved_views(self) -> SavedViews:
        return SqlSavedViews(self.database)

    @cached_property
    def notifications(self) -> Notifications:
        return SqlNotifications(self.database)

    @cached_property
    def personal_data(self) -> PersonalData:
        return SqlPersonalData(
            self.database, lambda definition: self.registry.get(definition).spec.personal,
            self.settings.attachments_folder)

    @cached_property
    def audit(self) -> Audit:
        return SqlAudit(self.database)

    @cached_property
    def holds(self) -> LegalHolds:
        return LegalHolds(SqlHolds(self.database))

    @cached_property
    def approvals(self) -> PublicationRequests:
        """The publication requests of four-eyes publishing (engine.workflows.approvals)."""
        return self.registry.requests or SqlPublicationRequests(self.database)

    @cached_property
    def publications(self) -> Publications:
        return SqlPublications(self.database)

    @cached_property
    def drafts(self) -> Drafts:
        return SqlDrafts(self.database)

    @cached_property
    def dashboards(self) -> Dashboards:
        return SqlDashboards(self.database)

    @cached_property
    def conversation(self) -> Conversation:
        limits = Limits(self.settings.attachments_folder, self.settings.attachment_max_bytes,
                        self.settings.accepted_types)
        return Conversation(SqlConversations(self.store), self.runtime, limits)

    @cached_property
    def intake(self) -> Intake:
        """Takes the mails that the mailbox brings into cases (engine.jobs.mailbox fetches)."""
        settings = self.settings
        limits = MailLimits(settings.mail_max_bytes, settings.attachment_max_bytes,
                            settings.accepted_types)
        return Intake(self.store, self.conversation, self.customer_editor, limits)

    @cached_property
    def inbound(self) -> SqlInbound:
        return SqlInbound(self.database)

    @cached_property
    def surveys(self) -> Surveys:
        signer = Signer(lambda: secret_key(self.settings.home))
        return Surveys(SqlSurveys(self.store), self.runtime, signer)

    @cached_property
    def web_form(self) -> WebForm:
        return WebForm(self.store, self.conversation, self.customer_editor,
                       self.settings.form_per_hour)

    @cached_property
    def responses(self) -> dict[str, CannedResponse]:
        """The canned responses of the home's rules/responses.yaml (checked when loaded)."""
        return load_responses(self.settings.home)

    @cached_property
    def desk(self) -> Desk:
        return Desk(self.runtime)

    @cached_property
    def migrator(self) -> Migrator:
        return Migrator(self.store, self.store, self.registry, self.runtime.scheduler)

    @cached_property
    def opening(self) -> Opening:
        return Opening(self.customers, self.registry, self.runtime)

    @cached_property
    def jobs(self) -> Jobs:
        """Jobs requested from the browser, run by this process's worker (engine.jobs.
        requested), under the timer worker's name."""
        from engine.jobs.requested import Jobs, runners
        from engine.jobs.worker import worker_name

        return Jobs(SqlJobs(self.database), runners(lambda: self.tiering, lambda: self.opening),
                    worker_name())

    @cached_property
    def timers(self) -> Timers:
        return SqlTimers(self.database)

    @cached_property
    def worker(self) -> Worker:
        from engine.jobs.escalation import Escalator, Notices  # Jinja2 loads only for the worker
        from engine.jobs.outbox import Mailer, OutboxRun
        from engine.jobs.worker import Worker

        escalator = Escalator(self.runtime, self.registry, self.runtime.scheduler.reckoner,
                              Notices(self.settings.home))
        mail = self.settings.mail
        sending = (OutboxRun(self.timers, Mailer.configured(mail), mail.interval)
                   if mail.smtp_host else None)
        lease = self.settings.timer_lease
        return Worker(SqlTimers(self._worker_database), self.runtime, escalator, sending,
                      timedelta(seconds=lease))

    @cached_property
    def _worker_database(self) -> Database:
        """The database as a worker fires timers in it: on PostgreSQL sessions of their own,
        which the server ends when a transaction stays idle for the lease (a worker that
        stopped halfway keeps no lock beyond it: engine/jobs/worker.py)."""
        if self.database.dialect != "postgresql":
            return self.database
        return Database(self.settings.database_url, self.settings.lock_timeout,
                        idle_timeout=self.settings.timer_lease,
                        pool_size=self.settings.db_pool_size)

    @cached_property
    def verifier(self) -> Verifier:
        return Verifier(SqlAuditSource(self.database), self._spec_of)

    def _spec_of(self, workflow: str, version: int) -> WorkflowSpec | None:
        try:
            return self.registry.get(self.store.definition("workflow", workflow, version).id).spec
        except CaseworkError:
            return None

    def verify(self, against: Checkpoint | None = None) -> Verification:
        """Everything `audit verify` checks (engine.cases.verifying), optionally against a
        checkpoint whose signature the caller has checked."""
        return self.verifier.verify(against)

    @cached_property
    def retention(self) -> Retention:
        """The retention job over rules/retention.yaml (read at each run), checked against
        the stored workflows."""
        from engine.jobs.retention import Retention
        from engine.store.retention import SqlRetention

        home = self.settings.home
        return Retention(SqlRetention(self.database),
                         lambda: load_retention(home, self.registry.workflow_names()),
                         self.settings.attachments_folder,
                         erase_case=self.personal_data.erase_case)

    def verify_history(self) -> tuple[int, int, list[Break]]:
        """verify(): how many cases and customers with history were checked, and every break
        (a chain, a case row against its history, the vault, the protection log)."""
        found = self.verify()
        return found.cases, found.customers, found.breaks

    def checkpoint(self, previous: str | None = None,
                   extra: Mapping[str, Any] | None = None) -> Checkpoint:
        """The history's heads and counts now, unsigned."""
        return take_checkpoint(SqlAuditSource(self.database), self.settings.clock(), previous,
                               extra)

    def close(self) -> None:
        if "_worker_database" in self.__dict__:  # made by the worker only
            self._worker_database.dispose()
        self.database.dispose()


def open_casework(settings: Settings, migrate: bool = False) -> Casework:
    """Connect to the configured database; migrate it first if asked, else insist it is current."""
    if not migrate and Database.missing_file(settings.database_url):
        raise CaseworkError(f"there is no database at {settings.database_url}; run "
                            "`casework db upgrade` first")
    database = Database(settings.database_url, settings.lock_timeout,
                        pool_size=settings.db_pool_size)
    if migrate:
        upgrade(database)
    elif not is_current(database):
        database.dispose()
        raise CaseworkError(f"the database at {_safe(settings.database_url)} is not at the newest "
                            "schema; run `casework db upgrade` first")
    store = SqlStore(database)
    registry = Registry(store, table_checks={TIER_TABLE: managed_tier_problems},
                        requests=SqlPublicationRequests(database))
    reckoner = Reckoner(lambda: load_calendars(settings.home))  # read when a clock needs it
    mailing = Mailing(MailTemplates(definitions_home(settings.home)), registry,
                      settings.mail.message_domain, settings.mail.language)
    surveyor = SurveySender(Signer(lambda: secret_key(settings.home)), mailing,
                            settings.public_url, settings.survey_days)
    return Casework(settings, database, store, registry,
                    Runtime(store, registry, reckoner, mailing, surveyor), SqlCustomers(database))


@contextmanager
def backups_of(settings: Settings) -> Iterator[SqlBackups]:
    """Backups of the configured database, which is opened as it is: neither migrated nor
    required to be current (a restore's target is empty, a backup records its revision)."""
    database = Database(settings.database_url)
    try:
        yield SqlBackups(database)
    finally:
        database.dispose()


def restore_backup(settings: Settings, backup: Path, replace: bool
                   ) -> tuple[Restored, tuple[int, int, list[Break]]]:
    """Restore a backup into the configured database, then verify every chain in it as
    `casework audit verify` does: what was restored, and (cases, customers, breaks)."""
    with backups_of(settings) as backups:
        restored = backups.restore(backup, replace)
    casework = open_casework(settings)
    try:
        return restored, casework.verify_history()
    finally:
        casework.close()


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
