"""From an event to the messages it causes: learn what the event tells about the case, find the
rules that fire, resolve each rule's recipient to addresses, build the reduced template context.

Pure functions over the event and the case knowledge (`CaseFacts`, a plain copy of the
`notification.cases` row); the service does the database work around them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from common import reference
from common.categories import ConsumerRequest, category, refusal_ground
from common.masking import mask_name
from common.reference import DEFAULT_REMEDY_ROUTES, REMEDY_ROUTES
from common.tenancy import Role
from services.notification import rules as R

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class NotYetKnown(Exception):
    """The case's contact was not learned yet (its earlier event is still on its way): retried by
    the failure policy (common/messaging.py)."""


@dataclass
class CaseFacts:
    """What notification knows about a case (the `notification.cases` row, detached)."""

    complaint_id: Any = None
    tracking_no: str | None = None
    category: str | None = None
    division_code: str | None = None
    complainant_name: str | None = None
    complainant_phone: str | None = None
    complainant_email: str | None = None
    business_name: str | None = None
    business_credit_code: str | None = None
    business_phone: str | None = None
    business_email: str | None = None
    unit_code: str | None = None
    unit_name: str | None = None
    unit_tier: str | None = None
    mediator: str | None = None
    agency_tenant: str | None = None

    FIELDS = (
        "tracking_no",
        "category",
        "division_code",
        "complainant_name",
        "complainant_phone",
        "complainant_email",
        "business_name",
        "business_credit_code",
        "business_phone",
        "business_email",
        "unit_code",
        "unit_name",
        "unit_tier",
        "mediator",
        "agency_tenant",
    )


def learned(event_type: str, event: Any) -> dict[str, Any]:
    """The case facts an event carries (only the ones it has; None is never written over a value)."""
    facts: dict[str, Any] = {}
    if event_type == R.RECEIVED:
        facts.update(_complaint(event), division_code=event.incident_division_code)
    elif event_type == R.ACCEPTED:
        facts.update(_complaint(event), **_unit(event.unit))
    elif event_type == R.REFUSED:
        facts.update(tracking_no=event.tracking_no, complainant_phone=event.complainant_phone, **_unit(event.unit))
    elif event_type == R.ROUTED:
        facts.update(_unit(event.unit))
    elif event_type == R.SETTLE_FIRST_OPENED:  # the business's verified contact, where its SMS goes
        facts.update(
            tracking_no=event.tracking_no,
            business_name=event.business_name,
            business_credit_code=event.business_credit_code,
            business_phone=event.business_phone,
            **_unit(event.unit),
        )
    elif event_type in (R.REASSIGNED, R.ESCALATED):
        facts.update(_unit(event.to_unit))
    elif event_type == R.ROUTING_STEP:
        facts.update(_unit(event.responsible_unit))
        if event.agency_tenant:
            facts["agency_tenant"] = event.agency_tenant
    elif event_type == R.TRANSITIONED:
        facts.update(_unit(event.unit))
        if event.mediator:
            facts["mediator"] = event.mediator
    elif event_type == R.ENDED:
        facts.update(_unit(event.unit))
    return {k: v for k, v in facts.items() if v is not None}


# the complaint and its parties, under the same names in a received and an accepted complaint
COMPLAINT_FACTS = (
    "tracking_no",
    "category",
    "complainant_name",
    "complainant_phone",
    "business_name",
    "business_credit_code",
)


def _complaint(event: Any) -> dict[str, Any]:
    return {name: getattr(event, name) for name in COMPLAINT_FACTS}


def _unit(unit: Any) -> dict[str, Any]:
    return {"unit_code": unit.code, "unit_name": unit.name, "unit_tier": unit.tier}


# --- recipients --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    role: str
    key: str  # Message.recipient_key: who, without an address
    addresses: dict[str, str]  # channel -> address (phone, e-mail, inbox key, URL, queue)
    tenant: str | None  # whose templates and settings apply
    addressee: str = ""  # how a party is greeted (masked name, business name)


@dataclass(frozen=True)
class Planned:
    rule: R.Rule
    recipient: Recipient
    channel: str
    address: str | None  # None: nobody knows where to send it (recorded as failed)


def inbox_key(tenant: str) -> str:
    return f"tenant:{tenant}"


def user_key(username: str) -> str:
    return f"user:{username}"


def role_key(role: str) -> str:
    """The inbox every holder of `role` reads (the platform admins': `role:platform_admin`)."""
    return f"role:{role}"


def docking_queue(agency_tenant: str) -> str:
    return f"agency.{agency_tenant}"


def _staff(role: str, key: str, tenant: str | None) -> Recipient:
    return Recipient(role, key, {R.INBOX: key}, tenant)


def recipients(rule: R.Rule, event_type: str, event: Any, case: CaseFacts, webhook_url: str | None) -> list[Recipient]:
    role = rule.recipient
    party_tenant = case.unit_code or case.division_code
    if role == R.COMPLAINANT:
        if not (case.complainant_phone or case.complainant_email):
            raise NotYetKnown(f"the complainant's contact for {case.complaint_id} is not known yet")
        addresses = {R.SMS: case.complainant_phone, R.EMAIL: case.complainant_email}
        return [
            Recipient(
                role,
                "complainant",
                {k: v for k, v in addresses.items() if v},
                party_tenant,
                mask_name(case.complainant_name or ""),
            )
        ]
    if role == R.BUSINESS:
        addresses = {R.SMS: case.business_phone, R.EMAIL: case.business_email}
        return [
            Recipient(
                role, "business", {k: v for k, v in addresses.items() if v}, party_tenant, case.business_name or ""
            )
        ]
    if role == R.UNIT_STAFF:
        code = _staff_unit(event_type, event)
        return [_staff(role, inbox_key(code), code)] if code else []
    if role == R.MEDIATOR:
        name = (getattr(event, "detail", None) or {}).get("mediator") or getattr(event, "mediator", None)
        return [_staff(role, user_key(name), event.unit.code)] if name else []
    if role == R.HANDLER:
        key = user_key(event.handler) if event.handler else inbox_key(event.unit.code)
        return [_staff(role, key, event.unit.code)]
    if role == R.SUPERVISOR:  # when the unit itself holds the case, HANDLER reached its inbox already
        return [_staff(role, inbox_key(event.unit.code), event.unit.code)] if event.handler else []
    if role == R.HIGHER_TIER:
        code = event.to_unit.code if event_type == R.ESCALATED else event.target
        return [_staff(role, inbox_key(code), code)] if code else []
    if role == R.ORDERED_UNIT:
        return [_staff(role, inbox_key(event.to_unit.code), event.to_unit.code)]
    if role == R.SUPERVISING_UNIT:  # an order's own events name it; its clock's red light too
        sender = event.supervisor if event_type == R.CLOCK else event.from_unit
        return [_staff(role, inbox_key(sender.code), sender.code)] if sender else []
    if role == R.WARNED_UNITS:
        codes = [c for c in (event.township_code, event.city_code) if c]
        return [_staff(role, inbox_key(c), c) for c in dict.fromkeys(codes)]
    if role == R.PLATFORM_ADMINS:
        return [_staff(role, role_key(Role.PLATFORM_ADMIN), None)]
    if role == R.AGENCY:
        tenant = getattr(event, "agency_tenant", None) or getattr(event, "target", None) or case.agency_tenant
        if not tenant:
            return []
        addresses = {R.INBOX: inbox_key(tenant), R.DOCKING: docking_queue(tenant)}
        if webhook_url:
            addresses[R.WEBHOOK] = webhook_url
        return [Recipient(role, f"agency:{tenant}", addresses, tenant)]
    raise ValueError(f"unknown recipient role {role!r}")


def _staff_unit(event_type: str, event: Any) -> str | None:
    if event_type == R.ROUTED:
        return event.unit.code
    if event_type == R.REASSIGNED:
        return event.to_unit.code
    if event_type == R.ESCALATED:  # take-over: the unit it was taken from
        return event.from_unit.code
    if event_type == R.ROUTING_STEP:
        return event.target
    return getattr(getattr(event, "unit", None), "code", None)


def plan(event_type: str, event: Any, case: CaseFacts, webhook_url: str | None = None) -> list[Planned]:
    planned: list[Planned] = []
    for rule in R.matching(event_type, event):
        for recipient in recipients(rule, event_type, event, case, webhook_url):
            if len(rule.channels) > 1:  # a preference list: the first channel with an address
                channel = next((c for c in rule.channels if c in recipient.addresses), rule.channels[0])
            else:
                channel = rule.channels[0]
            planned.append(Planned(rule, recipient, channel, recipient.addresses.get(channel)))
    return planned


# --- the template context: personal data reduced ------------------------------------------------------

CHANNEL_LABELS = {"in_person": "现场", "phone": "电话", "video": "视频"}
MODE_LABELS = {"joint": "双方当面调解", "single_party": "单方调解"}
OUTCOME_LABELS = {
    "agreement": "达成调解协议",
    "failed": "调解未达成协议，调解终止",
    "consent_refused": "一方不同意调解，调解终止",
    "withdrawn": "投诉人撤回投诉",
    "expired": "超过60日调解期限，调解终止",
    "agreement_breached": "调解协议未履行",
}
TERM_LABELS = {r.value: r.label_zh for r in ConsumerRequest}
TRIGGER_LABELS = {
    "tier_target_expired": "本级办理时限届满",
    "mediation_failed": "调解未成",
    "party_request": "当事人申请",
    "staff_request": "本级申请上交",
    "reclassified": "案情重新认定",
    "take_over": "上级提级办理",
}
CLOCK_LABELS = {
    "acknowledgement": "收到确认",
    "acceptance": "受理决定",
    "tier_target": "本级办理",
    "mediation": "调解",
    "mediation_end_notice": "调解结束告知",
    "agency_handover_ack": "部门签收",
    "authority_dispute": "管辖争议",
    "supervision": "督办",
}
PARTY_LABELS = {"complainant": "投诉人", "business": "经营者", "mediator": "调解员"}
JUDICIAL_DECISION_LABELS = {"confirmed": "裁定确认调解协议有效", "refused": "裁定不予确认"}
WARNING_LABELS = {"business": "同一经营者", "category": "同一类别"}


def _category_label(code: str | None) -> str:
    if not code:
        return ""
    try:
        return category(code).name_zh
    except KeyError:
        return code


def _local(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(LOCAL_TZ)
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value) if value is not None else ""


def context(event_type: str, event: Any, case: CaseFacts, recipient: Recipient) -> dict[str, Any]:
    """Everything a template may use, for one recipient. No phone, e-mail or full name ever: the
    complainant appears as a masked name (张*), staff by username, businesses by name."""
    masked = mask_name(case.complainant_name or "") or "投诉人"
    ctx: dict[str, Any] = {
        "tracking_no": case.tracking_no or "",
        "complaint_id": str(case.complaint_id or ""),
        "name": masked,
        "addressee": recipient.addressee or masked,
        "business_name": case.business_name or "",
        "unit_name": case.unit_name or "",
        "category": _category_label(case.category),
    }
    detail = getattr(event, "detail", None) or {}
    if event_type == R.SETTLE_FIRST_OPENED:
        ctx.update(window_deadline=_local(event.window_deadline))
    elif event_type == R.REFUSED:
        ctx.update(
            ground=_ground_label(event.ground), reason=event.reason.rstrip("。."), other_routes=event.other_routes
        )
    elif event_type == R.TRANSITIONED:
        ctx.update(
            scheduled_at=_local(detail.get("scheduled_at")),
            session_channel=CHANNEL_LABELS.get(detail.get("channel", ""), detail.get("channel", "")),
            session_mode=MODE_LABELS.get(detail.get("mode", ""), "调解"),
            terms=[
                {
                    "kind": TERM_LABELS.get(t.get("kind", ""), t.get("kind", "")),
                    "amount": t.get("amount") or "",
                    "deadline": t.get("deadline") or "",
                }
                for t in detail.get("terms") or []
            ],
            requested_by=PARTY_LABELS.get(detail.get("requested_by", ""), detail.get("requested_by", "")),
            court_name=detail.get("court_name") or "",
            ruling_no=detail.get("ruling_no") or "",
            judicial_decision=JUDICIAL_DECISION_LABELS.get(detail.get("decision", ""), ""),
        )
    elif event_type == R.ENDED:
        ctx.update(
            outcome=OUTCOME_LABELS.get(event.outcome, event.outcome),
            remedies=_remedies(event.remedies or DEFAULT_REMEDY_ROUTES),  # those the mediator chose
        )
    elif event_type == R.ROUTING_STEP:
        ctx.update(
            remedies=_remedies(event.remedy_routes or DEFAULT_REMEDY_ROUTES),
            from_unit=(event.previous_unit or event.responsible_unit).name,
            reason=str(event.inputs.get("reason") or ""),  # staff's own words, e.g. why a take-over was declined
            agency_name=str(event.inputs.get("agency_name") or event.agency_tenant or ""),
            agency_outcome=reference.AGENCY_OUTCOMES.get(str(event.inputs.get("outcome")), "已答复"),
            answer=str(event.inputs.get("answer") or ""),
        )
    elif event_type == R.ESCALATED:
        outcome = str(event.inputs.get("outcome") or "")  # passed up after mediation: how it ended there
        ctx.update(
            from_unit=event.from_unit.name,
            to_unit=event.to_unit.name,
            trigger=TRIGGER_LABELS.get(event.trigger, event.trigger),
            outcome=OUTCOME_LABELS.get(outcome, outcome),
            remedies=_remedies(event.inputs.get("remedies") or DEFAULT_REMEDY_ROUTES),
        )
    elif event_type == R.CLOCK:
        ctx.update(clock=CLOCK_LABELS.get(event.clock, event.clock), colour=event.colour, to_unit=event.unit.name)
    elif event_type in R.SUPERVISION_EVENTS:
        ctx.update(
            from_unit=event.from_unit.name,
            to_unit=event.to_unit.name,
            instruction=getattr(event, "instruction", ""),
            deadline=_local(getattr(event, "deadline", "")),
            reason=getattr(event, "reason", ""),
            previous_unit=event.previous_unit.name if event_type == R.SUPERVISION_MOVED else "",
        )
    elif event_type == R.EARLY_WARNING:
        ctx.update(
            warning_kind=WARNING_LABELS.get(event.kind, event.kind),
            key=event.key if event.kind == "business" else _category_label(event.key),
            count=event.count,
            threshold=event.threshold,
            window_days=event.window_days,
        )
    elif event_type == R.AGENCY_REMINDER:
        ctx.update(reminder=event.reminder)
    elif event_type == R.CALENDAR_MISSING:
        ctx.update(year=event.year)
    return ctx


def _remedies(codes: Any) -> str:
    return "、".join(REMEDY_ROUTES.get(c, c) for c in codes)


def _ground_label(code: str) -> str:
    try:
        return refusal_ground(code).label_zh
    except KeyError:
        return code


def payload(event_type: str, event: Any, case: CaseFacts, recipient: Recipient, subject: str, body: str) -> dict:
    """What an agency's systems receive (webhook body, docking queue message): the case reference,
    the category and the unit; the complainant only as a masked name. A mediation transition (the
    application for judicial confirmation) adds its action, its public detail and where the court
    fetches the application document and answers, with its API key."""
    extra: dict[str, Any] = {}
    if event_type == R.TRANSITIONED and case.complaint_id:
        base = f"/api/v1/complaints/{case.complaint_id}/mediation"
        extra = {
            "action": event.action,
            "detail": event.detail,
            "document": f"{base}/documents/judicial-application.html",
            "answer": f"{base}/judicial-confirmation/decision",
        }
    return extra | {
        "kind": event_type,
        "complaint_id": str(case.complaint_id) if case.complaint_id else None,
        "tracking_no": case.tracking_no,
        "category": case.category,
        "unit": {"code": case.unit_code, "name": case.unit_name, "tier": case.unit_tier},
        "agency": recipient.tenant,
        "complainant": {"name": mask_name(case.complainant_name or "")},
        "subject": subject,
        "text": body,
    }
