"""Deciding and moving cases: plain functions over a session and the division tree (no broker). Each
returns the events it causes; the service emits them through its outbox in the same transaction.

States of a case (`routing.assignments.state`):

| state | meaning | leaves it by |
|---|---|---|
| `active` | the responsible unit works it | escalation, return, take-over |
| `handover_pending` | handed to another unit; the first receiver stays responsible (首接责任制) | accept, contest |
| `contested` | the target contests, or a returned case points back | the common higher unit decides (Art 33) |
| `agency_pending` | handed to an agency (谁主管，谁负责); the unit stays responsible | acknowledge, answer, hand back |
| `with_agency` | the agency acknowledged; it answers (and keeps it) | hand back (agencies.py) |
| `ended` | passed beyond the city, the top: the parties are told the remedy routes | - |

Who may act (the caller's `Scope`): staff of the responsible unit holding `supervisor`; the unit a
case is handed to with `supervisor` or `intake_clerk` accepts it (contesting needs `supervisor`);
the agency's staff acknowledge; a higher unit's `supervisor` takes over or decides authority. A case
the caller cannot see answers NotFound; a unit that only keeps a read-only view (it passed the case
up) or another wrong role answers Forbidden; the wrong state answers Conflict with the reason.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from common.clocks import ClockKind
from common.contracts import (
    CaseEscalated,
    CaseRoutingStep,
    ClockColourChanged,
    ComplaintReceived,
    ComplaintRouted,
    Contract,
    EarlyWarningRaised,
    MediationEnded,
)
from common.contracts import Unit as UnitData
from common.divisions import lineage
from common.errors import Conflict, Forbidden, InvalidInput, NotFound
from common.tenancy import Role, Scope
from services.routing import lights, registry
from services.routing.models import (
    Assignment,
    CaseClock,
    CaseStep,
    Handover,
    RaisedWarning,
    Signal,
    TierClock,
)
from services.routing.rules import (
    REMEDY_ROUTES,
    TIER_RANK,
    Decision,
    Facts,
    common_higher_unit,
    escalation_target,
    required_tier,
    territory,
)
from services.routing.tree import DivisionTree

ACTIVE, HANDOVER_PENDING, CONTESTED = "active", "handover_pending", "contested"
AGENCY_PENDING, WITH_AGENCY, ENDED = "agency_pending", "with_agency", "ended"
CONTEST_WORKING_DAYS = lights.AUTHORITY_DISPUTE.amount  # Art 33
AGENCY_ACK = ClockKind.AGENCY_HANDOVER_ACK.value
AUTHORITY_DISPUTE = ClockKind.AUTHORITY_DISPUTE.value
SUPERVISOR = frozenset({Role.SUPERVISOR})
ACCEPTORS = frozenset({Role.SUPERVISOR, Role.INTAKE_CLERK})
AGENCY_STAFF = frozenset({Role.AGENCY_LIAISON, Role.SUPERVISOR, Role.INTAKE_CLERK})
PARTY_TRIGGERS = ("party_request", "staff_request")
SYSTEM = "system:routing"


class TreeStale(RuntimeError):
    """The onboarded units under lock differ from the in-memory tree: reload it and decide again."""


# --- facts ----------------------------------------------------------------------------------------


def category_flags(code: str) -> tuple[bool, str | None]:
    """(safety_related, agency type) of an intake category code; unknown codes have neither.
    The categories are data (services/intake/categories.py); routing reads them, never intake's tables."""
    from services.intake.categories import CATEGORIES

    found = next((c for c in CATEGORIES if c.code == code), None)
    return (found.safety_related, found.agency) if found else (False, None)


def facts_of(event: ComplaintReceived, collective: int = 0) -> Facts:
    """What a decision reads from `complaint.received.v1`. Fields intake may or may not send are read
    with defaults: business_registered_division_code, business_operating_division_code,
    is_platform_shop, platform_division_code, complainant_division_code, and the category flags
    (`safety_related`, `agency`) when the event carries them, else from the category list."""
    safety, agency = category_flags(event.category)
    safety = bool(getattr(event, "safety_related", None) or safety)
    agency = getattr(event, "agency", None) or agency
    return Facts(
        incident_division_code=event.incident_division_code,
        business_division_code=event.business_division_code,
        business_registered_division_code=getattr(event, "business_registered_division_code", None),
        business_operating_division_code=getattr(event, "business_operating_division_code", None),
        is_platform_shop=bool(getattr(event, "is_platform_shop", False)),
        platform_division_code=getattr(event, "platform_division_code", None),
        complainant_division_code=getattr(event, "complainant_division_code", None),
        category=event.category,
        claim_amount=event.claim_amount,
        safety_related=safety,
        agency_type=agency,
        collective_complainants=collective,
    )


def facts_to_json(facts: Facts) -> dict[str, Any]:
    data = asdict(facts)
    if data["claim_amount"] is not None:
        data["claim_amount"] = str(data["claim_amount"])
    return data


def facts_from_json(data: dict[str, Any]) -> Facts:
    known = {f.name for f in fields(Facts)}
    values = {k: v for k, v in data.items() if k in known}
    if values.get("claim_amount") is not None:
        values["claim_amount"] = Decimal(str(values["claim_amount"]))
    return Facts(**values)


def complainant_key(phone: str) -> str:
    """A pseudonym of the complainant (to count distinct complainants), not their phone."""
    return hashlib.blake2b(phone.encode(), digest_size=16, person=b"routing-signal").hexdigest()


# --- small helpers --------------------------------------------------------------------------------


def unit_data(tree: DivisionTree, code: str) -> UnitData:
    return lights.unit_data(tree, code)


def _load(session: Session, complaint_id: uuid.UUID) -> Assignment:
    found = session.get(Assignment, complaint_id, with_for_update=True, populate_existing=True)
    if found is None:
        raise NotFound(f"no complaint {complaint_id}")
    return found


