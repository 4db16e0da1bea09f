"""What mediation shows: a case as staff see it (masked unless they handle it), the list, what the
court applied to reads, the roster with each mediator's open cases. Pure views of the rows, and the
queries of the lists; the rules they show (allowed actions, judicial confirmation) are cases.py's."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import clocks
from common.clock_watch import DEFAULT_YELLOW_SHARE
from common.masking import mask_name, mask_phone
from common.tenancy import Scope, scope_clause
from services.mediation import cases, states
from services.mediation.cases import PARTIES, confirmations_needed, judicial, judicial_deadline, recovered, utcnow
from services.mediation.models import Case, MediationSession, Mediator, Step, Term


def shows_personal_data(case: Case, scope: Scope, *, single: bool) -> list[str]:
    return ["name", "phone"] if single and scope.handles(case.unit_code) else []


def parties(case: Case, scope: Scope, *, single: bool) -> dict[str, Any]:
    full = bool(shows_personal_data(case, scope, single=single))
    return {
        "complainant": {
            "name": case.complainant_name if full else mask_name(case.complainant_name),
            "phone": case.complainant_phone if full else mask_phone(case.complainant_phone),
        },
        "business": {"name": case.business_name, "credit_code": case.business_credit_code},
    }


def _clocks(case: Case, now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in case.clocks:
        data = clocks.to_dict(
            row.clock(), now, calendar=row.work_calendar(), yellow_share=row.yellow_share or DEFAULT_YELLOW_SHARE
        )
        data["pauses"] = row.pauses
        out[row.kind] = data
    return out


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


def _money(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def term_view(t: Term, today: Any) -> dict[str, Any]:
    return {
        "n": t.n,
        "kind": t.kind,
        "description": t.description,
        "amount": _money(t.amount),
        "deadline": t.deadline.isoformat(),
        "status": t.status,
        "overdue": t.status == "pending" and today > t.deadline,
        "followed_at": _iso(t.followed_at),
        "recovered_amount": _money(t.recovered_amount),
        "note": t.note,
    }


def session_view(s: MediationSession) -> dict[str, Any]:
    return {
        "n": s.number,
        "round": s.round,
        "mode": s.mode,
        "party": s.party,
        "channel": s.channel,
        "place": s.place,
        "scheduled_at": _iso(s.scheduled_at),
        "mediator": s.mediator,
        "held_at": _iso(s.held_at),
        "minutes": s.minutes,
        "statements": s.statements,
        "agreed": s.agreed,
        "confirmed_by": {p: _iso(getattr(s, f"{p}_confirmed_at")) for p in confirmations_needed(s)},
    }


def summary(case: Case, scope: Scope) -> dict[str, Any]:
    """A list entry: masked, no minutes."""
    return {
        "complaint_id": str(case.complaint_id),
        "tracking_no": case.tracking_no,
        "state": case.state,
        "outcome": case.outcome,
        "unit": {"code": case.unit_code, "name": case.unit_name, "tier": case.unit_tier},
        "category": case.category,
        "mediator": case.mediator,
        "parties": parties(case, scope, single=False),
        "accepted_at": case.accepted_at.isoformat(),
        "ended_at": _iso(case.ended_at),
        "updated_at": case.updated_at.isoformat(),
    }


def view(case: Case, scope: Scope, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    today = now.date()
    agreement = case.agreement
    read_only = scope.unit != case.unit_code
    return {
        **summary(case, scope),
        "parties": parties(case, scope, single=True),
        "claim_amount": _money(case.claim_amount),
        "round": case.round,
        "read_only": read_only,
        "consent": {
            "complainant": {"consented": True, "at": case.complainant_consent_at.isoformat(), "how": "implied"},
            "business": {
                "consented": case.business_consent,
                "at": _iso(case.business_consent_at),
                **(case.consent_detail.get("business") or {}),
            },
        },
        "clocks": _clocks(case, now),
        "assignments": [
            {
                "mediator": a.mediator,
                "at": a.assigned_at.isoformat(),
                "by": a.assigned_by,
                "reason": a.reason,
                "picked": a.picked,
                "ended_at": _iso(a.ended_at),
            }
            for a in case.assignments
        ],
        "recusals": [
            {
                "n": r.n,
                "mediator": r.mediator,
                "requested_by": r.requested_by,
                "reason": r.reason,
                "requested_at": r.requested_at.isoformat(),
                "decision": r.decision,
                "decided_by": r.decided_by,
                "decided_at": _iso(r.decided_at),
                "note": r.decision_note,
                "replacement": r.replacement,
            }
            for r in case.recusals
        ],
        "sessions": [session_view(s) for s in case.sessions],
        "agreement": None
        if agreement is None
        else {
            "version": agreement.version,
            "summary": agreement.summary,
            "judicial_confirmation": agreement.judicial_confirmation,
            "drafted_at": agreement.drafted_at.isoformat(),
            "drafted_by": agreement.drafted_by,
            "confirmed_by": {p: _iso(getattr(agreement, f"{p}_confirmed_at")) for p in PARTIES},
            "confirmed_at": _iso(agreement.confirmed_at),
            "terms": [term_view(t, today) for t in case.terms],
        },
        "recovered_amount": str(recovered(case)),
        "re_reviews": [
            {
                "requested_by": r.requested_by,
                "reason": r.reason,
                "requested_at": r.requested_at.isoformat(),
                "from_state": r.from_state,
                "previous_mediator": r.previous_mediator,
                "reviewer": r.reviewer,
                "decision": r.decision,
                "decided_at": _iso(r.decided_at),
            }
            for r in case.re_reviews
        ],
        "callbacks": [
            {
                "party": c.party,
                "score": c.score,
                "comments": c.comments,
                "channel": c.channel,
                "at": c.at.isoformat(),
                "by": c.by,
            }
            for c in case.callbacks
        ],
        "judicial": judicial(case),
        "judicial_deadline": _iso(judicial_deadline(case)),
        "remedies": list(case.remedies or []),
        "end_reason": case.end_reason,
        "end_notice": None if case.end_notice_at is None else {"at": case.end_notice_at.isoformat(), **case.end_notice},
        "allowed_actions": cases.allowed_actions(case, scope),
        "history": [
            {
                "at": s.at.isoformat(),
                "actor": s.actor,
                "action": s.action,
                "from": s.from_state,
                "to": s.to_state,
                "detail": s.detail,
            }
            for s in case.steps
        ],
    }


def court_view(case: Case, *, with_parties: bool = True) -> dict[str, Any]:
    """What the court applied to reads: the case reference, the parties (it rules on their
    agreement; the caller audits that read), the agreement and its terms, and where the
    application stands. A list leaves the parties out."""
    agreement = case.agreement
    view: dict[str, Any] = {
        "complaint_id": str(case.complaint_id),
        "tracking_no": case.tracking_no,
        "unit": {"code": case.unit_code, "name": case.unit_name, "tier": case.unit_tier},
        "category": case.category,
        "state": case.state,
        "agreement": None
        if agreement is None
        else {
            "summary": agreement.summary,
            "confirmed_at": _iso(agreement.confirmed_at),
            "terms": [term_view(t, utcnow().date()) for t in case.terms],
        },
        "judicial": judicial(case),
    }
    if with_parties:
        view["parties"] = {
            "complainant": {"name": case.complainant_name, "phone": case.complainant_phone},
            "business": {"name": case.business_name, "credit_code": case.business_credit_code},
        }
    return view


def mediator_view(member: Mediator, load: int) -> dict[str, Any]:
    return {
        "username": member.username,
        "unit": member.unit_code,
        "categories": list(member.categories or []),
        "active": member.active,
        "source": member.source,
        "open_cases": load,
        "updated_at": member.updated_at.isoformat(),
    }


def case_list(session: Session, scope: Scope, state: str | None, limit: int) -> list[dict[str, Any]]:
    """The cases the caller sees, the last changed first, masked."""
    query = select(Case).where(cases.visible(scope))
    if state:
        query = query.where(Case.state == state)
    found = session.scalars(query.order_by(Case.updated_at.desc()).limit(max(1, min(limit, 200))))
    return [summary(c, scope) for c in found]


def applications_to(session: Session, court: str, limit: int) -> list[dict[str, Any]]:
    """The applications for judicial confirmation made to `court`, newest first, without the parties."""
    query = (
        select(Case)
        .join(Step, Step.complaint_id == Case.complaint_id)
        .where(Step.action == states.APPLY_JUDICIAL_CONFIRMATION, Step.detail["court"].astext == court)
        .order_by(Step.at.desc())
        .limit(max(1, min(limit, 200)))
    )
    return [court_view(case, with_parties=False) for case in session.scalars(query).unique()]


def roster(session: Session, scope: Scope, unit: str | None) -> list[dict[str, Any]]:
    """The mediators of the caller's units (or of `unit`) with their open cases."""
    query = select(Mediator).where(scope_clause(Mediator.unit_code, scope))
    if unit:
        query = query.where(Mediator.unit_code == unit)
    members = session.scalars(query.order_by(Mediator.unit_code, Mediator.username)).all()
    load: dict[str, int] = {}
    for code in {m.unit_code for m in members}:
        load.update(cases.loads(session, code))
    return [mediator_view(m, load.get(m.username, 0)) for m in members]
