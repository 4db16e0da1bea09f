"""Intake entrypoints: take a complaint, check it, store it, tell the others (outbox)."""

from __future__ import annotations

import time
import uuid
from typing import Any, ClassVar

from nameko.rpc import RpcProxy, rpc
from pydantic import ValidationError

from common.contracts import ComplaintRouted, ComplaintSubmission, MessageRecorded
from common.db import Database
from common.errors import EXPECTED, InvalidInput, NotFound
from common.messaging import on_event
from common.tenancy import CurrentScope
from services.intake import complaints
from services.intake.checks import check_submission
from services.intake.models import Inbox, Outbox

# the division registry changes rarely; a code found served stays served for this long
_SERVED_CACHE_SECONDS = 300


class IntakeService:
    name = "intake"

    db = Database(Outbox, Inbox)
    scope = CurrentScope()
    routing = RpcProxy("routing")

    # nameko makes a service instance per worker: the cache lives on the class, one per process
    _served: ClassVar[dict[str, float]] = {}

    @rpc(expected_exceptions=EXPECTED)
    def submit(self, submission: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        """File a complaint. Answers only after it is durably stored with its event."""
        try:
            parsed = ComplaintSubmission.model_validate(submission)
        except ValidationError as exc:
            raise InvalidInput(
                [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()]
            ) from exc
        check_submission(parsed, self._unserved_divisions)
        with self.db.transaction() as session:
            if idempotency_key and (earlier := complaints.by_idempotency_key(session, idempotency_key)):
                return complaints.receipt(earlier)
            first_receiver = self.scope.unit if self.scope else None
            complaint, event = complaints.file_complaint(
                session, parsed, first_receiver=first_receiver, idempotency_key=idempotency_key
            )
            self.db.emit(session, event)
            return complaints.receipt(complaint)

    @rpc(expected_exceptions=EXPECTED)
    def get_complaint(self, complaint_id: str) -> dict[str, Any]:
        try:
            key = uuid.UUID(complaint_id)
        except ValueError as exc:
            raise NotFound(f"no complaint {complaint_id}") from exc
        with self.db.read() as session:
            complaint = complaints.find_in_scope(session, key, self.scope)
            if complaint is None:
                raise NotFound(f"no complaint {complaint_id}")
            return complaints.view(complaint, self.scope)

    @rpc(expected_exceptions=EXPECTED)
    def list_complaints(self, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        with self.db.read() as session:
            found = complaints.list_in_scope(session, self.scope, status=status, limit=min(limit, 200))
            return [complaints.view(c, self.scope, with_history=False) for c in found]

    @on_event(ComplaintRouted)
    def on_complaint_routed(self, event_id: uuid.UUID, event: ComplaintRouted) -> None:
        with self.db.transaction() as session:
            if self.db.first_delivery(session, event_id, "intake.on_complaint_routed"):
                complaints.record_routing(session, event)

    @on_event(MessageRecorded)
    def on_message_recorded(self, event_id: uuid.UUID, event: MessageRecorded) -> None:
        with self.db.transaction() as session:
            if self.db.first_delivery(session, event_id, "intake.on_message_recorded"):
                complaints.record_message(session, event)

    @rpc
    def ping(self) -> dict[str, Any]:
        return {"service": self.name, "database": self.db.ping()}

    def _unserved_divisions(self, codes: list[str]) -> set[str]:
        """Codes that are unknown or outside every onboarded unit, asking routing once per code."""
        now = time.monotonic()
        unknown = [c for c in codes if self._served.get(c, 0) < now]
        if not unknown:
            return set()
        served = self.routing.served_divisions(unknown)
        for code in unknown:
            if served.get(code):
                self._served[code] = now + _SERVED_CACHE_SECONDS
        return {code for code in unknown if not served.get(code)}