def _open_handover(session: Session, complaint_id: uuid.UUID, kind: str | None = None) -> Handover | None:
    query = select(Handover).where(Handover.complaint_id == complaint_id, Handover.state.in_(("pending", "contested")))
    if kind:
        query = query.where(Handover.kind == kind)
    return session.scalars(query.order_by(Handover.id.desc()).with_for_update()).first()


def _passed_up_by(session: Session, complaint_id: uuid.UUID, scope: Scope) -> bool:
    return (
        session.scalar(
            select(func.count())
            .select_from(CaseStep)
            .where(
                CaseStep.complaint_id == complaint_id,
                CaseStep.step == "escalated",
                CaseStep.from_unit.startswith(scope.unit, autoescape=True),
            )
        )
        or 0
    ) > 0


def visibility(session: Session, a: Assignment, scope: Scope | None) -> str | None:
    """How the caller sees the case: responsible | above | target | decider | viewer | agency; None."""
    if scope is None or not scope.valid:
        return None
    if scope.is_agency:
        return "agency" if a.agency_tenant == scope.unit else None
    if scope.unit == a.unit_code:
        return "responsible"
    if scope.sees(a.unit_code):
        return "above"
    handover = session.scalars(
        select(Handover).where(Handover.complaint_id == a.complaint_id, Handover.state.in_(("pending", "contested")))
    ).first()
    if handover is not None and handover.kind == "unit" and scope.sees(handover.to_tenant):
        return "target"
    if handover is not None and handover.decider and scope.sees(handover.decider):
        return "decider"
    if _passed_up_by(session, a.complaint_id, scope):
        return "viewer"
    return None


def _authorize(session: Session, a: Assignment, scope: Scope | None) -> tuple[Scope, str]:
    seen = visibility(session, a, scope)
    if seen is None or scope is None:
        raise NotFound(f"no complaint {a.complaint_id}")
    if seen == "viewer":
        raise Forbidden("read-only view: your unit passed this case up and can no longer act on it")
    return scope, seen


def _need(scope: Scope, roles: frozenset[str], what: str) -> None:
    if not scope.roles & roles:
        raise Forbidden(f"{what} needs the role {' or '.join(sorted(roles))}")


def _need_state(a: Assignment, *states: str) -> None:
    if a.state not in states:
        reasons = {
            HANDOVER_PENDING: "a handover to another unit is pending",
            CONTESTED: "authority over it is contested and waits for the common higher unit's decision",
            AGENCY_PENDING: "it is handed to an agency that has not acknowledged yet",
            WITH_AGENCY: "an agency has taken it over",
            ENDED: "it ended at the top tier; the parties were told the remedy routes",
            ACTIVE: "it is with its responsible unit, not in a handover",
        }
        raise Conflict(f"not possible now: {reasons.get(a.state, a.state)}")


def _step(
    session: Session,
    a: Assignment,
    step: str,
    *,
    rule: str,
    inputs: dict[str, Any],
    actor: str,
    at: datetime,
    from_unit: str | None = None,
    to_tenant: str | None = None,
) -> int:
    a.seq += 1
    session.add(
        CaseStep(
            complaint_id=a.complaint_id,
            seq=a.seq,
            step=step,
            unit_code=a.unit_code,
            from_unit=from_unit,
            to_tenant=to_tenant,
            rule=rule,
            inputs=inputs,
            actor=actor,
            at=at,
        )
    )
    return a.seq


def _routing_step(
    tree: DivisionTree,
    a: Assignment,
    step: str,
    *,
    rule: str,
    inputs: dict[str, Any],
    actor: str,
    at: datetime,
    previous: str | None = None,
    target: str | None = None,
    remedy: bool = False,
) -> CaseRoutingStep:
    return CaseRoutingStep(
        complaint_id=a.complaint_id,
        seq=a.seq,
        step=step,
        responsible_unit=unit_data(tree, a.unit_code),
        previous_unit=unit_data(tree, previous) if previous else None,
        target=target,
        agency_tenant=a.agency_tenant,
        rule=rule,
        inputs=inputs,
        remedy_routes=list(inputs.get("remedy_routes") or REMEDY_ROUTES) if remedy else [],
        actor=actor,
        at=at,
    )


# --- tier clocks (services/routing/lights.py) ----------------------------------------------------------


def start_tier_clock(session: Session, tree: DivisionTree, a: Assignment, now: datetime) -> None:
    """(Re)start the responsible unit's own time target (its effective `time_targets`)."""
    lights.start_tier_clock(session, tree, a.complaint_id, a.unit_code, a.tier, now)


def stop_tier_clock(session: Session, complaint_id: uuid.UUID, now: datetime) -> None:
    lights.stop_tier_clock(session, complaint_id, now)


def resume_tier_clock(session: Session, tree: DivisionTree, a: Assignment, now: datetime) -> None:
    """The case is the unit's to work again (a lapsed agency handover, a dispute decided in its
    favour): its target starts afresh if it had stopped (its red light came while the case was
    elsewhere); a running one goes on."""
    row = session.get(TierClock, a.complaint_id)
    if row is None or row.stopped_at is not None or row.unit_code != a.unit_code:
        start_tier_clock(session, tree, a, now)


# --- a new complaint --------------------------------------------------------------------------------


