"""Escalation (上交): passing a case up, on request, on reclassification, on a take-over, when
mediation failed, when the tier target ran out, and the collective rule's group move; beyond the
top the case ends with the remedy routes. What a red light means (`on_clock_red`) is here too."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import categories
from common.clocks import ClockKind
from common.contracts import ClockColourChanged, Contract, MediationEnded
from common.divisions import lineage
from common.errors import Conflict, Forbidden, InvalidInput
from common.reference import REMEDY_ROUTES
from common.tenancy import Scope
from services.routing import lights
from services.routing.facts import category_flags, facts_from_json
from services.routing.handovers import agency_handover_lapsed, contest_expired
from services.routing.models import Assignment, Handover, Signal, TierClock
from services.routing.moves import (
    ABOVE,
    ACTIVE,
    AGENCY_ACK,
    AUTHORITY_DISPUTE,
    END_AT_TOP,
    ESCALATE,
    PASS_UP,
    RECLASSIFY,
    RESPONSIBLE,
    SYSTEM,
    TAKE_OVER,
    authorize,
    by_the_responsible_unit,
    enter,
    load,
    make_responsible,
    need_role,
    record_step,
    transition,
)
from services.routing.rules import TIER_RANK, Decision, escalation_target, required_tier, territory
from services.routing.tree import DivisionTree

PARTY_TRIGGERS = ("party_request", "staff_request")


def collective_moves(
    session: Session,
    tree: DivisionTree,
    complaint_id: uuid.UUID,
    decision: Decision,
    credit: str | None,
    window_days: int,
    now: datetime,
) -> list[Contract]:
    """The collective rule fired for this complaint: the whole group is one collective dispute, so
    the complaints against the same business within the window still worked below the decided unit
    (in its subtree) go up to it too (trigger `reclassified`, rule `tier.collective`, the reason in
    each case's history). A complaint in a handover, with an agency or ended stays where it is."""
    fired = next((f for f in decision.inputs.get("tier_rules", ()) if f["rule"] == "tier.collective"), None)
    if fired is None or not credit:
        return []
    to = decision.unit
    group = session.scalars(
        select(Signal.complaint_id)
        .where(
            Signal.credit_code == credit,
            Signal.received_at >= now - timedelta(days=window_days),
            Signal.complaint_id != complaint_id,
        )
        .order_by(Signal.complaint_id)  # one locking order for concurrent deciders
    ).all()
    if not group:
        return []
    below = session.scalars(
        select(Assignment)
        .where(
            Assignment.complaint_id.in_(group),
            Assignment.state == ACTIVE,
            Assignment.unit_code.startswith(to.code, autoescape=True),
            Assignment.unit_code != to.code,
        )
        .order_by(Assignment.complaint_id)
        .with_for_update()
    ).all()
    reason = (
        f"群体性纠纷：{window_days}日内{fired['complainants']}名投诉人投诉同一经营者"
        f"（达到{fired['threshold']}人），整组由{to.name}办理"
    )
    events: list[Contract] = []
    for a in below:
        if TIER_RANK[a.tier] >= TIER_RANK[to.tier]:
            continue
        inputs = {"rule": "tier.collective", "tier_rules": [fired], "required_tier": to.tier, "with": str(complaint_id)}
        events += escalate(
            session, tree, a, "reclassified", actor=SYSTEM, reason=reason, now=now, to=to.code, inputs=inputs
        )
    return events


def escalate(
    session: Session,
    tree: DivisionTree,
    a: Assignment,
    trigger: str,
    *,
    actor: str,
    reason: str = "",
    now: datetime,
    to: str | None = None,
    inputs: dict[str, Any] | None = None,
) -> list[Contract]:
    """Pass the case up (上交): to `to`, else the nearest onboarded unit above. Beyond the top the case
    ends with the remedy routes. The lower unit keeps a read-only view (intake's case_viewers)."""
    transition(a, PASS_UP)
    inputs = {"trigger": trigger, "reason": reason, **(inputs or {})}
    target = tree.units.get(to) if to else escalation_target(a.unit_code, tree.units)
    for request in session.scalars(
        select(Handover).where(
            Handover.complaint_id == a.complaint_id, Handover.kind == "takeover", Handover.state == "pending"
        )
    ):
        request.state, request.resolved_at, request.resolved_by = "accepted" if target else "cancelled", now, actor
        inputs["takeover_requested_by"] = request.from_unit
    if target is None:
        enter(a, END_AT_TOP)
        lights.stop_tier_clock(session, a.complaint_id, now)
        inputs["top"] = a.unit_code
        inputs["remedy_routes"] = list(inputs.get("remedies") or REMEDY_ROUTES)  # those the mediator chose
        rule = f"top.{trigger}"[:40]
        return [record_step(session, tree, a, "ended_at_top", rule=rule, inputs=inputs, actor=actor, at=now)]
    enter(a, PASS_UP)
    a.inputs = inputs
    rule = f"escalated.{trigger}"[:40]
    step = make_responsible(session, tree, a, target.code, "escalated", rule=rule, inputs=inputs, actor=actor, now=now)
    return [step]


def request_escalation(
    session: Session,
    tree: DivisionTree,
    scope: Scope | None,
    complaint_id: uuid.UUID,
    trigger: str,
    reason: str,
    *,
    now: datetime,
) -> list[Contract]:
    """A party asks (party_request, recorded by staff) or staff ask (提请上一级, staff_request)."""
    if trigger not in PARTY_TRIGGERS:
        raise InvalidInput.one("trigger", f"expected one of {', '.join(PARTY_TRIGGERS)}")
    caller, a = by_the_responsible_unit(session, scope, complaint_id, ESCALATE, "passes a case up")
    return escalate(session, tree, a, trigger, actor=caller.user, reason=reason, now=now)


def reclassify(
    session: Session,
    tree: DivisionTree,
    scope: Scope | None,
    complaint_id: uuid.UUID,
    *,
    claim_amount: Any = None,
    category: str | None = None,
    reason: str = "",
    now: datetime,
) -> tuple[bool, list[Contract]]:
    """The case turned out bigger: new amount or category. When the tier rules now need a higher
    tier than the case is at, it goes up (trigger `reclassified`); else the new facts are recorded."""
    caller, a = by_the_responsible_unit(session, scope, complaint_id, RECLASSIFY, "reclassifies a case")
    if claim_amount is None and category is None:
        raise InvalidInput.one("body", "give claim_amount, category or both")
    data = dict(a.facts or {})
    if not data:
        raise Conflict("not possible now: the case was routed before routing kept its facts")
    changed: dict[str, Any] = {}
    if claim_amount is not None:
        try:
            amount = Decimal(str(claim_amount))
        except InvalidOperation as exc:
            raise InvalidInput.one("claim_amount", "expected a number") from exc
        if amount < 0:
            raise InvalidInput.one("claim_amount", "must be at least 0")
        changed["claim_amount"] = str(amount)
    if category is not None:
        known = [c.code for c in categories.CATEGORIES]
        if category not in known:
            raise InvalidInput.one("category", f"unknown category; known: {', '.join(known)}")
        safety, _agency = category_flags(category)
        changed.update(category=category, safety_related=safety)
    data.update(changed)
    facts = facts_from_json(data)
    place, _, _ = territory(facts)
    territorial = tree.lowest_unit(place) or tree.units.get(a.unit_code)
    policy = tree.policy_for(territorial.code) if territorial else tree.policy_for(a.unit_code)
    tier, fired = required_tier(facts, place, policy)
    a.facts = data
    inputs = {"changed": changed, "tier_rules": fired, "required_tier": tier, "tier": a.tier}
    if tier is not None and TIER_RANK[tier] > TIER_RANK[a.tier]:
        target = next(
            (
                tree.units[c]
                for c in lineage(a.unit_code)[1:]
                if c in tree.units and TIER_RANK[tree.units[c].tier] >= TIER_RANK[tier]
            ),
            None,
        )
        if target is None:
            target = escalation_target(a.unit_code, tree.units)
        rule = next(f["rule"] for f in fired if f["tier"] == tier)
        return True, escalate(
            session,
            tree,
            a,
            "reclassified",
            actor=caller.user,
            reason=reason,
            now=now,
            to=target.code if target else None,
            inputs={**inputs, "rule": rule},
        )
    rule = "reclassified.same_tier"
    return False, [record_step(session, tree, a, "reclassified", rule=rule, inputs=inputs, actor=caller.user, at=now)]


def take_over(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, reason: str, *, now: datetime
) -> list[Contract]:
    """A higher unit takes a case over from a unit below it (on its own or on that unit's request)."""
    a = load(session, complaint_id)
    caller, seen = authorize(session, a, scope)
    if seen == RESPONSIBLE:
        raise Conflict("not possible now: your unit is already responsible for it")
    if seen != ABOVE or caller.unit not in tree.units:
        raise Forbidden("only an onboarded unit above the responsible unit takes a case over")
    need_role(caller, TAKE_OVER)
    transition(a, TAKE_OVER)
    return escalate(session, tree, a, "take_over", actor=caller.user, reason=reason, now=now, to=caller.unit)


def on_mediation_ended(session: Session, tree: DivisionTree, ended: MediationEnded, now: datetime) -> list[Contract]:
    """Mediation at the responsible unit failed (or asks to escalate): pass the case up, with the
    outcome and the remedy routes the parties were told of (the complainant's one message says both,
    docs/notification.md). A mediation of a unit the case has already left, or a case not active,
    changes nothing."""
    if not (ended.escalate or ended.outcome == "failed"):
        return []
    a = session.get(Assignment, ended.complaint_id, with_for_update=True)
    if a is None:
        raise LookupError(f"mediation ended for unknown complaint {ended.complaint_id}; waits for its routing")
    if a.unit_code != ended.unit.code or a.state != ACTIVE:
        return []
    inputs = {"outcome": ended.outcome, "escalate": ended.escalate, "mediation_ended_at": ended.ended_at.isoformat()}
    if ended.remedies:
        inputs["remedies"] = list(ended.remedies)
    return escalate(session, tree, a, "mediation_failed", actor="system:mediation", now=now, inputs=inputs)


# --- red lights (the clock watcher, services/routing/service.py) ---------------------------------------


def on_clock_red(session: Session, tree: DivisionTree, change: ClockColourChanged, now: datetime) -> list[Contract]:
    """A clock of routing's turned red; the watcher calls this in the transaction that reports it
    (and counts the breach), so what the red light means happens exactly once:

    - `tier_target`: the case goes up (trigger `tier_target_expired`);
    - `agency_handover_ack`: the agency handover lapses; the unit that handed it over must act;
    - `authority_dispute`: `contest_expired`, the deciding unit must decide now.

    The case is locked without waiting: when a move holds it, the watcher's batch rolls back and the
    next pass sees the clock again (after the move, which may have stopped or restarted it)."""
    a = session.get(Assignment, change.complaint_id, with_for_update={"nowait": True}, populate_existing=True)
    if change.clock == ClockKind.TIER_TARGET.value:
        return _tier_target_expired(session, tree, a, now)
    if change.clock == AGENCY_ACK:
        return agency_handover_lapsed(session, tree, a, now)
    if change.clock == AUTHORITY_DISPUTE:
        return contest_expired(session, tree, a, now)
    return []


def _tier_target_expired(session: Session, tree: DivisionTree, a: Assignment | None, now: datetime) -> list[Contract]:
    clock = session.get(TierClock, a.complaint_id) if a is not None else None
    if a is None or clock is None:
        return []
    if a.state != ACTIVE:  # in a handover, with an agency, ended: the target no longer applies
        lights.stop_tier_clock(session, a.complaint_id, now)
        return []
    if a.unit_code != clock.unit_code:  # moved before offboarding restarted the clock: start afresh
        lights.start_tier_clock(session, tree, a.complaint_id, a.unit_code, a.tier, now)
        return []
    inputs = {"deadline": clock.deadline.isoformat(), "working_days": clock.working_days, "tier": clock.tier}
    return escalate(session, tree, a, "tier_target_expired", actor="system:clock", now=now, inputs=inputs)
