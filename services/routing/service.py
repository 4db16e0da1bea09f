"""Routing entrypoints: on a new complaint, decide the responsible unit, record it, announce it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from nameko.rpc import rpc

from common.contracts import ComplaintReceived, ComplaintRouted, Unit
from common.db import Database
from common.errors import EXPECTED
from common.messaging import on_event
from services.routing import registry
from services.routing.models import Assignment, Inbox, Outbox
from services.routing.rules import decide_responsibility


class RoutingService:
    name = "routing"

    db = Database(Outbox, Inbox)

    @on_event(ComplaintReceived)
    def on_complaint_received(self, event_id: uuid.UUID, event: ComplaintReceived) -> None:
        with self.db.transaction() as session:
            if not self.db.first_delivery(session, event_id, "routing.on_complaint_received"):
                return
            place = event.business_division_code or event.incident_division_code
            decision = decide_responsibility(
                business_division_code=event.business_division_code,
                incident_division_code=event.incident_division_code,
                onboarded=registry.onboarded_lineage(session, place),
            )
            now = datetime.now(UTC)
            # the primary key on complaint_id makes a second decision for one complaint impossible
            session.add(
                Assignment(
                    complaint_id=event.complaint_id,
                    unit_code=decision.unit.code,
                    tier=decision.unit.tier,
                    rule=decision.rule,
                    inputs=decision.inputs,
                    decided_at=now,
                )
            )
            self.db.emit(
                session,
                ComplaintRouted(
                    complaint_id=event.complaint_id,
                    unit=Unit(code=decision.unit.code, name=decision.unit.name, tier=decision.unit.tier),
                    rule=decision.rule,
                    inputs=decision.inputs,
                    decided_at=now,
                ),
            )

    @rpc(expected_exceptions=EXPECTED)
    def served_divisions(self, codes: list[str]) -> dict[str, bool]:
        with self.db.read() as session:
            return registry.served(session, codes)

    @rpc
    def ping(self) -> dict[str, Any]:
        return {"service": self.name, "database": self.db.ping()}