def route_new(session: Session, tree: DivisionTree, event: ComplaintReceived, now: datetime) -> list[Contract]:
    """Decide who is responsible for a new complaint; record the decision with its rule and inputs;
    start the tier clock; open a handover when the first receiver is not the decided unit, or an
    agency handover for an agency matter; count it for early warning. TreeStale when the tree is
    behind the onboarded units (the caller reloads it and calls again)."""
    base = facts_of(event)
    place, _, _ = territory(base)
    locked = registry.onboarded_lineage(session, place, lock=True)
    if set(locked) != {c for c in lineage(place) if c in tree.units}:
        raise TreeStale(f"onboarded units covering {place} changed")
    territorial = tree.lowest_unit(place)
    if territorial is None:
        from services.routing.rules import NoResponsibleUnit

        raise NoResponsibleUnit(f"no onboarded unit covers {place}")
    settings = tree.settings_for(territorial.code)
    credit = getattr(event, "business_credit_code", None)
    collective = _record_signal(session, event, place, credit, settings.collective.window_days, now)
    facts = facts_of(event, collective)
    decision = tree.decide(facts)
    events: list[Contract] = []
    first = event.first_receiver if event.first_receiver in tree.units else None
    responsible = tree.units[first] if first and first != decision.unit.code and not decision.agency else decision.unit
    a = Assignment(
        complaint_id=event.complaint_id,
        unit_code=responsible.code,
        tier=responsible.tier,
        rule=decision.rule if responsible is decision.unit else "first_receiver",
        inputs=decision.inputs,
        decided_at=now,
        state=ACTIVE,
        seq=1,
        facts=facts_to_json(facts),
        first_receiver=event.first_receiver,
    )
    routed_inputs = dict(decision.inputs)
    if responsible is not decision.unit:
        routed_inputs = {
            "first_receiver": first,
            "decided_unit": decision.unit.code,
            "decided_rule": decision.rule,
            "decision": decision.inputs,
        }
        a.inputs = routed_inputs
    session.add(a)
    session.flush()
    session.add(
        CaseStep(
            complaint_id=a.complaint_id,
            seq=1,
            step="routed",
            unit_code=a.unit_code,
            rule=a.rule,
            inputs=routed_inputs,
            actor=SYSTEM,
            at=now,
        )
    )
    events.append(
        ComplaintRouted(
            complaint_id=event.complaint_id,
            unit=UnitData(code=responsible.code, name=responsible.name, tier=responsible.tier),
            rule=a.rule,
            inputs=routed_inputs,
            decided_at=now,
            clock_policy=lights.clock_policy(tree, responsible.code),
        )
    )
    start_tier_clock(session, tree, a, now)
    if decision.agency:
        rule = decision.inputs.get("agency", {}).get("rule", "agency")
        events.append(_request(session, tree, a, "agency", decision.agency, rule, decision.inputs, SYSTEM, now))
    elif responsible is not decision.unit:
        events.append(
            _request(session, tree, a, "unit", decision.unit.code, decision.rule, decision.inputs, SYSTEM, now)
        )
    events += _early_warnings(session, tree, territorial.code, place, credit, event.category, now)
    events += _collective_moves(
        session, tree, event.complaint_id, decision, credit, settings.collective.window_days, now
    )
    return events


def _collective_moves(
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


def _request(
    session: Session,
    tree: DivisionTree,
    a: Assignment,
    kind: str,
    to: str,
    rule: str,
    inputs: dict[str, Any],
    actor: str,
    now: datetime,
) -> CaseRoutingStep:
    """Hand the case to another unit (`kind` unit: it accepts or contests) or to an agency (`kind`
    agency: it acknowledges within 3 working days). The unit handing it over stays responsible until
    then (首接责任制)."""
    handover = Handover(
        complaint_id=a.complaint_id,
        kind=kind,
        from_unit=a.unit_code,
        to_tenant=to,
        state="pending",
        rule=rule,
        inputs=inputs,
        requested_at=now,
        requested_by=actor,
    )
    session.add(handover)
    if kind == "agency":
        a.state, a.agency_tenant, a.agency_state = AGENCY_PENDING, to, "pending"
        step, waits_for, key = "agency_handover_requested", "acknowledges", "agency"
        session.flush()  # the handover's id, for its clock
        ack = lights.start_case_clock(
            session, tree, a.complaint_id, lights.AGENCY_ACK, unit_code=a.unit_code, handover_id=handover.id, now=now
        )
        extra = {"acknowledge_by": ack.deadline.isoformat(), "working_days": ack.amount}
    else:
        a.state = HANDOVER_PENDING
        step, waits_for, key, extra = "handover_requested", "accepts", "to", {}
    step_inputs = {
        key: to,
        "decision": inputs,
        "first_receiver_duty": f"{a.unit_code} stays responsible until {to} {waits_for}",
        **extra,
    }
    _step(session, a, step, rule=rule, inputs=step_inputs, actor=actor, at=now, from_unit=a.unit_code, to_tenant=to)
    return _routing_step(tree, a, step, rule=rule, inputs=step_inputs, actor=actor, at=now, target=to)


# --- early warning ----------------------------------------------------------------------------------


def _record_signal(
    session: Session, event: ComplaintReceived, place: str, credit: str | None, window_days: int, now: datetime
) -> int:
    """Count the complaint for early warning; the distinct complainants against its business
    within the collective window (this one included; 0 without a credit code)."""
    session.add(
        Signal(
            complaint_id=event.complaint_id,
            received_at=event.received_at,
            credit_code=credit,
            category=event.category,
            township_code=place[:9] if len(place) >= 9 else None,
            city_code=place[:6],
            complainant_key=complainant_key(event.complainant_phone),
        )
    )
    session.flush()
    if not credit:
        return 0
    return (
        session.scalar(
            select(func.count(func.distinct(Signal.complainant_key))).where(
                Signal.credit_code == credit, Signal.received_at >= now - timedelta(days=window_days)
            )
        )
        or 0
    )


def _early_warnings(
    session: Session, tree: DivisionTree, unit_code: str, place: str, credit: str | None, category: str, now: datetime
) -> list[EarlyWarningRaised]:
    policy = tree.settings_for(unit_code).early_warning
    since = now - timedelta(days=policy.window_days)
    township = place[:9] if len(place) >= 9 else None
    raised = []
    checks = []
    if credit:
        checks.append(("business", credit, Signal.credit_code == credit, policy.business_count))
    if township:
        checks.append(
            (
                "category",
                category,
                (Signal.township_code == township) & (Signal.category == category),
                policy.category_count,
            )
        )
    for kind, key, where, threshold in checks:
        ids = list(session.scalars(select(Signal.complaint_id).where(where, Signal.received_at >= since)))
        if len(ids) < threshold:
            continue
        # one warning per key and place per window, also under concurrent handlers
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"ew:{kind}:{key}:{township}"})
        recent = session.scalar(
            select(func.count())
            .select_from(RaisedWarning)
            .where(
                RaisedWarning.kind == kind,
                RaisedWarning.key == key,
                RaisedWarning.township_code.is_(None) if township is None else RaisedWarning.township_code == township,
                RaisedWarning.raised_at >= since,
            )
        )
        if recent:
            continue
        warning = RaisedWarning(
            id=uuid.uuid4(),
            kind=kind,
            key=key,
            township_code=township,
            city_code=place[:6],
            count=len(ids),
            threshold=threshold,
            window_days=policy.window_days,
            raised_at=now,
            complaint_ids=sorted(str(i) for i in ids),
        )
        session.add(warning)
        raised.append(
            EarlyWarningRaised(
                warning_id=warning.id,
                kind=kind,
                key=key,
                township_code=township,
                city_code=place[:6],
                count=len(ids),
                threshold=threshold,
                window_days=policy.window_days,
                raised_at=now,
            )
        )
    return raised


