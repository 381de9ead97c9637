"""Customer mail in SQL: the writes and reads of a transaction that queues a mail to a case's
customer (mixed into SqlTransaction; engine.cases.mailing.MailTransaction)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.channels.intake import Outcome
from engine.kernel.records import Audience, CustomerMail
from engine.store.schema import customers, inbound_mail, outbox


class MailWrites:
    """Mixed into the store's transaction (engine.store.repository.SqlTransaction)."""

    connection: Connection

    def customer_contact(self, customer_id: str) -> tuple[str | None, str | None]:
        row = self.connection.execute(sa.select(customers.c.name, customers.c.email)
                                      .where(customers.c.id == customer_id)).first()
        return (None, None) if row is None else (row.name, row.email)

    def answer_with_queued(self, case_id: int, message_id: str) -> int:
        done = self.connection.execute(
            sa.update(outbox).where(outbox.c.case_id == case_id, outbox.c.sent_at.is_(None),
                                    outbox.c.audience == Audience.CUSTOMER.value,
                                    outbox.c.in_reply_to.is_(None))
            .values(in_reply_to=message_id, thread_refs=message_id))
        return int(done.rowcount or 0)

    def thread_of(self, case_id: int) -> list[str]:
        """The Message-IDs of the case's mail thread, oldest first: the mail sent to the
        customer and the mail read from them that opened the case or landed on it (a mail
        without a Message-ID of its own, kept under its digest, is not one to name)."""
        sent = (sa.select(outbox.c.message_id, outbox.c.created_at.label("at"),
                          sa.literal(1).label("then"))
                .where(outbox.c.case_id == case_id, outbox.c.message_id.is_not(None),
                       outbox.c.audience == Audience.CUSTOMER.value))
        read = (sa.select(inbound_mail.c.message_id, inbound_mail.c.received_at.label("at"),
                          sa.literal(0).label("then"))  # at one moment, what we read first
                .where(inbound_mail.c.case_id == case_id,
                       inbound_mail.c.outcome.in_((Outcome.OPENED.value, Outcome.REPLY.value)),
                       inbound_mail.c.message_id.like("<%")))
        thread = sa.union_all(sent, read).subquery()
        return list(self.connection.execute(
            sa.select(thread.c.message_id).order_by(thread.c.at, thread.c.then)).scalars())

    def queue_customer_mail(self, mail: CustomerMail, at: datetime) -> int:
        mail_id: int = self.connection.execute(
            sa.insert(outbox).returning(outbox.c.id),
            {"case_id": mail.case_id, "recipient": mail.customer,
             "audience": Audience.CUSTOMER.value, "address": mail.address,
             "subject": mail.subject, "body": mail.body, "created_at": at, "attempts": 0,
             "message_id": mail.message_id, "in_reply_to": mail.in_reply_to,
             "thread_refs": " ".join(mail.references) or None,
             "automatic": mail.automatic}).scalar_one()
        return mail_id
