"""A message's way out: recorded `queued` (or `failed` when no address is known), tried, then `sent`,
`delivered` or `failed`, retried with backoff in between.

A message is recorded in the handler's transaction. An inbox item is delivered as it is recorded
(the row is the item). A message due now to a channel outside is recorded claimed for its first
attempt, with a lease (`next_attempt_at` moved ahead), so after the commit the handler sends it
outside any transaction (channels.py) and records the outcome: two transactions a message. The
service's timer picks the rest (retries, SMS held over quiet hours, messages of a process that died
once their lease ran out) through the partial index on `next_attempt_at` of queued rows, claiming
each in a short transaction first. An attempt whose lease ran out meanwhile records nothing. See
docs/notification.md.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from common import metrics
from common.config import NotificationSettings
from common.contracts import MessageRecorded
from common.db import UnitOfWork
from services.notification import planning, receipts, tenants
from services.notification import rules as R
from services.notification import settings as tenant_settings
from services.notification.channels import Channels, Outgoing, PermanentFailure, TemporaryFailure
from services.notification.models import Message

log = logging.getLogger(__name__)

SERVICE = "notification"  # as the dead-letter metrics name it


_SETTINGS = NotificationSettings()
DELIVERY_INTERVAL_SECONDS = _SETTINGS.notification_delivery_interval_seconds
MAX_ATTEMPTS = _SETTINGS.notification_max_attempts
RETRY_BASE_SECONDS = _SETTINGS.notification_retry_base_seconds
RETRY_MAX_SECONDS = _SETTINGS.notification_retry_max_seconds
LEASE_SECONDS = _SETTINGS.notification_lease_seconds
BATCH = 100
# the messages announced to the case (`message.recorded.v1`): the acknowledgement, by which the
# 24-hour commitment is measured and which the public tracking page shows
ANNOUNCED_TEMPLATES = frozenset({"acknowledgement"})


def now() -> datetime:
    return datetime.now(UTC)


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with full jitter around it: base * 2^(n-1), times 0.5-1.5, capped."""
    rng = rng or random
    delay = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return timedelta(seconds=delay * (0.5 + rng.random()))


@dataclass(frozen=True)
class Claim:
    """A message claimed for an attempt: its lease runs until `next_attempt_at`."""

    message_id: uuid.UUID
    outgoing: Outgoing
    attempts: int


def record(
    db: UnitOfWork,
    session: Session,
    event_id: uuid.UUID,
    event_type: str,
    event: Any,
    facts: planning.CaseFacts,
) -> list[Claim]:
    """Record the messages the rules give: an inbox item delivered, a message due now claimed for its
    first attempt, one held over quiet hours queued, failed when no address is known; the claims."""
    settings_rows = tenants.settings_rows(session)
    agency = getattr(event, "agency_tenant", None) or getattr(event, "target", None) or facts.agency_tenant
    webhook_url = tenant_settings.effective(settings_rows, agency).get("webhook_url") or None
    at = now()
    claims: list[Claim] = []
    plans = planning.plan(event_type, event, facts, webhook_url)
    texts = tenants.overrides_for(session, [planned.recipient.tenant for planned in plans])
    for planned in plans:
        recipient, rule = planned.recipient, planned.rule
        effective = tenant_settings.effective(settings_rows, recipient.tenant)
        ctx = planning.context(event_type, event, facts, recipient)
        subject, body = tenants.render(rule.template, texts[recipient.tenant].get(rule.template), ctx)
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
            "payload": planning.payload(event_type, event, facts, recipient, subject, body)
            if planned.channel in (R.WEBHOOK, R.DOCKING)
            else None,
            "time_critical": rule.time_critical,
            "state": "queued",
            "attempts": 0,
            "created_at": at,
            "next_attempt_at": at,
        }
        if planned.address is None:
            message.update(
                state="failed",
                next_attempt_at=None,
                failed_at=at,
                last_error=f"no address known for the {recipient.role} on any of {', '.join(rule.channels)}",
            )
        elif planned.channel == R.INBOX:
            message.update(state="delivered", attempts=1, next_attempt_at=None, sent_at=at, delivered_at=at)
        elif planned.channel == R.SMS and not rule.time_critical:
            message["next_attempt_at"] = tenant_settings.next_allowed(at, effective.get("quiet_hours"))
        claimed = message["state"] == "queued" and message["next_attempt_at"] <= at
        if claimed:
            message.update(attempts=1, next_attempt_at=at + timedelta(seconds=LEASE_SECONDS))
        inserted = session.execute(
            insert(Message).values(**message).on_conflict_do_nothing().returning(Message.id)
        ).scalar()
        if inserted is None:  # this event already made this message
            continue
        if claimed:  # announced once, with the outcome of the attempt that follows
            secret = effective.get("webhook_secret") if planned.channel == R.WEBHOOK else None
            claims.append(Claim(inserted, _outgoing(message, secret), 1))
            continue
        if message["state"] == "failed":
            metrics.dead_lettered(SERVICE, f"delivery.{planned.channel}", "no_address")
        recorded(db, session, message, at)
    return claims