def warnings_in_scope(session: Session, scope: Scope | None, limit: int = 100) -> list[dict[str, Any]]:
    """The warnings raised to the caller's unit: a township sees its own, a city every one of its
    townships'; villages and agencies none."""
    if scope is None or not scope.valid or scope.is_agency:
        return []
    rows = session.scalars(
        select(RaisedWarning)
        .where(or_(RaisedWarning.township_code == scope.unit, RaisedWarning.city_code == scope.unit))
        .order_by(RaisedWarning.raised_at.desc())
        .limit(max(1, min(limit, 500)))
    )
    return [
        {
            "id": str(w.id),
            "kind": w.kind,
            "key": w.key,
            "township_code": w.township_code,
            "city_code": w.city_code,
            "count": w.count,
            "threshold": w.threshold,
            "window_days": w.window_days,
            "raised_at": w.raised_at.isoformat(),
            "complaint_ids": w.complaint_ids,
        }
        for w in rows
    ]


# --- moving a case ----------------------------------------------------------------------------------


def accept_handover(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID
) -> list[Contract]:
    a = _load(session, complaint_id)
    caller, _ = _authorize(session, a, scope)
    _need_state(a, HANDOVER_PENDING)
    handover = _open_handover(session, complaint_id, "unit")
    if handover is None or handover.state != "pending":
        raise Conflict("not possible now: no handover is pending")
    if caller.unit != handover.to_tenant:
        raise Forbidden(f"only {handover.to_tenant}, the unit the case is handed to, accepts the handover")
    _need(caller, ACCEPTORS, "accepting a handover")
    now = datetime.now(UTC)
    previous = a.unit_code
    handover.state, handover.resolved_at, handover.resolved_by = "accepted", now, caller.user
    _move(a, tree, handover.to_tenant, f"handover.{handover.rule}"[:40], now)
    inputs = {"from": previous, "to": a.unit_code, "handover_rule": handover.rule, "accepted_by": caller.user}
    _step(
        session,
        a,
        "handover_accepted",
        rule=a.rule,
        inputs=inputs,
        actor=caller.user,
        at=now,
        from_unit=previous,
        to_tenant=a.unit_code,
    )
    start_tier_clock(session, tree, a, now)
    return [
        _routing_step(
            tree,
            a,
            "handover_accepted",
            rule=a.rule,
            inputs=inputs,
            actor=caller.user,
            at=now,
            previous=previous,
            target=a.unit_code,
        )
    ]


def acknowledge_agency(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID
) -> list[Contract]:
    a = _load(session, complaint_id)
    caller, seen = _authorize(session, a, scope)
    if seen != "agency":
        raise Forbidden(f"only the agency {a.agency_tenant or ''} acknowledges its handover".replace("  ", " "))
    _need_state(a, AGENCY_PENDING)
    _need(caller, AGENCY_STAFF, "acknowledging a handover")
    now = datetime.now(UTC)
    handover = _open_handover(session, complaint_id, "agency")
    if handover is not None:
        handover.state, handover.resolved_at, handover.resolved_by = "acknowledged", now, caller.user
    a.state, a.agency_state = WITH_AGENCY, "acknowledged"
    stop_tier_clock(session, complaint_id, now)
    lights.stop_case_clock(session, complaint_id, AGENCY_ACK, now)
    inputs = {"agency": a.agency_tenant, "acknowledged_by": caller.user}
    _step(
        session,
        a,
        "agency_acknowledged",
        rule=handover.rule if handover else "agency",
        inputs=inputs,
        actor=caller.user,
        at=now,
        to_tenant=a.agency_tenant,
    )
    return [
        _routing_step(
            tree,
            a,
            "agency_acknowledged",
            rule=handover.rule if handover else "agency",
            inputs=inputs,
            actor=caller.user,
            at=now,
            target=a.agency_tenant,
        )
    ]


