"""Notification entrypoints: turn events into messages to people (rules.py, planning.py), record
and deliver them (delivery.py), remind agencies (reminders.py), and answer the gateway (a case's
messages, the staff inbox, tenant templates and settings, party contacts, one-time codes).
See docs/notification.md.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from common import contracts
from common.contracts.signing import REPLAY_WINDOW_SECONDS, verify_signature
from common.db import Database
from common.errors import EXPECTED, Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from common.masking import mask_phone
from common.messaging import install_nameko_patches, on_events
from common.telemetry import Telemetry
from common.tenancy import CurrentScope
from services.notification import codes, delivery, follow_up, receipts, reminders, tenants, views
from services.notification import contacts as case_contacts
from services.notification import rules as R
from services.notification import settings as tenant_settings
from services.notification.channels import Outgoing, PermanentFailure, TemporaryFailure
from services.notification.dependencies import ChannelsProvider
from services.notification.models import CaseContact, Inbox, InboxRead, Message, Outbox
from services.notification.templates import check_override, preview

install_nameko_patches()  # before nameko builds this service's container (common/messaging.py)

log = logging.getLogger(__name__)


class NotificationService:
    name = "notification"

    db = Database(Outbox, Inbox)
    telemetry = Telemetry()  # traces, handler metrics, /metrics (common/telemetry.py)
    scope = CurrentScope()
    channels = ChannelsProvider()

    # --- events ---------------------------------------------------------------------------------------

    @on_events(contracts.ComplaintReceived)
    def on_complaint_received(self, events: list[tuple[uuid.UUID, contracts.ComplaintReceived]]) -> None:
        """Acknowledge receipt to the complainant (the 24-hour commitment; intake runs its clock)."""
        self._handle(events, R.RECEIVED, "notification.on_complaint_received")

    @on_events(contracts.ComplaintRouted)
    def on_complaint_routed(self, events: list[tuple[uuid.UUID, contracts.ComplaintRouted]]) -> None:
        self._handle(events, R.ROUTED, "notification.on_complaint_routed")

    @on_events(contracts.ComplaintAccepted)
    def on_complaint_accepted(self, events: list[tuple[uuid.UUID, contracts.ComplaintAccepted]]) -> None:
        self._handle(events, R.ACCEPTED, "notification.on_complaint_accepted")

    @on_events(contracts.ComplaintRefused)
    def on_complaint_refused(self, events: list[tuple[uuid.UUID, contracts.ComplaintRefused]]) -> None:
        self._handle(events, R.REFUSED, "notification.on_complaint_refused")

    @on_events(contracts.SettleFirstOpened)
    def on_settle_first_opened(self, events: list[tuple[uuid.UUID, contracts.SettleFirstOpened]]) -> None:
        """Tell the business a complaint waits for its answer (settle-first lane)."""
        self._handle(events, R.SETTLE_FIRST_OPENED, "notification.on_settle_first_opened")

    @on_events(contracts.CaseReassigned)
    def on_case_reassigned(self, events: list[tuple[uuid.UUID, contracts.CaseReassigned]]) -> None:
        self._handle(events, R.REASSIGNED, "notification.on_case_reassigned")

    @on_events(contracts.CaseEscalated)
    def on_case_escalated(self, events: list[tuple[uuid.UUID, contracts.CaseEscalated]]) -> None:
        self._handle(events, R.ESCALATED, "notification.on_case_escalated")

    @on_events(contracts.CaseRoutingStep)
    def on_routing_step(self, events: list[tuple[uuid.UUID, contracts.CaseRoutingStep]]) -> None:
        self._handle(events, R.ROUTING_STEP, "notification.on_routing_step")

    @on_events(contracts.EarlyWarningRaised)
    def on_early_warning(self, events: list[tuple[uuid.UUID, contracts.EarlyWarningRaised]]) -> None:
        self._handle(events, R.EARLY_WARNING, "notification.on_early_warning")

    @on_events(contracts.MediationTransitioned)
    def on_mediation_transitioned(self, events: list[tuple[uuid.UUID, contracts.MediationTransitioned]]) -> None:
        self._handle(events, R.TRANSITIONED, "notification.on_mediation_transitioned")

    @on_events(contracts.MediationEnded)
    def on_mediation_ended(self, events: list[tuple[uuid.UUID, contracts.MediationEnded]]) -> None:
        self._handle(events, R.ENDED, "notification.on_mediation_ended")

    @on_events(contracts.ClockColourChanged)
    def on_clock_colour_changed(self, events: list[tuple[uuid.UUID, contracts.ClockColourChanged]]) -> None:
        self._handle(events, R.CLOCK, "notification.on_clock_colour_changed")

    @on_events(contracts.OfficialCalendarMissing)
    def on_official_calendar_missing(self, events: list[tuple[uuid.UUID, contracts.OfficialCalendarMissing]]) -> None:
        """Tell the platform admins that next year's official schedule is missing (once: routing says it once)."""
        self._handle(events, R.CALENDAR_MISSING, "notification.on_official_calendar_missing")

    # supervision orders (督办): the unit ordered and the unit that sent it (rules.py)
    @on_events(contracts.SupervisionOrdered)
    def on_supervision_ordered(self, events: list[tuple[uuid.UUID, contracts.SupervisionOrdered]]) -> None:
        self._handle(events, R.SUPERVISION_ORDERED, "notification.on_supervision_ordered")

    @on_events(contracts.SupervisionAnswered)
    def on_supervision_answered(self, events: list[tuple[uuid.UUID, contracts.SupervisionAnswered]]) -> None:
        self._handle(events, R.SUPERVISION_ANSWERED, "notification.on_supervision_answered")

    @on_events(contracts.SupervisionAccepted)
    def on_supervision_accepted(self, events: list[tuple[uuid.UUID, contracts.SupervisionAccepted]]) -> None:
        self._handle(events, R.SUPERVISION_ACCEPTED, "notification.on_supervision_accepted")

    @on_events(contracts.SupervisionReturned)
    def on_supervision_returned(self, events: list[tuple[uuid.UUID, contracts.SupervisionReturned]]) -> None:
        self._handle(events, R.SUPERVISION_RETURNED, "notification.on_supervision_returned")

    @on_events(contracts.SupervisionMoved)
    def on_supervision_moved(self, events: list[tuple[uuid.UUID, contracts.SupervisionMoved]]) -> None:
        self._handle(events, R.SUPERVISION_MOVED, "notification.on_supervision_moved")

    def _handle(self, events: list[tuple[uuid.UUID, Any]], event_type: str, handler: str) -> None:
        """Learn, plan and record a batch of events in one transaction (a redelivered one changes
        nothing); send what is due after it committed."""
        claims: list[delivery.Claim] = []
        with self.db.transaction() as session:
            for event_id, event in self.db.first_deliveries(session, events, handler):
                facts = case_contacts.learn(session, event_type, event, delivery.now())
                if event_type == R.ROUTING_STEP:
                    reminders.track_handover(session, event)
                claims += delivery.record(self.db, session, event_id, event_type, event, facts)
                if event_type == R.CLOCK and event.clock == R.AGENCY_ACK_CLOCK and event.colour == "yellow":
                    claims += reminders.remind_on_yellow(self.db, session, event.complaint_id)
        delivery.send(self.db, self.channels, claims)

    # --- timers -----------------------------------------------------------------------------------------

    @timer(interval=delivery.DELIVERY_INTERVAL_SECONDS)
    def deliver_due(self) -> None:
        """Messages due: retries, SMS held over quiet hours, attempts whose lease ran out."""
        with self.db.read() as session:
            ids = delivery.due(session)
        delivery.deliver(self.db, self.channels, ids)

    @timer(interval=min(delivery.DELIVERY_INTERVAL_SECONDS * 2, reminders.AGENCY_REMINDER_SECONDS))
    def remind_agencies(self) -> None:
        """Reminders to agencies that have not acknowledged a handover (reminders.py)."""
        with self.db.transaction() as session:
            claims = reminders.remind_due(self.db, session)
        delivery.send(self.db, self.channels, claims)

    # --- the SMS provider's delivery reports ----------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def record_sms_receipts(self, body: str, timestamp: str | None, signature: str | None) -> dict[str, Any]:
        """The provider's delivery reports (receipts.py), verified with `SMS_SECRET` before anything
        in them is read: each receipt's outcome, in order (`delivered`, `failed`, `unchanged`,
        `ignored`, or `unknown` for an id that is none of our SMS)."""
        secret = self.channels.sms_secret
        if not secret:
            raise NotFound("this platform takes no SMS delivery reports: notification has no SMS_SECRET")
        if not verify_signature(secret, body.encode(), timestamp, signature):
            raise Unauthorized(
                "the signature does not verify: sign timestamp + '.' + body with the SMS secret "
                f"(HMAC-SHA256), and send a timestamp within {REPLAY_WINDOW_SECONDS} s of now"
            )
        now = delivery.now()
        found = receipts.parse(body, now)
        with self.db.transaction() as session:
            results = delivery.apply_receipts(self.db, session, found, now)
        log.info("SMS delivery reports: %s", ", ".join(r["outcome"] for r in results))
        return {"results": results}

    # --- RPC: the gateway -----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def messages_for(self, complaint_id: str) -> list[dict[str, Any]]:
        """Messages about one case and their states, without addresses (the caller checked the scope),
        each failed one with what the caller may do about it (follow_up.py)."""
        key = _uuid(complaint_id, "complaint_id")
        with self.db.read() as session:
            allowed = follow_up.may_follow_up(self.scope, session.get(CaseContact, key))
            rows = session.scalars(
                select(Message).where(Message.complaint_id == key).order_by(Message.created_at, Message.template)
            )
            return [{**views.message(m), "allowed_actions": follow_up.actions(m, allowed)} for m in rows]

    @rpc(expected_exceptions=EXPECTED)
    def resend_message(self, complaint_id: str, message_id: str) -> dict[str, Any]:
        """Resend a failed message (idempotent: again answers the same copy); the copy is tried at once."""
        key = _uuid(complaint_id, "complaint_id", NotFound)
        with self.db.transaction() as session:
            m = follow_up.find(session, self.scope, key, message_id)
            copy, event = follow_up.resend(session, m, self.scope, delivery.now())
            if event is not None:  # the copy is announced with the outcome of its attempt, like any message
                self.db.emit(session, event)
            copy_id = copy.id
        delivery.deliver(self.db, self.channels, [copy_id])
        with self.db.read() as session:
            return views.message(session.get(Message, copy_id))

    @rpc(expected_exceptions=EXPECTED)
    def told_otherwise(self, complaint_id: str, message_id: str, how: Any = None, note: Any = None) -> dict[str, Any]:
        """Record that the party of a failed message was told another way (idempotent)."""
        key = _uuid(complaint_id, "complaint_id", NotFound)
        with self.db.transaction() as session:
            m = follow_up.find(session, self.scope, key, message_id)
            event = follow_up.told_otherwise(session, m, self.scope, how, note, delivery.now())
            if event is not None:
                self.db.emit(session, event)
            return views.message(m)

    @rpc(expected_exceptions=EXPECTED)
    def inbox(self, unread_only: bool = False, limit: int = 50) -> dict[str, Any]:
        """The caller's inbox: items to the user and to the user's tenant, newest first, with the
        count of those the user has not read (each person reads a unit's items for themself)."""
        with self.db.read() as session:
            return views.inbox(session, self.scope, unread_only, limit)

    @rpc(expected_exceptions=EXPECTED)
    def mark_read(self, message_id: str) -> dict[str, Any]:
        """Mark an item read for the caller (a unit's item stays unread for the colleagues)."""
        reader = self.scope.user if self.scope else ""
        if not reader:
            raise Forbidden("an inbox item is read by a person: sign in with a staff account")
        with self.db.transaction() as session:
            m = session.scalar(
                select(Message).where(Message.id == _uuid(message_id, "id", NotFound), views.mine(self.scope))
            )
            if m is None:
                raise NotFound(f"no inbox item {message_id}")
            read = insert(InboxRead).values(message_id=m.id, reader=reader, read_at=delivery.now())
            session.execute(read.on_conflict_do_nothing())
            return views.inbox_items(session, [m], reader)[0]

    @rpc(expected_exceptions=EXPECTED)
    def set_contacts(self, complaint_id: str, contacts: dict[str, Any]) -> dict[str, Any]:
        """A party's contact recorded by the responsible unit's case staff (events carry no business
        phone or e-mail): later messages to that party use it."""
        key = _uuid(complaint_id, "complaint_id", NotFound)
        with self.db.transaction() as session:
            return case_contacts.record(session, self.scope, key, contacts, delivery.now())

    @rpc(expected_exceptions=EXPECTED)
    def templates(self, tenant: str | None = None) -> list[dict[str, Any]]:
        """Every template with the text that applies to `tenant` (default: the caller's) and where it comes from."""
        tenant = tenant or (self.scope.unit if self.scope else None)
        tenants.authorize(self.scope, tenant, admin=False)
        with self.db.read() as session:
            return views.templates(session, tenant)

    @rpc(expected_exceptions=EXPECTED)
    def put_template(self, tenant: str, name: str, text: str, subject: str | None = None) -> dict[str, Any]:
        tenants.authorize(self.scope, tenant, admin=True)
        check_override(name, subject, text)
        with self.db.transaction() as session:
            tenants.save_template(session, tenant, name, subject, text, self.scope.user, delivery.now())
        return {"tenant": tenant, "name": name, "subject": subject, "text": text}

    @rpc(expected_exceptions=EXPECTED)
    def preview_template(self, tenant: str, name: str, text: str, subject: str | None = None) -> dict[str, str]:
        """The proposed text as a message would read, with sample values; refused as a save would be."""
        tenants.authorize(self.scope, tenant, admin=True)
        return preview(name, subject, text)

    @rpc(expected_exceptions=EXPECTED)
    def delete_template(self, tenant: str, name: str) -> None:
        tenants.authorize(self.scope, tenant, admin=True)
        with self.db.transaction() as session:
            tenants.delete_template(session, tenant, name)

    @rpc(expected_exceptions=EXPECTED)
    def tenant_settings(self, tenant: str) -> dict[str, Any]:
        tenants.authorize(self.scope, tenant, admin=False)
        with self.db.read() as session:
            return views.settings(session, tenant)

    @rpc(expected_exceptions=EXPECTED)
    def update_tenant_settings(self, tenant: str, patch: Any) -> dict[str, Any]:
        tenants.authorize(self.scope, tenant, admin=True)
        tenant_settings.validate(patch)
        with self.db.transaction() as session:
            tenants.save_settings(session, tenant, patch, self.scope.user, delivery.now())
        return self.tenant_settings(tenant)

    # --- one-time codes (codes.py, docs/parties.md) ---------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def send_code(self, party: str, purpose: str, subject: str, client: str) -> dict[str, Any]:
        """Send a one-time code by SMS to the phone known for `party` on the case `subject` names
        (sign-in: the tracking number; confirm:<action>: the complaint id). Answers `{"sent": false}`
        when there is no such case or phone (the gateway answers alike), `{"retry_after": s}` when
        throttled, else `{"sent": true, "phone": <masked>}`."""
        now = delivery.now()
        with self.db.transaction() as session:
            known = case_contacts.party_phone(session, party, purpose, subject)
            if known is None:
                return {"sent": False}
            phone, complaint_id = known
            wait = codes.throttled(session, purpose, subject, phone, client, now)
            if wait is not None:
                return {"retry_after": wait}
            code = codes.issue(
                session,
                party=party,
                purpose=purpose,
                subject=subject,
                complaint_id=complaint_id,
                phone=phone,
                client=client,
                now=now,
            )
        # straight to the provider: the code is in no table and no service log line
        text = codes.sms_text(code, purpose)
        try:
            self.channels.sms.send(Outgoing(str(uuid.uuid4()), "sms", phone, "", text, confidential=True))
        except (TemporaryFailure, PermanentFailure) as exc:
            log.warning("a one-time code could not be sent: %s", exc)
            raise Conflict("短信发送失败，请一分钟后重新获取验证码") from None
        return {"sent": True, "phone": mask_phone(phone)}

    @rpc(expected_exceptions=EXPECTED)
    def invite_business(self, complaint_id: str) -> dict[str, Any]:
        """The responsible unit's case staff invite the business by SMS to sign in at the portal
        (its credit code and a code to the phone known for it)."""
        key = _uuid(complaint_id, "complaint_id", NotFound)
        with self.db.read() as session:
            phone, text = case_contacts.business_invitation(session, self.scope, key)
        self.channels.sms.send(Outgoing(str(uuid.uuid4()), "sms", phone, "", text))
        return {"sent": True, "phone": mask_phone(phone)}

    @rpc(expected_exceptions=EXPECTED)
    def verify_code(self, party: str, purpose: str, subject: str, code: str) -> dict[str, Any]:
        """`{"verification_id", "complaint_id", "phone": <masked>}` when `code` is the live code
        sent for exactly this party, purpose and subject (now used up), else `{"error",
        "message_zh", "tries_left"}`; the try is counted either way."""
        with self.db.transaction() as session:
            verdict = codes.verify(
                session, party=party, purpose=purpose, subject=subject, code=code, now=delivery.now()
            )
            if verdict.row is None:
                return verdict.problem()
            known = case_contacts.party_phone(session, party, purpose, subject)
            answer = {
                "verification_id": str(verdict.row.id),
                "complaint_id": str(verdict.row.complaint_id) if verdict.row.complaint_id else None,
                "phone": mask_phone(known[0]) if known else None,
            }
            if party == "business" and purpose == "sign_in":
                answer["cases"] = case_contacts.business_cases(session, subject)
            return answer

    @rpc
    def ping(self) -> dict[str, Any]:
        return {"service": self.name, "database": self.db.ping()}


def _uuid(value: str, field: str, error: type[Exception] = InvalidInput) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        if error is InvalidInput:
            raise InvalidInput.one(field, "not a valid id") from None
        raise error(f"no {field} {value}") from None
