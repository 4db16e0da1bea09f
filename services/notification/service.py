"""Notification entrypoints: turn events into messages to people, record each and its state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from nameko.rpc import rpc
from sqlalchemy import select

from common.contracts import ComplaintReceived, MessageRecorded
from common.db import Database
from common.errors import EXPECTED
from common.masking import mask_name
from common.messaging import on_event
from services.notification.delivery import LogProvider
from services.notification.models import Inbox, Message, Outbox
from services.notification.templates import ACKNOWLEDGEMENT, render


class NotificationService:
    name = "notification"

    db = Database(Outbox, Inbox)
    provider = LogProvider()

    @on_event(ComplaintReceived)
    def on_complaint_received(self, event_id: uuid.UUID, event: ComplaintReceived) -> None:
        """Acknowledge receipt to the complainant (the 24-hour commitment)."""
        with self.db.transaction() as session:
            if not self.db.first_delivery(session, event_id, "notification.on_complaint_received"):
                return
            now = datetime.now(UTC)
            message = Message(
                id=uuid.uuid4(),
                event_id=event_id,
                complaint_id=event.complaint_id,
                template=ACKNOWLEDGEMENT.name,
                channel=ACKNOWLEDGEMENT.channel,
                recipient_role=ACKNOWLEDGEMENT.recipient_role,
                recipient_address=event.complainant_phone,
                body=render(ACKNOWLEDGEMENT, name=mask_name(event.complainant_name), tracking_no=event.tracking_no),
                state="queued",
                attempts=0,
                created_at=now,
            )
            session.add(message)
            message.state = self.provider.send(message.recipient_address, message.body)
            message.attempts, message.sent_at = 1, now
            self.db.emit(
                session,
                MessageRecorded(
                    message_id=message.id,
                    complaint_id=message.complaint_id,
                    template=message.template,
                    channel=message.channel,
                    recipient_role=message.recipient_role,
                    state=message.state,
                    recorded_at=now,
                ),
            )

    @rpc(expected_exceptions=EXPECTED)
    def messages_for(self, complaint_id: str) -> list[dict[str, Any]]:
        """Messages about one case, without their addresses (the caller checked the scope)."""
        with self.db.read() as session:
            rows = session.scalars(
                select(Message).where(Message.complaint_id == uuid.UUID(complaint_id)).order_by(Message.created_at)
            )
            return [
                {
                    "id": str(m.id),
                    "template": m.template,
                    "channel": m.channel,
                    "recipient_role": m.recipient_role,
                    "state": m.state,
                    "created_at": m.created_at.isoformat(),
                    "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                }
                for m in rows
            ]

    @rpc
    def ping(self) -> dict[str, Any]:
        return {"service": self.name, "database": self.db.ping()}
