"""Notification entrypoints: turn events into messages to people (rules.py), record each with its
state, deliver after the recording transaction committed, retry with backoff, and answer the
gateway (a case's messages, the staff inbox, tenant templates and settings, party contacts).

Delivery: a message is recorded `queued` in the handler's transaction (with `message.recorded.v1`);
after the commit the handler tries it at once; a nameko timer picks the rest (retries, SMS held over
quiet hours, messages of a process that died) through the partial index on `next_attempt_at` of
queued rows. An attempt claims its row with a lease (`next_attempt_at` moved ahead) in a short
transaction, sends outside any transaction, then records the outcome. See docs/notification.md.
"""

from __future__ import annotations

import logging
import os
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from common import metrics, reference
from common.contracts import (
    CaseEscalated,
    CaseReassigned,
    CaseRoutingStep,
    ClockColourChanged,
    ComplaintAccepted,
    ComplaintReceived,
    ComplaintRefused,
    ComplaintRouted,
    EarlyWarningRaised,
    MediationEnded,
    MediationTransitioned,
    MessageRecorded,
    OfficialCalendarMissing,
    SettleFirstOpened,
    SupervisionAccepted,
    SupervisionAnswered,
    SupervisionMoved,
    SupervisionOrdered,
    SupervisionReturned,
)
from common.db import Database
from common.errors import EXPECTED, Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from common.masking import mask_phone
from common.messaging import on_event
from common.telemetry import Telemetry
from common.tenancy import CurrentScope, Role, Scope, parse_tenant
from services.notification import codes, follow_up, planner, receipts
from services.notification import rules as R
from services.notification import settings as tenant_settings
from services.notification.delivery import (
    REPLAY_WINDOW_SECONDS,
    Channels,
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
    verify_signature,
)
from services.notification.models import (
    AgencyHandover,
    CaseContact,
    Inbox,
    InboxRead,
    Message,
    Outbox,
    TemplateOverride,
    TenantSetting,
)
from services.notification.templates import TEMPLATES, check_override, placeholders, preview, render

log = logging.getLogger(__name__)


def _float_env(name: str, default: str) -> float:
    return float(os.environ.get(name, default))


DELIVERY_INTERVAL_SECONDS = _float_env("NOTIFICATION_DELIVERY_INTERVAL_SECONDS", "1")
MAX_ATTEMPTS = int(_float_env("NOTIFICATION_MAX_ATTEMPTS", "6"))
RETRY_BASE_SECONDS = _float_env("NOTIFICATION_RETRY_BASE_SECONDS", "30")
RETRY_MAX_SECONDS = _float_env("NOTIFICATION_RETRY_MAX_SECONDS", "3600")
LEASE_SECONDS = _float_env("NOTIFICATION_LEASE_SECONDS", "60")
AGENCY_REMINDER_SECONDS = _float_env("AGENCY_REMINDER_SECONDS", "86400")
AGENCY_MAX_REMINDERS = int(_float_env("AGENCY_MAX_REMINDERS", "3"))
BATCH = 100
REMINDER_NAMESPACE = uuid.UUID("6f1d3c2a-8b7e-4f60-9a51-2c4d8e9f0a17")
ADMIN_ROLES = frozenset({Role.TENANT_ADMIN, Role.PLATFORM_ADMIN})


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with full jitter around it: base * 2^(n-1), times 0.5-1.5, capped."""
    rng = rng or random
    delay = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return timedelta(seconds=delay * (0.5 + rng.random()))


@dataclass(frozen=True)
class AgencyReminder:
    """Raised by notification's own timer while an agency has not acknowledged a handover."""

    complaint_id: uuid.UUID
    agency_tenant: str
    reminder: int


class ChannelsProvider(DependencyProvider):
    def setup(self) -> None:
        self.channels = Channels({"AMQP_URI": self.container.config["AMQP_URI"]})

    def get_dependency(self, worker_ctx) -> Channels:
        return self.channels


def _now() -> datetime:
    return datetime.now(UTC)