def _reader(message: dict[str, Any] | Message) -> Any:
    """`get(field)` of a message being recorded (a dict) or stored (a row)."""
    return message.get if isinstance(message, dict) else lambda k: getattr(message, k)


def _outgoing(message: dict[str, Any] | Message, secret: str | None) -> Outgoing:
    get = _reader(message)
    return Outgoing(
        id=str(get("id")),
        channel=get("channel"),
        address=get("recipient_address"),
        subject=get("subject") or "",
        body=get("body"),
        payload=get("payload"),
        secret=secret,
    )


def recorded(db: UnitOfWork, session: Session, message: dict[str, Any] | Message, at: datetime) -> None:
    """`message.recorded.v1` of a case's acknowledgement (intake stops the 24-hour clock on it and
    shows it on the public tracking page): when it settles (sent, delivered, failed) and when it
    waits (held over quiet hours, or retried after a first failed attempt); tried at once and
    settled, it is announced once. Other messages are not announced: every message and its state
    is notification's to answer (`messages_for`, the console's messages card)."""
    get = _reader(message)
    if get("complaint_id") is None or get("template") not in ANNOUNCED_TEMPLATES:
        return
    db.emit(
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


def due(session: Session, limit: int = BATCH) -> list[uuid.UUID]:
    """Messages due: retries, SMS held over quiet hours, attempts whose lease ran out."""
    return list(
        session.scalars(
            select(Message.id)
            .where(Message.state == "queued", Message.next_attempt_at <= now())
            .order_by(Message.next_attempt_at)
            .limit(limit)
        )
    )


def deliver(db: UnitOfWork, channels: Channels, ids: Iterable[uuid.UUID]) -> None:
    """Try each due message: claim it (a short transaction), then send it (`send`)."""
    for message_id in ids:
        try:
            with db.transaction() as session:
                claim = _claim(session, message_id, now())
        except Exception:  # the timer picks it up again
            log.exception("claiming message %s failed", message_id)
            continue
        if claim is not None:  # else not due, or claimed by another
            send(db, channels, [claim])


def send(db: UnitOfWork, channels: Channels, claims: Iterable[Claim]) -> None:
    for claim in claims:
        try:
            attempt(db, channels, claim)
        except Exception:  # the timer picks it up again once its lease ran out
            log.exception("delivery attempt of %s failed", claim.message_id)


def attempt(db: UnitOfWork, channels: Channels, claim: Claim) -> str | None:
    """One try of a claimed message: send, record the outcome; its state, or None when the lease ran
    out meanwhile and another attempt took over."""
    outgoing, attempts, message_id = claim.outgoing, claim.attempts, claim.message_id
    state, error, permanent = None, None, False
    try:
        state = channels.provider(outgoing.channel).send(outgoing)
    except PermanentFailure as exc:
        error, permanent = str(exc), True
    except TemporaryFailure as exc:
        error = str(exc)
    except Exception as exc:  # a provider bug must not lose the message: retried like a temporary failure
        error = f"{type(exc).__name__}: {exc}"
    with db.transaction() as session:
        return _settle(db, session, message_id, attempts, state, error, permanent, now())


def _claim(session: Session, message_id: uuid.UUID, at: datetime) -> Claim | None:
    m = session.scalar(
        select(Message)
        .where(Message.id == message_id, Message.state == "queued", Message.next_attempt_at <= at)
        .with_for_update(skip_locked=True)
    )
    if m is None:  # delivered, failed, not due, or claimed by another worker
        return None
    m.attempts += 1
    m.next_attempt_at = at + timedelta(seconds=LEASE_SECONDS)  # the lease: nobody else tries it meanwhile
    secret = None
    if m.channel == R.WEBHOOK:
        secret = tenant_settings.effective(tenants.settings_rows(session), m.unit_code).get("webhook_secret")
    return Claim(m.id, _outgoing(m, secret), m.attempts)


def _settle(
    db: UnitOfWork,
    session: Session,
    message_id: uuid.UUID,
    attempts: int,
    state: str | None,
    error: str | None,
    permanent: bool,
    done: datetime,
) -> str | None:
    m = session.get(Message, message_id, with_for_update=True)
    if m is None or m.state != "queued" or m.attempts != attempts:
        return None  # the lease ran out and another attempt took over
    if state is not None:
        m.state, m.sent_at, m.last_error, m.next_attempt_at = state, done, None, None
        if state == "delivered":
            m.delivered_at = done
        recorded(db, session, m, done)
    elif permanent or attempts >= MAX_ATTEMPTS:
        m.state, m.failed_at, m.next_attempt_at = "failed", done, None
        m.last_error = f"{'refused' if permanent else f'gave up after {attempts} attempts'}: {error}"[:1000]
        recorded(db, session, m, done)
        metrics.dead_lettered(SERVICE, f"delivery.{m.channel}", "refused" if permanent else "exhausted")
        log.warning("message %s (%s, %s) failed: %s", m.id, m.template, m.channel, m.last_error)
    else:
        retry_at = done + backoff(attempts)
        if m.channel == R.SMS and not m.time_critical:
            quiet = tenant_settings.effective(tenants.settings_rows(session), m.unit_code).get("quiet_hours")
            retry_at = tenant_settings.next_allowed(retry_at, quiet)
        m.next_attempt_at, m.last_error = retry_at, error[:1000] if error else None
        if attempts == 1:
            recorded(db, session, m, done)  # it waits now: the case history says so
    return m.state


def apply_receipts(db: UnitOfWork, session: Session, found: list[receipts.Receipt], at: datetime) -> list[dict]:
    """The SMS provider's delivery reports (verified): each receipt's outcome, in order (`delivered`,
    `failed`, `unchanged`, `ignored`, or `unknown` for an id that is none of our SMS)."""
    rows = {
        m.id: m
        for m in session.scalars(
            select(Message)
            .where(Message.id.in_({r.message_id for r in found}), Message.channel == R.SMS)
            .order_by(Message.id)  # one lock order for concurrent reports
            .with_for_update()
        )
    }
    results = []
    for receipt in found:
        m = rows.get(receipt.message_id)
        outcome = receipts.UNKNOWN if m is None else receipts.outcome(m.state, receipt.status)
        if outcome in (receipts.DELIVERED, receipts.FAILED):
            _report(db, session, m, receipt, at)
        results.append({"message_id": str(receipt.message_id), "outcome": outcome})
    return results


def _report(db: UnitOfWork, session: Session, m: Message, receipt: receipts.Receipt, at: datetime) -> None:
    reported = receipt.at or at
    m.next_attempt_at = None  # a queued message (its answer still on the way, or a retry) is settled
    if receipt.status == receipts.DELIVERED:
        m.state, m.delivered_at, m.sent_at = "delivered", reported, m.sent_at or reported
        m.failed_at, m.last_error = None, None
    else:
        m.state, m.failed_at = "failed", reported
        m.last_error = f"the SMS provider reported it undelivered: {receipt.error or 'no reason given'}"
        metrics.dead_lettered(SERVICE, f"delivery.{R.SMS}", "undelivered")
    recorded(db, session, m, at)
