"""Composing and queueing a mail to a case's customer (engine.cases.mailing.CustomerMailer).

The mail is filled from the case workflow's template (engine.channels.templates) in the mail
language, its subject carries the case token, it gets a Message-ID of our domain, and it answers
the case's latest mail: In-Reply-To names it, References the thread (engine.channels.threads),
so that the customer's mail client shows one conversation and a reply finds its case.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from engine.cases.mailing import Mailed, MailTransaction
from engine.channels.templates import MailTemplates
from engine.channels.threads import MAX_REFERENCES, new_message_id, with_token
from engine.kernel.records import CaseRecord, CustomerMail, Transaction
from engine.kernel.specs import WorkflowSpec
from engine.workflows.registry import Registry


class Mailing:
    """Mails customers about their cases from a home's templates."""

    def __init__(self, templates: MailTemplates, registry: Registry, domain: str,
                 language: str) -> None:
        self.templates = templates
        self.registry = registry
        self.domain = domain
        self.language = language

    def mail(self, tx: Transaction, case: CaseRecord, template: str, now: datetime,
             extras: Mapping[str, Any] | None = None, automatic: bool = False) -> Mailed:
        mail_tx = cast(MailTransaction, tx)
        name, address = (mail_tx.customer_contact(case.customer) if case.customer
                         else (None, None))
        if not address:
            return Mailed(template, self.language, skipped=f"customer '{case.customer or 'none'}'"
                          " has no email address")
        assert case.customer is not None
        spec = self.registry.get(case.definition_id).spec
        values = {**template_values(spec, case, name), **(extras or {})}
        rendered = self.templates.render(spec.name, template, self.language, values)
        thread = mail_tx.thread_of(case.id)
        mail = CustomerMail(case.customer, address, with_token(rendered.subject, case.id),
                            rendered.body, case.id, new_message_id(self.domain),
                            thread[-1] if thread else None, tuple(thread[-MAX_REFERENCES:]),
                            automatic)
        return Mailed(template, rendered.language, mail_tx.queue_customer_mail(mail, now))


def template_values(spec: WorkflowSpec, case: CaseRecord,
                    customer_name: str | None) -> dict[str, Any]:
    """What every mail template reads: the case, its customer and its workflow's title."""
    summary = case.fields.get("summary")
    state = spec.states.get(case.state)
    return {
        "case": {"id": case.id, "state": (state.title if state and state.title else case.state),
                 "title": summary if isinstance(summary, str) and summary else
                 f"{spec.title} {case.id}", "fields": dict(case.fields)},
        "customer": {"id": case.customer, "name": customer_name or case.customer},
        "workflow": spec.title,
    }