def return_case(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, reason: str
) -> list[Contract]:
    """A unit without authority gives the case back to routing (Art 41: never sideways). Routing
    decides again: another unit gets a handover (the returning unit stays responsible until it is
    accepted); if the rules point back at the returning unit, authority is disputed and the unit
    above decides (Art 33)."""
    a = _load(session, complaint_id)
    caller, seen = _authorize(session, a, scope)
    if seen != "responsible":
        raise Forbidden("only the responsible unit returns a case to routing")
    _need(caller, SUPERVISOR, "returning a case")
    _need_state(a, ACTIVE)
    now = datetime.now(UTC)
    facts = facts_from_json(a.facts) if a.facts else None
    if facts is None:
        raise Conflict(
            "not possible now: the case was routed before routing kept its facts; ask the unit above to take it over"
        )
    decision = tree.decide(facts)
    inputs = {
        "returned_by": a.unit_code,
        "reason": reason,
        "decision": {"unit": decision.unit.code, "rule": decision.rule, "inputs": decision.inputs},
    }
    _step(
        session,
        a,
        "returned",
        rule="return.no_authority",
        inputs=inputs,
        actor=caller.user,
        at=now,
        from_unit=a.unit_code,
    )
    events: list[Contract] = [
        _routing_step(tree, a, "returned", rule="return.no_authority", inputs=inputs, actor=caller.user, at=now)
    ]
    if decision.unit.code != a.unit_code:
        events.append(
            _request(session, tree, a, "unit", decision.unit.code, decision.rule, decision.inputs, caller.user, now)
        )
        return events
    decider = escalation_target(a.unit_code, tree.units)
    if decider is None:
        raise Conflict(
            f"not possible now: the rules make {a.unit_code} responsible ({decision.rule}) "
            "and no unit above it can decide otherwise"
        )
    handover = Handover(
        complaint_id=a.complaint_id,
        kind="unit",
        from_unit=a.unit_code,
        to_tenant=a.unit_code,
        state="contested",
        rule=decision.rule,
        inputs=decision.inputs,
        requested_at=now,
        requested_by=caller.user,
        contested_by=a.unit_code,
        contest_reason=reason,
        decider=decider.code,
    )
    session.add(handover)
    _start_dispute(session, tree, handover, now)
    a.state = CONTESTED
    dispute = {
        "disputing": [a.unit_code],
        "decider": decider.code,
        "deadline": handover.contest_deadline.isoformat(),
        "reason": reason,
        "rule_points_back": decision.rule,
    }
    _step(
        session,
        a,
        "contested",
        rule="authority.art33",
        inputs=dispute,
        actor=caller.user,
        at=now,
        from_unit=a.unit_code,
        to_tenant=decider.code,
    )
    events.append(
        _routing_step(
            tree, a, "contested", rule="authority.art33", inputs=dispute, actor=caller.user, at=now, target=decider.code
        )
    )
    return events


def _start_dispute(session: Session, tree: DivisionTree, handover: Handover, now: datetime) -> None:
    """The Art 33 clock: 7 working days on the deciding unit's calendar, its colours told to it."""
    session.flush()  # the handover's id, for its clock
    clock = lights.start_case_clock(
        session,
        tree,
        handover.complaint_id,
        lights.AUTHORITY_DISPUTE,
        unit_code=handover.decider or handover.from_unit,
        handover_id=handover.id,
        now=now,
    )
    handover.contest_deadline = clock.deadline


def contest(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, reason: str
) -> list[Contract]:
    """The unit a case is handed to disputes its authority: the Art 33 clock (7 working days) runs;
    then, or earlier on its own initiative, the lowest common higher unit decides."""
    a = _load(session, complaint_id)
    caller, _ = _authorize(session, a, scope)
    _need_state(a, HANDOVER_PENDING)
    handover = _open_handover(session, complaint_id, "unit")
    if handover is None or caller.unit != handover.to_tenant:
        raise Forbidden("only the unit the case is handed to contests the handover")
    _need(caller, SUPERVISOR, "contesting a handover")
    decider = common_higher_unit(handover.from_unit, handover.to_tenant, tree.units)
    if decider is None:
        raise Conflict(
            f"not possible now: no onboarded unit covers both {handover.from_unit} and {handover.to_tenant} to decide"
        )
    now = datetime.now(UTC)
    handover.state, handover.contested_by, handover.contest_reason = "contested", caller.unit, reason
    handover.decider = decider.code
    _start_dispute(session, tree, handover, now)
    a.state = CONTESTED
    inputs = {
        "disputing": [handover.from_unit, handover.to_tenant],
        "decider": decider.code,
        "deadline": handover.contest_deadline.isoformat(),
        "reason": reason,
    }
    _step(
        session,
        a,
        "contested",
        rule="authority.art33",
        inputs=inputs,
        actor=caller.user,
        at=now,
        from_unit=caller.unit,
        to_tenant=decider.code,
    )
    return [
        _routing_step(
            tree, a, "contested", rule="authority.art33", inputs=inputs, actor=caller.user, at=now, target=decider.code
        )
    ]


