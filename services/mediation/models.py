"""Tables mediation owns (schema `mediation`). The mediation case itself arrives with its issue;
the skeleton holds the outbox and inbox every service uses."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from common.outbox import InboxMixin, OutboxMixin


class Base(DeclarativeBase):
    metadata = MetaData(schema="mediation")


class Outbox(OutboxMixin, Base):
    __tablename__ = "outbox"


class Inbox(InboxMixin, Base):
    __tablename__ = "inbox"
