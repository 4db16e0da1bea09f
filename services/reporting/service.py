"""Reporting entrypoints: keep the read model from events, answer figures within a scope."""

from __future__ import annotations

import uuid
from typing import Any

from nameko.rpc import rpc

from common.contracts import CaseReassigned, ComplaintReceived, ComplaintRouted
from common.db import Database
from common.errors import EXPECTED
from common.messaging import on_event
from common.tenancy import CurrentScope
from services.reporting import figures
from services.reporting.models import Inbox


class ReportingService:
    name = "reporting"

    db = Database(inbox=Inbox)
    scope = CurrentScope()

    @on_event(ComplaintReceived)
    def on_complaint_received(self, event_id: uuid.UUID, event: ComplaintReceived) -> None:
        with self.db.transaction() as session:
            if self.db.first_delivery(session, event_id, "reporting.on_complaint_received"):
                figures.count_received(session, event)

    @on_event(ComplaintRouted)
    def on_complaint_routed(self, event_id: uuid.UUID, event: ComplaintRouted) -> None:
        with self.db.transaction() as session:
            if self.db.first_delivery(session, event_id, "reporting.on_complaint_routed"):
                figures.count_routed(session, event)

    @on_event(CaseReassigned)
    def on_case_reassigned(self, event_id: uuid.UUID, event: CaseReassigned) -> None:
        with self.db.transaction() as session:
            if self.db.first_delivery(session, event_id, "reporting.on_case_reassigned"):
                figures.count_reassigned(session, event)

    @rpc(expected_exceptions=EXPECTED)
    def summary(self) -> dict[str, Any]:
        # scoped: the query filters by scope and row-level security refuses anything else
        with self.db.scoped(self.scope) as session:
            return figures.summary(session, self.scope)

    @rpc
    def ping(self) -> dict[str, Any]:
        return {"service": self.name, "database": self.db.ping()}