def decide_authority(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, unit: str, reason: str
) -> list[Contract]:
    """The lowest common higher unit decides a contested case: when the 7 working days ran out, or
    earlier on its own initiative. The decided unit is responsible at once."""
    a = _load(session, complaint_id)
    caller, _ = _authorize(session, a, scope)
    _need_state(a, CONTESTED)
    handover = _open_handover(session, complaint_id, "unit")
    if handover is None or handover.decider is None:
        raise Conflict("not possible now: no contested handover")
    if caller.unit != handover.decider:
        raise Forbidden(f"only {handover.decider}, the lowest common higher unit, decides this dispute")
    _need(caller, SUPERVISOR, "deciding authority")
    if unit not in tree.units or not caller.sees(unit):
        raise InvalidInput.one("unit", f"expected an onboarded unit within {caller.unit}")
    now = datetime.now(UTC)
    previous = a.unit_code
    handover.state, handover.resolved_at, handover.resolved_by = "decided", now, caller.user
    lights.stop_case_clock(session, complaint_id, AUTHORITY_DISPUTE, now)
    inputs = {
        "disputing": sorted({handover.from_unit, handover.to_tenant}),
        "decider": caller.unit,
        "decided_unit": unit,
        "reason": reason,
        "deadline": handover.contest_deadline.isoformat() if handover.contest_deadline else None,
        "clock_ran_out": handover.contest_expired
        or bool(handover.contest_deadline and now > handover.contest_deadline),
    }
    a.state = ACTIVE
    if unit != previous:
        _move(a, tree, unit, "authority.decided", now)
        start_tier_clock(session, tree, a, now)
    else:
        a.rule = "authority.decided"
        resume_tier_clock(session, tree, a, now)
    _step(
        session,
        a,
        "authority_decided",
        rule="authority.decided",
        inputs=inputs,
        actor=caller.user,
        at=now,
        from_unit=previous,
        to_tenant=unit,
    )
    released = handover.to_tenant if handover.to_tenant != unit else None
    if released:
        inputs = {**inputs, "released_viewer": released}
    return [
        _routing_step(
            tree,
            a,
            "authority_decided",
            rule="authority.decided",
            inputs=inputs,
            actor=caller.user,
            at=now,
            previous=previous,
            target=unit,
        )
    ]


def _move(a: Assignment, tree: DivisionTree, to: str, rule: str, now: datetime) -> None:
    unit = tree.units.get(to)
    a.unit_code, a.tier = to, unit.tier if unit else a.tier
    a.rule, a.decided_at = rule, now
    a.state = ACTIVE


# --- escalation -------------------------------------------------------------------------------------


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
    _need_state(a, ACTIVE)
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
        a.state = ENDED
        stop_tier_clock(session, a.complaint_id, now)
        inputs["top"] = a.unit_code
        inputs["remedy_routes"] = list(inputs.get("remedies") or REMEDY_ROUTES)  # those the mediator chose
        _step(session, a, "ended_at_top", rule=f"top.{trigger}"[:40], inputs=inputs, actor=actor, at=now)
        return [
            _routing_step(
                tree, a, "ended_at_top", rule=f"top.{trigger}"[:40], inputs=inputs, actor=actor, at=now, remedy=True
            )
        ]
    previous = a.unit_code
    from_unit = unit_data(tree, previous)
    _move(a, tree, target.code, f"escalated.{trigger}"[:40], now)
    a.inputs = inputs
    _step(
        session,
        a,
        "escalated",
        rule=a.rule,
        inputs=inputs,
        actor=actor,
        at=now,
        from_unit=previous,
        to_tenant=target.code,
    )
    start_tier_clock(session, tree, a, now)
    return [
        CaseEscalated(
            complaint_id=a.complaint_id,
            from_unit=from_unit,
            to_unit=unit_data(tree, target.code),
            trigger=trigger,
            reason=reason,
            actor=actor,
            at=now,
            seq=a.seq,
            rule=a.rule,
            inputs=inputs,
        )
    ]


def request_escalation(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, trigger: str, reason: str
) -> list[Contract]:
    """A party asks (party_request, recorded by staff) or staff ask (提请上一级, staff_request)."""
    if trigger not in PARTY_TRIGGERS:
        raise InvalidInput.one("trigger", f"expected one of {', '.join(PARTY_TRIGGERS)}")
    a = _load(session, complaint_id)
    caller, seen = _authorize(session, a, scope)
    if seen != "responsible":
        raise Forbidden("only the responsible unit passes a case up")
    _need(caller, SUPERVISOR, "escalating a case")
    return escalate(session, tree, a, trigger, actor=caller.user, reason=reason, now=datetime.now(UTC))


def reclassify(
    session: Session,
    tree: DivisionTree,
    scope: Scope | None,
    complaint_id: uuid.UUID,
    *,
    claim_amount: Any = None,
    category: str | None = None,
    reason: str = "",
) -> tuple[bool, list[Contract]]:
    """The case turned out bigger: new amount or category. When the tier rules now need a higher
    tier than the case is at, it goes up (trigger `reclassified`); else the new facts are recorded."""
    a = _load(session, complaint_id)
    caller, seen = _authorize(session, a, scope)
    if seen != "responsible":
        raise Forbidden("only the responsible unit reclassifies a case")
    _need(caller, SUPERVISOR, "reclassifying a case")
    _need_state(a, ACTIVE)
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
        from services.intake.categories import CATEGORIES

        if category not in {c.code for c in CATEGORIES}:
            raise InvalidInput.one("category", f"unknown category; known: {', '.join(c.code for c in CATEGORIES)}")
        safety, _agency = category_flags(category)
        changed.update(category=category, safety_related=safety)
    data.update(changed)
    facts = facts_from_json(data)
    place, _, _ = territory(facts)
    territorial = tree.lowest_unit(place) or tree.units.get(a.unit_code)
    policy = tree.policy_for(territorial.code) if territorial else tree.policy_for(a.unit_code)
    tier, fired = required_tier(facts, place, policy)
    a.facts = data
    now = datetime.now(UTC)
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
    _step(session, a, "reclassified", rule="reclassified.same_tier", inputs=inputs, actor=caller.user, at=now)
    return False, [
        _routing_step(tree, a, "reclassified", rule="reclassified.same_tier", inputs=inputs, actor=caller.user, at=now)
    ]


def take_over(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, reason: str
) -> list[Contract]:
    """A higher unit takes a case over from a unit below it (on its own or on that unit's request)."""
    a = _load(session, complaint_id)
    caller, seen = _authorize(session, a, scope)
    if seen == "responsible":
        raise Conflict("not possible now: your unit is already responsible for it")
    if seen != "above" or caller.unit not in tree.units:
        raise Forbidden("only an onboarded unit above the responsible unit takes a case over")
    _need(caller, SUPERVISOR, "taking a case over")
    return escalate(
        session, tree, a, "take_over", actor=caller.user, reason=reason, now=datetime.now(UTC), to=caller.unit
    )


