"""Channels: how cases reach customers and people, and how customers reach cases.

Mail read from a mailbox and mail sent from the outbox, satisfaction surveys, the public web
form and notices to staff, as pure logic over engine.cases: the mail servers are spoken to by
engine.jobs, the tables written by engine.store.
"""
