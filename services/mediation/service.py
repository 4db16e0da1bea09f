"""Mediation entrypoints. The skeleton runs the service with its schema and health check; the
mediation case (consent, mediator, sessions, agreement) arrives with its own issue."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from common.db import Database
from services.mediation.models import Inbox, Outbox


class MediationService:
    name = "mediation"

    db = Database(Outbox, Inbox)

    @rpc
    def ping(self) -> dict[str, Any]:
        return {"service": self.name, "database": self.db.ping()}