def request_takeover(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, reason: str
) -> list[Contract]:
    """The responsible unit asks the unit above to take the case over; it stays responsible until
    the unit above does (POST .../take-over)."""
    a = _load(session, complaint_id)
    caller, seen = _authorize(session, a, scope)
    if seen != "responsible":
        raise Forbidden("only the responsible unit asks the unit above to take a case over")
    _need(caller, SUPERVISOR, "asking for a take-over")
    _need_state(a, ACTIVE)
    above = escalation_target(a.unit_code, tree.units)
    if above is None:
        raise Conflict("not possible now: no onboarded unit above yours")
    if _open_handover(session, complaint_id, "takeover") is not None:
        raise Conflict(f"not possible now: a take-over request to {above.code} is already pending")
    now = datetime.now(UTC)
    session.add(
        Handover(
            complaint_id=a.complaint_id,
            kind="takeover",
            from_unit=a.unit_code,
            to_tenant=above.code,
            state="pending",
            rule="takeover.requested",
            inputs={"reason": reason},
            requested_at=now,
            requested_by=caller.user,
        )
    )
    inputs = {"to": above.code, "reason": reason}
    _step(
        session,
        a,
        "takeover_requested",
        rule="takeover.requested",
        inputs=inputs,
        actor=caller.user,
        at=now,
        from_unit=a.unit_code,
        to_tenant=above.code,
    )
    return [
        _routing_step(
            tree,
            a,
            "takeover_requested",
            rule="takeover.requested",
            inputs=inputs,
            actor=caller.user,
            at=now,
            target=above.code,
        )
    ]


def decline_takeover(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, reason: str
) -> list[Contract]:
    """The unit asked to take a case over declines, with its reason: the request is closed, the unit
    that asked stays responsible and is told (it may pass the case up by other means or ask again)."""
    a = _load(session, complaint_id)
    caller, seen = _authorize(session, a, scope)
    request = _open_handover(session, complaint_id, "takeover")
    if request is None:
        raise Conflict("not possible now: no take-over request is pending")
    if seen != "above" or caller.unit != request.to_tenant:
        raise Forbidden(f"only {request.to_tenant}, the unit asked to take the case over, declines the request")
    _need(caller, SUPERVISOR, "declining a take-over request")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput.one("reason", "say why the request is declined; the unit that asked is told")
    now = datetime.now(UTC)
    request.state, request.resolved_at, request.resolved_by = "declined", now, caller.user
    request.decline_reason = reason
    inputs = {
        "requested_by": request.from_unit,
        "requested_at": request.requested_at.isoformat(),
        "request_reason": (request.inputs or {}).get("reason", ""),
        "declined_by": caller.unit,
        "reason": reason,
    }
    rule = "takeover.declined"
    _step(
        session,
        a,
        "takeover_declined",
        rule=rule,
        inputs=inputs,
        actor=caller.user,
        at=now,
        from_unit=caller.unit,
        to_tenant=request.from_unit,
    )
    return [
        _routing_step(
            tree, a, "takeover_declined", rule=rule, inputs=inputs, actor=caller.user, at=now, target=request.from_unit
        )
    ]


def on_mediation_ended(session: Session, tree: DivisionTree, ended: MediationEnded) -> list[Contract]:
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
    return escalate(
        session, tree, a, "mediation_failed", actor="system:mediation", now=datetime.now(UTC), inputs=inputs
    )


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
        return _agency_handover_lapsed(session, tree, a, now)
    if change.clock == AUTHORITY_DISPUTE:
        return _contest_expired(session, tree, a, now)
    return []


def _tier_target_expired(session: Session, tree: DivisionTree, a: Assignment | None, now: datetime) -> list[Contract]:
    clock = session.get(TierClock, a.complaint_id) if a is not None else None
    if a is None or clock is None:
        return []
    if a.state != ACTIVE:  # in a handover, with an agency, ended: the target no longer applies
        stop_tier_clock(session, a.complaint_id, now)
        return []
    if a.unit_code != clock.unit_code:  # moved before offboarding restarted the clock: start afresh
        start_tier_clock(session, tree, a, now)
        return []
    inputs = {"deadline": clock.deadline.isoformat(), "working_days": clock.working_days, "tier": clock.tier}
    return escalate(session, tree, a, "tier_target_expired", actor="system:clock", now=now, inputs=inputs)


def _agency_handover_lapsed(
    session: Session, tree: DivisionTree, a: Assignment | None, now: datetime
) -> list[Contract]:
    """The agency did not acknowledge within 3 working days: the handover lapses, the agency no
    longer sees the case, and the unit that handed it over (responsible all along, first-receiver
    duty) works it again. The unit above is told (the step's target), the agency too."""
    if a is None or a.state != AGENCY_PENDING:
        return []
    clock = session.get(CaseClock, (a.complaint_id, AGENCY_ACK))
    handover = _open_handover(session, a.complaint_id, "agency")
    above = escalation_target(a.unit_code, tree.units)
    inputs = {
        "requested_at": handover.requested_at.isoformat() if handover else None,
        "deadline": clock.deadline.isoformat() if clock else None,
        "working_days": clock.amount if clock else lights.AGENCY_ACK.amount,
        "told": above.code if above else None,
    }
    return agency_releases(
        session,
        tree,
        a,
        handover,
        "agency_handover_lapsed",
        handover_state="lapsed",
        rule="agency.ack_expired",
        inputs=inputs,
        actor="system:clock",
        now=now,
        target=above.code if above else None,
    )


