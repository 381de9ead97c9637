"""Satisfaction surveys: a signed, expiring, single-use link to a public page, and its answer.

A workflow's `survey: csat` (or `nps`) action issues one in the fire's transaction: a row in
`surveys` holding only a digest of the link's token, and a mail to the case's customer with the
link (a customer without an email address gets none, and the history says so; the step is never
refused for it). The token is signed with the home's secret (engine.kernel.signing, as the CSRF
cookies are), so a forged or mistyped link is refused before the database is asked.

Answering is one transaction: the survey is marked answered (once), the comment lands in the
case's conversation as a message from the customer, and the `survey_answered` signal fires the
first transition leaving the case's state `on: survey_answered` whose guard passes, given the
score and comment (complaint: close when satisfied, back to investigation when not), as the
customer, whom roles do not apply to (as timers and customer events). A link that is forged,
expired or answered already changes nothing and leaves a row in `public_requests`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Protocol, cast

from itsdangerous import BadSignature, URLSafeSerializer

from engine.cases.conversation import EVENTS, EntryKind, NewEntry
from engine.cases.mailing import CustomerMailer
from engine.cases.runtime import Actor, Runtime, case_values
from engine.channels.public import Outcome, PublicRecords, PublicRequest
from engine.kernel.errors import CaseworkError, InvalidInput, NotFound, TransitionRefused
from engine.kernel.history import EventDraft
from engine.kernel.records import CaseRecord, Transaction

if TYPE_CHECKING:
    pass

SIGNAL = "survey_answered"
MAX_COMMENT = 4000  # characters, as the follow-up notes hold


class SurveyKind(StrEnum):
    CSAT = "csat"  # 1-5, after a complaint
    NPS = "nps"  # 0-10: how likely the customer is to recommend us


SCALES = {SurveyKind.CSAT: (1, 5), SurveyKind.NPS: (0, 10)}
# The case fields an answer fills (score, comment), those of them that the workflow has.
ANSWER_FIELDS = {SurveyKind.CSAT: ("csat", "follow_up_notes"),
                 SurveyKind.NPS: ("nps", "nps_comment")}


class SurveyRefused(CaseworkError):
    """A survey link that cannot be answered; nothing was changed."""

    outcome = Outcome.FORGED


class SurveyUnknown(SurveyRefused, NotFound):
    """A link that is not one of ours (forged, mistyped, cut short)."""


class SurveyExpired(SurveyRefused):
    outcome = Outcome.EXPIRED


class SurveyAnswered(SurveyRefused):
    outcome = Outcome.REUSED


@dataclass(frozen=True)
class NewSurvey:
    case_id: int
    customer_id: str
    kind: SurveyKind
    token_digest: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Survey:
    """A survey as stored (without its token, which only the customer's mail holds)."""

    id: int
    case_id: int
    customer_id: str
    kind: SurveyKind
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None = None
    score: int | None = None
    comment: str | None = None

    @property
    def scale(self) -> tuple[int, int]:
        return SCALES[self.kind]


class SurveyTransaction(Transaction, PublicRecords, Protocol):
    def add_survey(self, survey: NewSurvey) -> int: ...
    def survey_by_digest(self, digest: str) -> Survey | None:
        """The survey of a token's digest, locked for this transaction."""
    def answer_survey(self, survey_id: int, score: int, comment: str | None,
                      at: datetime) -> bool:
        """Mark it answered; False when another answer came first."""
    def customer_email(self, customer_id: str) -> str | None: ...
    def add_entry(self, entry: NewEntry) -> int: ...


class SurveyStore(Protocol):
    def transaction(self) -> AbstractContextManager[SurveyTransaction]: ...
    def survey(self, digest: str) -> Survey | None: ...


class Signer:
    """Makes and checks survey tokens: a random nonce signed with the home's secret (read
    when the first token is made or checked: a command that sends no survey never needs it)."""

    def __init__(self, secret: Callable[[], str]) -> None:
        self.secret = secret

    @cached_property
    def serializer(self) -> URLSafeSerializer:
        return URLSafeSerializer(self.secret(), salt="casework.survey")

    def new(self) -> tuple[str, str]:
        """A fresh token and the digest that is stored of it."""
        token = self.serializer.dumps(secrets.token_urlsafe(16))
        return token, digest_of(token)

    def digest(self, token: str) -> str:
        """The digest of a token that we signed; SurveyUnknown for any other."""
        try:
            self.serializer.loads(token)
        except BadSignature:
            raise SurveyUnknown("this survey link is not one of ours: check that the whole "
                                "link from the mail was opened") from None
        return digest_of(token)


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SurveySender:
    """Issues surveys from workflow actions (engine.cases.acting.Surveyor)."""

    signer: Signer
    mailer: CustomerMailer  # engine.channels.mailing: the workflow's `survey` mail template
    public_url: str
    days: int

    def issue(self, tx: Transaction, case: CaseRecord, kind: str, now: datetime) -> EventDraft:
        # the store's transaction holds the survey and outbox writes too (SurveyTransaction)
        writes = cast(SurveyTransaction, tx)
        survey_kind = SurveyKind(kind)
        address = writes.customer_email(case.customer) if case.customer else None
        if case.customer is None or not address:
            return EventDraft("survey.not_sent", {
                "kind": kind, "reason": "the customer has no email address"})
        token, digest = self.signer.new()
        expires = now + timedelta(days=self.days)
        survey_id = writes.add_survey(NewSurvey(case.id, case.customer, survey_kind, digest,
                                                now, expires))
        mailed = self.mailer.mail(tx, case, "survey", now, {
            "survey_url": f"{self.public_url}/survey/{token}", "expires_at": expires,
            "kind": kind}, automatic=True)
        mail_id = mailed.outbox_id
        return EventDraft("survey.sent", {"survey": survey_id, "kind": kind, "mail": mail_id,
                                          "expires_at": expires.isoformat()})


class Surveys:
    """Shows and answers surveys by their links' tokens."""

    def __init__(self, store: SurveyStore, runtime: Runtime, signer: Signer) -> None:
        self.store = store
        self.runtime = runtime
        self.signer = signer

    def open(self, token: str, now: datetime, client: str | None = None) -> Survey:
        """The survey a link asks, if it may still be answered; else SurveyRefused (recorded)."""
        digest = self._digest(token, now, client)
        survey = self.store.survey(digest)
        refused = _refusal(survey, now)
        if refused is not None or survey is None:
            self._record(refused, survey, now, client)
            raise refused or SurveyUnknown("this survey link is not one of ours")
        return survey

    def answer(self, token: str, score: int, comment: str, now: datetime,
               client: str | None = None) -> Survey:
        """Answer once: the survey, the case's conversation and its follow-up step, in one
        transaction. InvalidInput for a score off the scale; SurveyRefused (recorded)."""
        digest = self._digest(token, now, client)
        text = comment.strip()
        if len(text) > MAX_COMMENT:
            raise InvalidInput("comment", f"is {len(text):,} characters long; the most is "
                               f"{MAX_COMMENT:,}")
        refused: SurveyRefused | None = None
        with self.store.transaction() as tx:
            survey = tx.survey_by_digest(digest)
            refused = _refusal(survey, now)
            if refused is not None or survey is None:
                tx.record_public(_request(refused, survey, now, client))
            else:
                low, high = survey.scale
                if not low <= score <= high:
                    raise InvalidInput("score", f"is {score}; choose from {low} to {high}")
                if not tx.answer_survey(survey.id, score, text or None, now):
                    raise SurveyAnswered("this survey was answered a moment ago")
                self._follow_up(tx, survey, score, text, now)
        if refused is not None or survey is None:
            raise refused or SurveyUnknown("this survey link is not one of ours")
        return Survey(survey.id, survey.case_id, survey.customer_id, survey.kind,
                      survey.created_at, survey.expires_at, now, score, text or None)

    def _digest(self, token: str, now: datetime, client: str | None) -> str:
        try:
            return self.signer.digest(token)
        except SurveyUnknown as forged:
            self._record(forged, None, now, client)
            raise

    def _record(self, refused: SurveyRefused | None, survey: Survey | None, now: datetime,
                client: str | None) -> None:
        with self.store.transaction() as tx:
            tx.record_public(_request(refused, survey, now, client))

    def _follow_up(self, tx: SurveyTransaction, survey: Survey, score: int, comment: str,
                   now: datetime) -> None:
        """The answer on the case: the comment in its conversation, the signal to its clocks,
        and the first `on: survey_answered` transition that fires."""
        case = tx.get_case(survey.case_id)
        spec = self.runtime.registry.get(case.definition_id).spec
        actor = Actor(survey.customer_id, "customer")
        drafts = [EventDraft("survey.answered", {"survey": survey.id, "kind": survey.kind.value,
                                                 "score": score, "comment_length": len(comment)})]
        if comment:
            entry_id = tx.add_entry(NewEntry(case.id, EntryKind.FROM_CUSTOMER, actor.name,
                                             comment, now, None))
            drafts.append(EventDraft(EVENTS[EntryKind.FROM_CUSTOMER], {
                "entry": entry_id, "kind": EntryKind.FROM_CUSTOMER.value, "author": actor.name,
                "length": len(comment), "files": 0, "survey": survey.id}))
        drafts += self.runtime.signalled(tx, case, SIGNAL, actor, now)
        case = self.runtime.amend(tx, case, case, None, drafts, actor, now)
        score_field, comment_field = ANSWER_FIELDS[survey.kind]
        given = {name: value for name, value in ((score_field, score),
                                                 (comment_field, comment or None))
                 if name in spec.fields and value is not None}
        because = {"signal": SIGNAL, "survey": survey.id}
        reasons = []
        for transition in spec.transitions_from(case.state):
            if transition.on != SIGNAL:
                continue
            inputs = {k: v for k, v in given.items() if k in transition.inputs}
            try:
                self.runtime.fire_in(tx, case.id, transition.trigger, actor, now, inputs,
                                     because=because)
                return
            except TransitionRefused as refused:
                reasons.append(f"{transition.trigger}: {refused.detail}")
        # no step follows from here (the case moved on meanwhile): the answer is kept on it
        values = {**case_values(spec, case.fields), **given}
        self.runtime.amend(tx, case, case, values, [EventDraft("case.signal_skipped", {
            **because, "reason": "; ".join(reasons) or f"no step leaves '{case.state}' on "
            f"{SIGNAL}"})], actor, now)


def _refusal(survey: Survey | None, now: datetime) -> SurveyRefused | None:
    if survey is None:
        return SurveyUnknown("this survey link is not one of ours: check that the whole link "
                             "from the mail was opened")
    if survey.answered_at is not None:
        return SurveyAnswered("this survey has been answered already; thank you")
    if now >= survey.expires_at:
        return SurveyExpired(f"this survey link expired on {survey.expires_at:%Y-%m-%d}; reply "
                             "to our mail if you would still like to tell us")
    return None


def _request(refused: SurveyRefused | None, survey: Survey | None, now: datetime,
             client: str | None) -> PublicRequest:
    outcome = refused.outcome if refused is not None else Outcome.FORGED
    return PublicRequest("survey", outcome, client, now,
                         survey.case_id if survey is not None else None,
                         f"survey {survey.id}" if survey is not None else None)
