"""Who is responsible for a new complaint (on `complaint.received.v1`): decide it from the facts,
record the decision with its rule and inputs, start the tier clock, hand the case over when the
first receiver is not the decided unit (or to an agency), count it for early warning."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from common.contracts import ComplaintReceived, Contract
from common.divisions import lineage
from services.routing import lights, registry
from services.routing.escalation import collective_moves
from services.routing.facts import facts_of, facts_to_json
from services.routing.handovers import hand_over
from services.routing.models import Assignment
from services.routing.moves import ACTIVE, SYSTEM, record_step
from services.routing.rules import territory
from services.routing.tree import DivisionTree
from services.routing.warnings import raise_warnings, record_signal


class TreeStale(RuntimeError):
    """The onboarded units under lock differ from the in-memory tree: reload it and decide again."""


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
    credit = event.business_credit_code
    collective = record_signal(session, event, place, credit, settings.collective.window_days, now)
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
        seq=0,  # the decision is its first step
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
    events.append(record_step(session, tree, a, "routed", rule=a.rule, inputs=routed_inputs, actor=SYSTEM, at=now))
    lights.start_tier_clock(session, tree, a.complaint_id, a.unit_code, a.tier, now)
    if decision.agency:
        rule = decision.inputs.get("agency", {}).get("rule", "agency")
        events.append(hand_over(session, tree, a, "agency", decision.agency, rule, decision.inputs, SYSTEM, now))
    elif responsible is not decision.unit:
        events.append(
            hand_over(session, tree, a, "unit", decision.unit.code, decision.rule, decision.inputs, SYSTEM, now)
        )
    events += raise_warnings(session, tree, territorial.code, place, credit, event.category, now)
    events += collective_moves(
        session, tree, event.complaint_id, decision, credit, settings.collective.window_days, now
    )
    return events
