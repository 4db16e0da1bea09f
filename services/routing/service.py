"""Routing entrypoints: on a new complaint, decide the responsible unit, record it, announce it;
and the tenant registry (services/routing/tenants.py, `tenant_ops` here): tenants, their settings,
onboarding and offboarding with the audit trail. The caller's scope comes from the context data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from nameko.rpc import rpc

from common.contracts import ComplaintReceived, ComplaintRouted, Unit
from common.db import Database
from common.errors import EXPECTED
from common.messaging import on_event
from common.tenancy import CurrentScope
from services.routing import registry
from services.routing import tenants as tenant_ops
from services.routing.models import Assignment, Inbox, Outbox
from services.routing.rules import decide_responsibility


class RoutingService:
    name = "routing"

    db = Database(Outbox, Inbox)
    scope = CurrentScope()

    @on_event(ComplaintReceived)
    def on_complaint_received(self, event_id: uuid.UUID, event: ComplaintReceived) -> None:
        with self.db.transaction() as session:
            if not self.db.first_delivery(session, event_id, "routing.on_complaint_received"):
                return
            place = event.business_division_code or event.incident_division_code
            decision = decide_responsibility(
                business_division_code=event.business_division_code,
                incident_division_code=event.incident_division_code,
                onboarded=registry.onboarded_lineage(session, place, lock=True),
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

    @rpc(expected_exceptions=EXPECTED)
    def tenant(self, code: str) -> dict[str, Any]:
        with self.db.read() as session:
            return tenant_ops.tenant(session, self.scope, code)

    @rpc(expected_exceptions=EXPECTED)
    def effective_settings(self, code: str) -> dict[str, Any]:
        with self.db.read() as session:
            return tenant_ops.effective_settings(session, self.scope, code)

    @rpc(expected_exceptions=EXPECTED)
    def tenants(self, parent: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        with self.db.read() as session:
            return tenant_ops.tenants(session, self.scope, parent, kind)

    @rpc(expected_exceptions=EXPECTED)
    def tenant_audit(self, code: str, limit: int = tenant_ops.AUDIT_LIMIT) -> list[dict[str, Any]]:
        with self.db.read() as session:
            return tenant_ops.audit_trail(session, self.scope, code, limit)

    @rpc(expected_exceptions=EXPECTED)
    def update_settings(self, code: str, overrides: Any) -> dict[str, Any]:
        """Apply a JSON merge patch to the tenant's own overrides (null removes one)."""
        with self.db.transaction() as session:
            return tenant_ops.update_settings(session, self.scope, code, overrides)

    @rpc(expected_exceptions=EXPECTED)
    def onboard(
        self,
        code: str,
        subtree: bool = False,
        kind: str = "unit",
        agency_type: str | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        with self.db.transaction() as session:
            return tenant_ops.onboard(
                session, self.scope, code, subtree=subtree, kind=kind, agency_type=agency_type, name=name
            )

    @rpc(expected_exceptions=EXPECTED)
    def offboard(self, code: str) -> dict[str, Any]:
        """Remove a tenant; a unit's open cases move to the nearest onboarded unit above it, each
        announced with `case.reassigned.v1` from the same transaction."""
        with self.db.transaction() as session:
            result, events = tenant_ops.offboard(session, self.scope, code)
            for event in events:
                self.db.emit(session, event)
            return result

    @rpc
    def ping(self) -> dict[str, Any]:
        return {"service": self.name, "database": self.db.ping()}