def agency_releases(
    session: Session,
    tree: DivisionTree,
    a: Assignment,
    handover: Handover | None,
    step: str,
    *,
    handover_state: str,
    rule: str,
    inputs: dict[str, Any],
    actor: str,
    now: datetime,
    target: str | None,
) -> list[Contract]:
    """The agency no longer has the case (its acknowledgement lapsed, or it handed the case back,
    services/routing/agencies.py): the unit that handed it over (responsible all along,
    first-receiver duty) works it again, on a running tier target. `target` is told."""
    agency = a.agency_tenant
    if handover is not None:
        handover.state, handover.resolved_at, handover.resolved_by = handover_state, now, actor
    clock = session.get(CaseClock, (a.complaint_id, AGENCY_ACK))
    if clock is not None and clock.stopped_at is None:
        lights.stop_case_clock(session, a.complaint_id, AGENCY_ACK, now)
    a.state, a.agency_tenant, a.agency_state = ACTIVE, None, None
    resume_tier_clock(session, tree, a, now)
    inputs = {"agency": agency, **inputs, "first_receiver_duty": f"{a.unit_code} is responsible and works the case"}
    _step(session, a, step, rule=rule, inputs=inputs, actor=actor, at=now, to_tenant=agency)
    event = _routing_step(tree, a, step, rule=rule, inputs=inputs, actor=actor, at=now, target=target)
    # the event names the agency (its consumers tell it, and stop reminding it) though it no longer has the case
    return [event.model_copy(update={"agency_tenant": agency})]


def _contest_expired(session: Session, tree: DivisionTree, a: Assignment | None, now: datetime) -> list[Contract]:
    """The Art 33 days ran out: recorded; the deciding unit (told by the red light) decides now."""
    if a is None or a.state != CONTESTED:
        return []
    handover = _open_handover(session, a.complaint_id, "unit")
    if handover is None or handover.state != "contested" or handover.contest_expired:
        return []
    handover.contest_expired = True
    inputs = {
        "decider": handover.decider,
        "deadline": handover.contest_deadline.isoformat() if handover.contest_deadline else None,
    }
    _step(
        session,
        a,
        "contest_expired",
        rule="authority.art33",
        inputs=inputs,
        actor="system:clock",
        at=now,
        to_tenant=handover.decider,
    )
    return [
        _routing_step(
            tree,
            a,
            "contest_expired",
            rule="authority.art33",
            inputs=inputs,
            actor="system:clock",
            at=now,
            target=handover.decider,
        )
    ]


# --- reading ----------------------------------------------------------------------------------------


def clocks_of(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, now: datetime
) -> list[dict[str, Any]]:
    """Routing's clocks of a case the caller sees; none for a case it does not see or routing never
    decided (the two answer alike)."""
    a = session.get(Assignment, complaint_id)
    if a is None or visibility(session, a, scope) is None:
        return []
    return lights.of_case(session, tree, complaint_id, now)


def view(session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID) -> dict[str, Any]:
    """The routing record of a case: who is responsible and why, open handovers, the tier clock and
    every step with its rule and inputs. `read_only` for a unit that passed the case up."""
    a = session.get(Assignment, complaint_id)
    if a is None:
        raise NotFound(f"no complaint {complaint_id}")
    seen = visibility(session, a, scope)
    if seen is None:
        raise NotFound(f"no complaint {complaint_id}")
    handovers = session.scalars(
        select(Handover).where(Handover.complaint_id == complaint_id).order_by(Handover.id)
    ).all()
    clock = session.get(TierClock, complaint_id)
    handover_clocks = {
        c.handover_id: c for c in session.scalars(select(CaseClock).where(CaseClock.complaint_id == complaint_id))
    }
    steps = session.scalars(
        select(CaseStep).where(CaseStep.complaint_id == complaint_id).order_by(CaseStep.seq, CaseStep.id)
    ).all()
    now = datetime.now(UTC)
    data: dict[str, Any] = {
        "complaint_id": str(a.complaint_id),
        "responsible_unit": unit_data(tree, a.unit_code).model_dump(),
        "state": a.state,
        "rule": a.rule,
        "inputs": a.inputs,
        "decided_at": a.decided_at.isoformat(),
        "first_receiver": a.first_receiver,
        "agency": {"tenant": a.agency_tenant, "state": a.agency_state} if a.agency_tenant else None,
        "read_only": seen == "viewer",
        "seen_as": seen,
        "handovers": [
            {
                "kind": h.kind,
                "from": h.from_unit,
                "to": h.to_tenant,
                "state": h.state,
                "rule": h.rule,
                "requested_at": h.requested_at.isoformat(),
                "requested_by": h.requested_by,
                "resolved_at": h.resolved_at.isoformat() if h.resolved_at else None,
                "contested_by": h.contested_by,
                "contest_reason": h.contest_reason,
                "decider": h.decider,
                "contest_deadline": h.contest_deadline.isoformat() if h.contest_deadline else None,
                "contest_expired": h.contest_expired,
                "decline_reason": h.decline_reason,
                "clock": lights.view(handover_clocks.get(h.id), tree, now),
            }
            for h in handovers
        ],
        "tier_clock": None,
        "steps": [
            {
                "seq": s.seq,
                "step": s.step,
                "unit": s.unit_code,
                "from": s.from_unit,
                "to": s.to_tenant,
                "rule": s.rule,
                "inputs": s.inputs,
                "actor": s.actor,
                "at": s.at.isoformat(),
            }
            for s in steps
        ],
    }
    if a.state == ENDED:
        data["remedy_routes"] = list(REMEDY_ROUTES)
    if clock is not None:
        data["tier_clock"] = {**lights.view(clock, tree, now), "working_days": clock.working_days}
    return data