class NotificationService:
    name = "notification"

    db = Database(Outbox, Inbox)
    telemetry = Telemetry()  # traces, handler metrics, /metrics (common/telemetry.py)
    scope = CurrentScope()
    channels = ChannelsProvider()

    # --- events ---------------------------------------------------------------------------------------

    @on_event(ComplaintReceived)
    def on_complaint_received(self, event_id: uuid.UUID, event: ComplaintReceived) -> None:
        """Acknowledge receipt to the complainant (the 24-hour commitment; intake runs its clock)."""
        self._handle(event_id, R.RECEIVED, event, "notification.on_complaint_received")

    @on_event(ComplaintRouted)
    def on_complaint_routed(self, event_id: uuid.UUID, event: ComplaintRouted) -> None:
        self._handle(event_id, R.ROUTED, event, "notification.on_complaint_routed")

    @on_event(ComplaintAccepted)
    def on_complaint_accepted(self, event_id: uuid.UUID, event: ComplaintAccepted) -> None:
        self._handle(event_id, R.ACCEPTED, event, "notification.on_complaint_accepted")

    @on_event(ComplaintRefused)
    def on_complaint_refused(self, event_id: uuid.UUID, event: ComplaintRefused) -> None:
        self._handle(event_id, R.REFUSED, event, "notification.on_complaint_refused")

    @on_event(SettleFirstOpened)
    def on_settle_first_opened(self, event_id: uuid.UUID, event: SettleFirstOpened) -> None:
        """Tell the business a complaint waits for its answer (settle-first lane)."""
        self._handle(event_id, R.SETTLE_FIRST_OPENED, event, "notification.on_settle_first_opened")

    @on_event(CaseReassigned)
    def on_case_reassigned(self, event_id: uuid.UUID, event: CaseReassigned) -> None:
        self._handle(event_id, R.REASSIGNED, event, "notification.on_case_reassigned")

    @on_event(CaseEscalated)
    def on_case_escalated(self, event_id: uuid.UUID, event: CaseEscalated) -> None:
        self._handle(event_id, R.ESCALATED, event, "notification.on_case_escalated")

    @on_event(CaseRoutingStep)
    def on_routing_step(self, event_id: uuid.UUID, event: CaseRoutingStep) -> None:
        self._handle(event_id, R.ROUTING_STEP, event, "notification.on_routing_step")

    @on_event(EarlyWarningRaised)
    def on_early_warning(self, event_id: uuid.UUID, event: EarlyWarningRaised) -> None:
        self._handle(event_id, R.EARLY_WARNING, event, "notification.on_early_warning")

    @on_event(MediationTransitioned)
    def on_mediation_transitioned(self, event_id: uuid.UUID, event: MediationTransitioned) -> None:
        self._handle(event_id, R.TRANSITIONED, event, "notification.on_mediation_transitioned")

    @on_event(MediationEnded)
    def on_mediation_ended(self, event_id: uuid.UUID, event: MediationEnded) -> None:
        self._handle(event_id, R.ENDED, event, "notification.on_mediation_ended")

    @on_event(ClockColourChanged)
    def on_clock_colour_changed(self, event_id: uuid.UUID, event: ClockColourChanged) -> None:
        self._handle(event_id, R.CLOCK, event, "notification.on_clock_colour_changed")

    @on_event(OfficialCalendarMissing)
    def on_official_calendar_missing(self, event_id: uuid.UUID, event: OfficialCalendarMissing) -> None:
        """Tell the platform admins that next year's official schedule is missing (once: routing says it once)."""
        self._handle(event_id, R.CALENDAR_MISSING, event, "notification.on_official_calendar_missing")

    # supervision orders (督办): the unit ordered and the unit that sent it (rules.py)
    @on_event(SupervisionOrdered)
    def on_supervision_ordered(self, event_id: uuid.UUID, event: SupervisionOrdered) -> None:
        self._handle(event_id, R.SUPERVISION_ORDERED, event, "notification.on_supervision_ordered")

    @on_event(SupervisionAnswered)
    def on_supervision_answered(self, event_id: uuid.UUID, event: SupervisionAnswered) -> None:
        self._handle(event_id, R.SUPERVISION_ANSWERED, event, "notification.on_supervision_answered")

    @on_event(SupervisionAccepted)
    def on_supervision_accepted(self, event_id: uuid.UUID, event: SupervisionAccepted) -> None:
        self._handle(event_id, R.SUPERVISION_ACCEPTED, event, "notification.on_supervision_accepted")

    @on_event(SupervisionReturned)
    def on_supervision_returned(self, event_id: uuid.UUID, event: SupervisionReturned) -> None:
        self._handle(event_id, R.SUPERVISION_RETURNED, event, "notification.on_supervision_returned")

    @on_event(SupervisionMoved)
    def on_supervision_moved(self, event_id: uuid.UUID, event: SupervisionMoved) -> None:
        self._handle(event_id, R.SUPERVISION_MOVED, event, "notification.on_supervision_moved")

    def _handle(self, event_id: uuid.UUID, event_type: str, event: Any, handler: str) -> bool:
        """Learn, plan and record in one transaction; deliver after it committed. False for a redelivery."""
        with self.db.transaction() as session:
            if not self.db.first_delivery(session, event_id, handler):
                return False
            facts = self._learn(session, event_type, event)
            if event_type == R.ROUTING_STEP:
                self._track_agency_handover(session, event)
            due = self._record(session, event_id, event_type, event, facts)
            if event_type == R.CLOCK and event.clock == R.AGENCY_ACK_CLOCK and event.colour == "yellow":
                due += self._remind_on_yellow(session, event.complaint_id)
        self._deliver(due)
        return True

    def _learn(self, session: Session, event_type: str, event: Any) -> planner.CaseFacts:
        complaint_id = getattr(event, "complaint_id", None)
        if complaint_id is None:
            return planner.CaseFacts()
        # two events of one case may arrive at once (received and routed): the row exists before the lock
        session.execute(insert(CaseContact).values(complaint_id=complaint_id).on_conflict_do_nothing())
        row = session.get(CaseContact, complaint_id, with_for_update=True, populate_existing=True)
        for key, value in planner.learned(event_type, event).items():
            setattr(row, key, value)
        row.updated_at = _now()
        session.flush()
        return _facts(row)

    def _track_agency_handover(self, session: Session, event: CaseRoutingStep) -> None:
        tenant = event.agency_tenant or event.target
        if event.step == "agency_handover_requested" and tenant:
            session.execute(
                insert(AgencyHandover)
                .values(
                    complaint_id=event.complaint_id,
                    agency_tenant=tenant,
                    requested_at=event.at,
                    reminders=0,
                    next_reminder_at=_now() + timedelta(seconds=AGENCY_REMINDER_SECONDS),
                )
                .on_conflict_do_update(
                    index_elements=[AgencyHandover.complaint_id, AgencyHandover.agency_tenant],
                    set_={
                        "requested_at": event.at,
                        "acknowledged_at": None,
                        "reminders": 0,
                        "next_reminder_at": _now() + timedelta(seconds=AGENCY_REMINDER_SECONDS),
                    },
                )
            )
        elif event.step == "agency_acknowledged" or event.step in reference.AGENCY_RELEASING_STEPS:  # no more reminders
            for row in session.scalars(
                select(AgencyHandover).where(
                    AgencyHandover.complaint_id == event.complaint_id, AgencyHandover.acknowledged_at.is_(None)
                )
            ):
                if event.step == "agency_acknowledged":
                    row.acknowledged_at = event.at
                row.next_reminder_at = None

    def _record(
        self, session: Session, event_id: uuid.UUID, event_type: str, event: Any, facts: planner.CaseFacts
    ) -> list[uuid.UUID]:
        """Record the messages the rules give (queued, or failed when no address is known); the ids due now."""
        settings_rows = _settings_rows(session)
        agency = getattr(event, "agency_tenant", None) or getattr(event, "target", None) or facts.agency_tenant
        webhook_url = tenant_settings.effective(settings_rows, agency).get("webhook_url") or None
        now = _now()
        due: list[uuid.UUID] = []
        for planned in planner.plan(event_type, event, facts, webhook_url):
            recipient, rule = planned.recipient, planned.rule
            effective = tenant_settings.effective(settings_rows, recipient.tenant)
            ctx = planner.context(event_type, event, facts, recipient)
            subject, body = _render(session, rule.template, recipient.tenant, ctx)
            message = {
                "id": uuid.uuid4(),
                "event_id": event_id,
                "event_type": event_type,
                "complaint_id": facts.complaint_id,
                "unit_code": recipient.tenant,
                "template": rule.template,
                "channel": planned.channel,
                "recipient_role": recipient.role,
                "recipient_key": recipient.key,
                "recipient_address": planned.address or "",
                "subject": subject,
                "body": body,
                "payload": planner.payload(event_type, event, facts, recipient, subject, body)
                if planned.channel in (R.WEBHOOK, R.DOCKING)
                else None,
                "time_critical": rule.time_critical,
                "state": "queued",
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
            if planned.address is None:
                message.update(
                    state="failed",
                    next_attempt_at=None,
                    failed_at=now,
                    last_error=f"no address known for the {recipient.role} on any of {', '.join(rule.channels)}",
                )
            elif planned.channel == R.SMS and not rule.time_critical:
                message["next_attempt_at"] = tenant_settings.next_allowed(now, effective.get("quiet_hours"))
            inserted = session.execute(
                insert(Message).values(**message).on_conflict_do_nothing().returning(Message.id)
            ).scalar()
            if inserted is None:  # this event already made this message
                continue
            if message["state"] == "failed":
                metrics.dead_lettered(self.name, f"delivery.{planned.channel}", "no_address")
            elif message["next_attempt_at"] <= now:
                due.append(inserted)
            self._recorded(session, message, now)
        return due

    def _recorded(self, session: Session, message: dict[str, Any] | Message, at: datetime) -> None:
        """`message.recorded.v1` (intake keeps the case history from it): at recording and at the outcome."""
        get = message.get if isinstance(message, dict) else lambda k: getattr(message, k)
        if get("complaint_id") is None:
            return
        self.db.emit(
            session,
            MessageRecorded(
                message_id=get("id"),
                complaint_id=get("complaint_id"),
                template=get("template"),
                channel=get("channel"),
                recipient_role=get("recipient_role"),
                state=get("state"),
                recorded_at=at,
            ),
        )

    # --- delivery -------------------------------------------------------------------------------------

    def _deliver(self, ids: list[uuid.UUID]) -> None:
        for message_id in ids:
            try:
                self._attempt(message_id)
            except Exception:  # the timer picks it up again once its lease ran out
                log.exception("delivery attempt of %s failed", message_id)

    def _attempt(self, message_id: uuid.UUID) -> str | None:
        now = _now()
        with self.db.transaction() as session:
            m = session.scalar(
                select(Message)
                .where(Message.id == message_id, Message.state == "queued", Message.next_attempt_at <= now)
                .with_for_update(skip_locked=True)
            )
            if m is None:  # delivered, failed, not due, or claimed by another worker
                return None
            m.attempts += 1
            m.next_attempt_at = now + timedelta(seconds=LEASE_SECONDS)  # the lease: nobody else tries it meanwhile
            secret = None
            if m.channel == R.WEBHOOK:
                secret = tenant_settings.effective(_settings_rows(session), m.unit_code).get("webhook_secret")
            outgoing = Outgoing(
                id=str(m.id),
                channel=m.channel,
                address=m.recipient_address,
                subject=m.subject or "",
                body=m.body,
                payload=m.payload,
                secret=secret,
            )
            attempts, time_critical, unit_code = m.attempts, m.time_critical, m.unit_code
        state, error, permanent = None, None, False
        try:
            state = self.channels.provider(outgoing.channel).send(outgoing)
        except PermanentFailure as exc:
            error, permanent = str(exc), True
        except TemporaryFailure as exc:
            error = str(exc)
        except Exception as exc:  # a provider bug must not lose the message: retried like a temporary failure
            error = f"{type(exc).__name__}: {exc}"
        done = _now()
        with self.db.transaction() as session:
            m = session.get(Message, message_id, with_for_update=True)
            if m is None or m.state != "queued" or m.attempts != attempts:
                return None  # the lease ran out and another attempt took over
            if state is not None:
                m.state, m.sent_at, m.last_error, m.next_attempt_at = state, done, None, None
                if state == "delivered":
                    m.delivered_at = done
                self._recorded(session, m, done)
            elif permanent or attempts >= MAX_ATTEMPTS:
                m.state, m.failed_at, m.next_attempt_at = "failed", done, None
                m.last_error = f"{'refused' if permanent else f'gave up after {attempts} attempts'}: {error}"[:1000]
                self._recorded(session, m, done)
                metrics.dead_lettered(self.name, f"delivery.{m.channel}", "refused" if permanent else "exhausted")
                log.warning("message %s (%s, %s) failed: %s", m.id, m.template, m.channel, m.last_error)
            else:
                retry_at = done + backoff(attempts)
                if m.channel == R.SMS and not time_critical:
                    quiet = tenant_settings.effective(_settings_rows(session), unit_code).get("quiet_hours")
                    retry_at = tenant_settings.next_allowed(retry_at, quiet)
                m.next_attempt_at, m.last_error = retry_at, error[:1000] if error else None
            return m.state

    @timer(interval=DELIVERY_INTERVAL_SECONDS)
    def deliver_due(self) -> None:
        """Messages due: retries, SMS held over quiet hours, attempts whose lease ran out."""
        with self.db.read() as session:
            ids = list(
                session.scalars(
                    select(Message.id)
                    .where(Message.state == "queued", Message.next_attempt_at <= _now())
                    .order_by(Message.next_attempt_at)
                    .limit(BATCH)
                )
            )
        self._deliver(ids)

    @timer(interval=min(DELIVERY_INTERVAL_SECONDS * 2, AGENCY_REMINDER_SECONDS))
    def remind_agencies(self) -> None:
        """Reminders to agencies that have not acknowledged a handover, every AGENCY_REMINDER_SECONDS,
        at most AGENCY_MAX_REMINDERS times."""
        due: list[uuid.UUID] = []
        with self.db.transaction() as session:
            rows = session.scalars(
                select(AgencyHandover)
                .where(AgencyHandover.acknowledged_at.is_(None), AgencyHandover.next_reminder_at <= _now())
                .order_by(AgencyHandover.next_reminder_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                due += self._remind(session, row)
        self._deliver(due)

    def _remind(self, session: Session, row: AgencyHandover) -> list[uuid.UUID]:
        """Record the next reminder of an unacknowledged agency handover; the ids due now."""
        row.reminders += 1
        more = row.reminders < AGENCY_MAX_REMINDERS
        row.next_reminder_at = _now() + timedelta(seconds=AGENCY_REMINDER_SECONDS) if more else None
        reminder = AgencyReminder(row.complaint_id, row.agency_tenant, row.reminders)
        event_id = uuid.uuid5(REMINDER_NAMESPACE, f"{row.complaint_id}:{row.agency_tenant}:{row.reminders}")
        case = session.get(CaseContact, row.complaint_id)
        facts = _facts(case) if case is not None else planner.CaseFacts(complaint_id=row.complaint_id)
        return self._record(session, event_id, R.AGENCY_REMINDER, reminder, facts)

    def _remind_on_yellow(self, session: Session, complaint_id: uuid.UUID) -> list[uuid.UUID]:
        """The agency's acknowledgement clock turned yellow (routing's watcher): remind the agency now,
        as the timer's next reminder (one counter, the timer's next one a full interval later), unless
        the timer reminded it within the last half interval or its reminders are used up."""
        due: list[uuid.UUID] = []
        rows = session.scalars(
            select(AgencyHandover)
            .where(AgencyHandover.complaint_id == complaint_id, AgencyHandover.acknowledged_at.is_(None))
            .with_for_update()
        ).all()
        interval = timedelta(seconds=AGENCY_REMINDER_SECONDS)
        for row in rows:
            if row.next_reminder_at is None:  # used up, or the handover lapsed
                continue
            last_sent = row.next_reminder_at - interval if row.reminders else None
            if last_sent is not None and _now() - last_sent < interval / 2:
                continue
            due += self._remind(session, row)
        return due

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
        now = _now()
        found = receipts.parse(body, now)
        results = []
        with self.db.transaction() as session:
            rows = {
                m.id: m
                for m in session.scalars(
                    select(Message)
                    .where(Message.id.in_({r.message_id for r in found}), Message.channel == R.SMS)
                    .order_by(Message.id)  # one lock order for concurrent reports
                    .with_for_update()
                )
            }
            for receipt in found:
                m = rows.get(receipt.message_id)
                outcome = receipts.UNKNOWN if m is None else receipts.outcome(m.state, receipt.status)
                if outcome in (receipts.DELIVERED, receipts.FAILED):
                    self._report(session, m, receipt, now)
                results.append({"message_id": str(receipt.message_id), "outcome": outcome})
        log.info("SMS delivery reports: %s", ", ".join(r["outcome"] for r in results))
        return {"results": results}

    def _report(self, session: Session, m: Message, receipt: receipts.Receipt, now: datetime) -> None:
        at = receipt.at or now
        m.next_attempt_at = None  # a queued message (its answer still on the way, or a retry) is settled
        if receipt.status == receipts.DELIVERED:
            m.state, m.delivered_at, m.sent_at = "delivered", at, m.sent_at or at
            m.failed_at, m.last_error = None, None
        else:
            m.state, m.failed_at = "failed", at
            m.last_error = f"the SMS provider reported it undelivered: {receipt.error or 'no reason given'}"
            metrics.dead_lettered(self.name, f"delivery.{R.SMS}", "undelivered")
        self._recorded(session, m, now)

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
            return [{**_message_view(m), "allowed_actions": follow_up.actions(m, allowed)} for m in rows]

    @rpc(expected_exceptions=EXPECTED)
    def resend_message(self, complaint_id: str, message_id: str) -> dict[str, Any]:
        """Resend a failed message (idempotent: again answers the same copy); the copy is tried at once."""
        key = _uuid(complaint_id, "complaint_id", NotFound)
        with self.db.transaction() as session:
            m = follow_up.find(session, self.scope, key, message_id)
            copy, event = follow_up.resend(session, m, self.scope, _now())
            if event is not None:
                self.db.emit(session, event)
                session.flush()
                self._recorded(session, copy, copy.created_at)
            copy_id = copy.id
        self._deliver([copy_id])
        with self.db.read() as session:
            return _message_view(session.get(Message, copy_id))

    @rpc(expected_exceptions=EXPECTED)
    def told_otherwise(self, complaint_id: str, message_id: str, how: Any = None, note: Any = None) -> dict[str, Any]:
        """Record that the party of a failed message was told another way (idempotent)."""
        key = _uuid(complaint_id, "complaint_id", NotFound)
        with self.db.transaction() as session:
            m = follow_up.find(session, self.scope, key, message_id)
            event = follow_up.told_otherwise(session, m, self.scope, how, note, _now())
            if event is not None:
                self.db.emit(session, event)
            return _message_view(m)

    @rpc(expected_exceptions=EXPECTED)
    def inbox(self, unread_only: bool = False, limit: int = 50) -> dict[str, Any]:
        """The caller's inbox: items to the user and to the user's tenant, newest first, with the
        count of those the user has not read (each person reads a unit's items for themself)."""
        mine, reader = _mine(self.scope), self.scope.user if self.scope else ""
        unread_by_me = ~select(InboxRead.message_id).where(_read_by(reader)).exists()
        with self.db.read() as session:
            unread = session.scalar(select(func.count()).where(mine, unread_by_me)) or 0
            query = select(Message).where(mine)
            if unread_only:
                query = query.where(unread_by_me)
            rows = session.scalars(query.order_by(Message.created_at.desc()).limit(max(1, min(limit, 200)))).all()
            return {"unread": unread, "items": _inbox_views(session, rows, reader)}

    @rpc(expected_exceptions=EXPECTED)
    def mark_read(self, message_id: str) -> dict[str, Any]:
        """Mark an item read for the caller (a unit's item stays unread for the colleagues)."""
        reader = self.scope.user if self.scope else ""
        if not reader:
            raise Forbidden("an inbox item is read by a person: sign in with a staff account")
        with self.db.transaction() as session:
            m = session.scalar(
                select(Message).where(Message.id == _uuid(message_id, "id", NotFound), _mine(self.scope))
            )
            if m is None:
                raise NotFound(f"no inbox item {message_id}")
            session.execute(
                insert(InboxRead).values(message_id=m.id, reader=reader, read_at=_now()).on_conflict_do_nothing()
            )
            return _inbox_views(session, [m], reader)[0]

    @rpc(expected_exceptions=EXPECTED)
    def set_contacts(self, complaint_id: str, contacts: dict[str, Any]) -> dict[str, Any]:
        """A party's contact recorded by the responsible unit's case staff (events carry no business
        phone or e-mail): later messages to that party use it."""
        key = _uuid(complaint_id, "complaint_id", NotFound)
        allowed = {"business_phone", "business_email", "complainant_email"}
        unknown = set(contacts) - allowed
        if unknown:
            raise InvalidInput.one(sorted(unknown)[0], "unknown field; known: " + ", ".join(sorted(allowed)))
        with self.db.transaction() as session:
            row = session.get(CaseContact, key, with_for_update=True)
            if row is None or row.unit_code is None:
                raise Conflict("the case is not routed to a unit yet; try again in a moment")
            if self.scope is None or not self.scope.handles(row.unit_code):
                raise Forbidden("only the responsible unit's case staff record a party's contact")
            for field, value in contacts.items():
                setattr(row, field, value or None)
            row.updated_at = _now()
            return {
                "business_phone": bool(row.business_phone),
                "business_email": bool(row.business_email),
                "complainant_email": bool(row.complainant_email),
            }

    @rpc(expected_exceptions=EXPECTED)
    def templates(self, tenant: str | None = None) -> list[dict[str, Any]]:
        """Every template with the text that applies to `tenant` (default: the caller's) and where it comes from."""
        tenant = tenant or (self.scope.unit if self.scope else None)
        _authorize(self.scope, tenant, admin=False)
        with self.db.read() as session:
            overrides = _overrides(session, tenant)
        result = []
        for name, template in TEMPLATES.items():
            own = overrides.get(name)
            result.append(
                {
                    "name": name,
                    "description": template.description,
                    "subject": own.subject or template.subject if own else template.subject,
                    "text": own.text if own else template.text,
                    "source": own.tenant_code if own else "default",
                    "default": {"subject": template.subject, "text": template.text},
                    "placeholders": placeholders(template),
                }
            )
        return result

    @rpc(expected_exceptions=EXPECTED)
    def put_template(self, tenant: str, name: str, text: str, subject: str | None = None) -> dict[str, Any]:
        _authorize(self.scope, tenant, admin=True)
        check_override(name, subject, text)
        with self.db.transaction() as session:
            values = {"subject": subject, "text": text, "updated_by": self.scope.user, "updated_at": _now()}
            session.execute(
                insert(TemplateOverride)
                .values(tenant_code=tenant, template=name, **values)
                .on_conflict_do_update(
                    index_elements=[TemplateOverride.tenant_code, TemplateOverride.template], set_=values
                )
            )
        return {"tenant": tenant, "name": name, "subject": subject, "text": text}

    @rpc(expected_exceptions=EXPECTED)
    def preview_template(self, tenant: str, name: str, text: str, subject: str | None = None) -> dict[str, str]:
        """The proposed text as a message would read, with sample values; refused as a save would be."""
        _authorize(self.scope, tenant, admin=True)
        return preview(name, subject, text)

    @rpc(expected_exceptions=EXPECTED)
    def delete_template(self, tenant: str, name: str) -> None:
        _authorize(self.scope, tenant, admin=True)
        with self.db.transaction() as session:
            row = session.get(TemplateOverride, (tenant, name))
            if row is None:
                raise NotFound(f"{tenant} has no own text of {name}")
            session.delete(row)

    @rpc(expected_exceptions=EXPECTED)
    def tenant_settings(self, tenant: str) -> dict[str, Any]:
        _authorize(self.scope, tenant, admin=False)
        with self.db.read() as session:
            rows = _settings_rows(session)
        own = rows.get(tenant) or {}
        return {
            "tenant": tenant,
            "own": tenant_settings.public(own),
            "effective": tenant_settings.public(tenant_settings.effective(rows, tenant)),
        }

    @rpc(expected_exceptions=EXPECTED)
    def update_tenant_settings(self, tenant: str, patch: Any) -> dict[str, Any]:
        _authorize(self.scope, tenant, admin=True)
        tenant_settings.validate(patch)
        with self.db.transaction() as session:
            row = session.get(TenantSetting, tenant, with_for_update=True)
            merged = tenant_settings.merge(row.settings if row else {}, patch)
            if row is None:
                row = TenantSetting(tenant_code=tenant)
                session.add(row)
            row.settings, row.updated_by, row.updated_at = merged, self.scope.user, _now()
        return self.tenant_settings(tenant)

    # --- one-time codes (codes.py, docs/parties.md) ---------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def send_code(self, party: str, purpose: str, subject: str, client: str) -> dict[str, Any]:
        """Send a one-time code by SMS to the phone known for `party` on the case `subject` names
        (sign-in: the tracking number; confirm:<action>: the complaint id). Answers `{"sent": false}`
        when there is no such case or phone (the gateway answers alike), `{"retry_after": s}` when
        throttled, else `{"sent": true, "phone": <masked>}`."""
        now = _now()
        with self.db.transaction() as session:
            known = _party_phone(session, party, purpose, subject)
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
            row = session.get(CaseContact, key)
            if row is None or row.unit_code is None:
                raise Conflict("the case is not routed to a unit yet; try again in a moment")
            if self.scope is None or not self.scope.handles(row.unit_code):
                raise Forbidden("only the responsible unit's case staff invite the business")
            known = _party_phone(session, "business", "confirm", str(key))
            if known is None or not row.business_credit_code:
                raise Conflict(
                    "no phone is known for the business: record it first (PUT /api/v1/complaints/{id}/contacts)"
                )
            text = (
                f"【消费纠纷调解】{row.business_name or '贵单位'}：有消费者就一件消费纠纷（编号 {row.tracking_no}）"
                f"向{row.unit_name or '调解组织'}投诉贵单位。请凭统一社会信用代码和短信验证码登录 "
                f"{os.environ.get('PORTAL_URL', '/business/')} 查看并回应。"
            )
        self.channels.sms.send(Outgoing(str(uuid.uuid4()), "sms", known[0], "", text))
        return {"sent": True, "phone": mask_phone(known[0])}

    @rpc(expected_exceptions=EXPECTED)
    def verify_code(self, party: str, purpose: str, subject: str, code: str) -> dict[str, Any]:
        """`{"verification_id", "complaint_id", "phone": <masked>}` when `code` is the live code
        sent for exactly this party, purpose and subject (now used up), else `{"error",
        "message_zh", "tries_left"}`; the try is counted either way."""
        with self.db.transaction() as session:
            verdict = codes.verify(session, party=party, purpose=purpose, subject=subject, code=code, now=_now())
            if verdict.row is None:
                return verdict.problem()
            known = _party_phone(session, party, purpose, subject)
            answer = {
                "verification_id": str(verdict.row.id),
                "complaint_id": str(verdict.row.complaint_id) if verdict.row.complaint_id else None,
                "phone": mask_phone(known[0]) if known else None,
            }
            if party == "business" and purpose == "sign_in":
                answer["cases"] = _business_cases(session, subject)
            return answer

    @rpc
    def ping(self) -> dict[str, Any]:
        return {"service": self.name, "database": self.db.ping()}


# --- helpers ---------------------------------------------------------------------------------------------


def _facts(row: CaseContact) -> planner.CaseFacts:
    return planner.CaseFacts(complaint_id=row.complaint_id, **{k: getattr(row, k) for k in planner.CaseFacts.FIELDS})


def _settings_rows(session: Session) -> dict[str, dict[str, Any]]:
    """Every tenant's own settings: few rows (only tenants that changed something)."""
    return {
        code: settings for code, settings in session.execute(select(TenantSetting.tenant_code, TenantSetting.settings))
    }


def _overrides(session: Session, tenant: str | None) -> dict[str, TemplateOverride]:
    """The override of each template that applies to `tenant`: the most specific up its chain."""
    codes = tenant_settings.chain(tenant)
    found: dict[str, TemplateOverride] = {}
    if not codes:
        return found
    rows = session.scalars(select(TemplateOverride).where(TemplateOverride.tenant_code.in_(codes)))
    for row in sorted(rows, key=lambda r: len(r.tenant_code)):
        found[row.template] = row  # longer codes (nearer the tenant) come later and win
    return found


def _render(session: Session, name: str, tenant: str | None, ctx: dict[str, Any]) -> tuple[str, str]:
    template = TEMPLATES[name]
    override = _overrides(session, tenant).get(name)
    if override is not None:
        try:
            return render(template, ctx, (override.subject, override.text))
        except Exception:  # checked when saved; a context change must not stop the message
            log.warning("override of %s by %s failed to render; using the default", name, override.tenant_code)
    return render(template, ctx)


def _party_phone(session: Session, party: str, purpose: str, subject: str) -> tuple[str, uuid.UUID | None] | None:
    """The phone the platform knows for `party` on what `subject` names (sign-in: the tracking
    number, or the business's credit code; confirm: the complaint id), and the case if one."""
    if purpose == "sign_in" and party == "business":
        return _business_phone(session, subject)
    if purpose == "sign_in":
        row = session.scalars(select(CaseContact).where(CaseContact.tracking_no == subject)).first()
    else:
        try:
            row = session.get(CaseContact, uuid.UUID(subject))
        except ValueError:
            return None
    if row is None:
        return None
    if party == "business" and not row.business_phone and row.business_credit_code:
        # a phone staff recorded on an earlier case of the same business
        known = _business_phone(session, row.business_credit_code)
        return (known[0], row.complaint_id) if known else None
    phone = row.complainant_phone if party == "complainant" else row.business_phone
    return (phone, row.complaint_id) if phone else None


def _business_phone(session: Session, credit_code: str) -> tuple[str, None] | None:
    """The business phone staff recorded most recently on any case of this business."""
    phone = session.scalar(
        select(CaseContact.business_phone)
        .where(CaseContact.business_credit_code == credit_code, CaseContact.business_phone.is_not(None))
        .order_by(CaseContact.updated_at.desc().nulls_last())
        .limit(1)
    )
    return (phone, None) if phone else None


def _business_cases(session: Session, credit_code: str) -> list[dict[str, str]]:
    """The cases against this business that notification knows of (accepted or filed)."""
    rows = session.execute(
        select(CaseContact.complaint_id, CaseContact.tracking_no).where(CaseContact.business_credit_code == credit_code)
    ).all()
    return [{"complaint_id": str(key), "tracking_no": number} for key, number in rows]


def _uuid(value: str, field: str, error: type[Exception] = InvalidInput) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        if error is InvalidInput:
            raise InvalidInput.one(field, "not a valid id") from None
        raise error(f"no {field} {value}") from None


def _inbox_keys(scope: Scope | None) -> list[str]:
    if scope is None or not scope.valid:
        return []
    keys = [planner.inbox_key(scope.unit)]
    if scope.user:
        keys.append(planner.user_key(scope.user))
    if Role.PLATFORM_ADMIN in scope.roles:
        keys.append(planner.role_key(Role.PLATFORM_ADMIN))
    return keys


def _authorize(scope: Scope | None, tenant: str | None, *, admin: bool) -> None:
    """Reading: any staff whose scope covers the tenant; changing: its tenant admins (or a unit
    above's), platform admins. Outside the scope: 404 like a tenant that does not exist."""
    if scope is None or not scope.valid or not tenant or parse_tenant(tenant) is None:
        raise NotFound(f"no tenant {tenant}")
    covered = tenant == scope.unit or (not scope.is_agency and tenant.startswith(scope.unit))
    if not covered:
        raise NotFound(f"no tenant {tenant}")
    if admin and not scope.roles & ADMIN_ROLES:
        raise Forbidden("changing notification templates and settings needs tenant_admin")


def _message_view(m: Message) -> dict[str, Any]:
    return {
        "id": str(m.id),
        "template": m.template,
        "channel": m.channel,
        "recipient_role": m.recipient_role,
        "state": m.state,
        "attempts": m.attempts,
        "time_critical": m.time_critical,
        "reason": m.last_error if m.state in ("failed", "queued") else None,
        "created_at": m.created_at.isoformat(),
        "next_attempt_at": m.next_attempt_at.isoformat() if m.next_attempt_at and m.state == "queued" else None,
        "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        "delivered_at": m.delivered_at.isoformat() if m.delivered_at else None,
        "failed_at": m.failed_at.isoformat() if m.failed_at else None,
        # issue 16: failed deliveries marked, and how staff followed them up (follow_up.py)
        "state_label": reference.MESSAGE_STATES.get(m.state, m.state),
        "failed": m.state == "failed",
        "resent_from": str(m.resent_from) if m.resent_from else None,
        "resent_as": str(m.resent_as) if m.resent_as else None,
        "told_otherwise": m.told_otherwise,
    }


def _mine(scope: Scope | None) -> ColumnElement[bool]:
    """Inbox items to the caller or the caller's tenant."""
    return (
        (Message.channel == R.INBOX)
        & Message.recipient_address.in_(_inbox_keys(scope))
        & (Message.state == "delivered")
    )


def _read_by(reader: str) -> ColumnElement[bool]:
    return (InboxRead.message_id == Message.id) & (InboxRead.reader == reader)


def _inbox_views(session: Session, rows: Sequence[Message], reader: str) -> list[dict[str, Any]]:
    """Items as the caller sees them: `read_at` is the caller's, `read_by` who has read it so far."""
    readers: dict[uuid.UUID, list[InboxRead]] = {}
    if rows:
        reads = session.scalars(
            select(InboxRead).where(InboxRead.message_id.in_([m.id for m in rows])).order_by(InboxRead.read_at)
        )
        for read in reads:
            readers.setdefault(read.message_id, []).append(read)
    views = []
    for m in rows:
        mine = next((r.read_at for r in readers.get(m.id, []) if r.reader == reader), None)
        views.append(
            {
                "id": str(m.id),
                "template": m.template,
                "subject": m.subject,
                "body": m.body,
                "complaint_id": str(m.complaint_id) if m.complaint_id else None,
                "to": m.recipient_address,
                "time_critical": m.time_critical,
                "created_at": m.created_at.isoformat(),
                "read_at": mine.isoformat() if mine else None,
                "read_by": [r.reader for r in readers.get(m.id, [])],
            }
        )
    return views
