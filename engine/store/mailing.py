"""Customer mail in SQL: the writes and reads of a transaction that queues a mail to a case's
customer (mixed into SqlTransaction; engine.cases.mailing.MailTransaction)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.kernel.records import Audience, CustomerMail
from engine.store.schema import customers, outbox


class MailWrites:
    """Mixed into the store's transaction (engine.store.repository.SqlTransaction)."""

    connection: Connection

    def customer_contact(self, customer_id: str) -> tuple[str | None, str | None]:
        row = self.connection.execute(sa.select(customers.c.name, customers.c.email)
                                      .where(customers.c.id == customer_id)).first()
        return (None, None) if row is None else (row.name, row.email)

    def thread_of(self, case_id: int) -> list[str]:
        """The Message-IDs of the mail sent about the case, oldest first (the mail read from
        the customer joins them when the intake keeps theirs)."""
        return list(self.connection.execute(
            sa.select(outbox.c.message_id)
            .where(outbox.c.case_id == case_id, outbox.c.message_id.is_not(None),
                   outbox.c.audience == Audience.CUSTOMER.value)
            .order_by(outbox.c.id)).scalars())

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
