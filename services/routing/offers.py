"""What routing offers the caller on a case, for the console (docs/routing.md, "Allowed actions"):
the moves the caller may make now, and why the case is where it is, in Chinese.

`allowed_actions` asks the same questions the moves ask before they act (who sees the case how,
the state and roles of the transition table in moves.py, the open handover), without acting, so a
button the console shows is a move routing accepts. Pure reads: no lock, no write.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.reference import ESCALATION_TRIGGERS
from common.tenancy import Scope
from services.routing import agencies
from services.routing.models import Assignment, Handover
from services.routing.moves import (
    ABOVE,
    ACCEPT,
    ACKNOWLEDGE,
    AGENCY,
    CONTEST,
    DECIDE_AUTHORITY,
    DECLINE_TAKEOVER,
    ENDED,
    ESCALATE,
    RECLASSIFY,
    REQUEST_TAKEOVER,
    RESPONSIBLE,
    RETURN,
    SUPERVISOR,
    TAKE_OVER,
    may,
    visibility,
)
from services.routing.rules import common_higher_unit, escalation_target
from services.routing.tree import DivisionTree


def _open(session: Session, a: Assignment) -> dict[str, Handover]:
    """The open handover of each kind (unit, agency, takeover), the latest first."""
    found: dict[str, Handover] = {}
    for h in session.scalars(
        select(Handover)
        .where(Handover.complaint_id == a.complaint_id, Handover.state.in_(("pending", "contested")))
        .order_by(Handover.id.desc())
    ):
        found.setdefault(h.kind, h)
    return found


def allowed_actions(session: Session, tree: DivisionTree, a: Assignment, scope: Scope | None) -> list[str]:
    """Routing's moves the caller may make on the case now (codes of common.reference.CASE_ACTIONS):
    those the table in moves.py allows in the case's state for the caller's roles, made by the unit
    or agency the caller is, and possible in the case as it is."""
    seen = visibility(session, a, scope)
    if scope is None or seen in (None, "viewer"):
        return []
    handover = _open(session, a)
    actions: list[str] = []
    if seen == RESPONSIBLE:
        for move in (ESCALATE, RETURN, RECLASSIFY):
            # returning and reclassifying decide again, on the facts routing kept
            if may(a.state, move, scope) and (move == ESCALATE or a.facts):
                actions.append(move)
        if (
            may(a.state, REQUEST_TAKEOVER, scope)
            and escalation_target(a.unit_code, tree.units) is not None
            and "takeover" not in handover
        ):
            actions.append(REQUEST_TAKEOVER)
    unit = handover.get("unit")
    if unit is not None and unit.state == "pending" and scope.unit == unit.to_tenant:
        if may(a.state, ACCEPT, scope):
            actions.append(ACCEPT)
        if may(a.state, CONTEST, scope) and common_higher_unit(unit.from_unit, unit.to_tenant, tree.units) is not None:
            actions.append(CONTEST)
    if unit is not None and unit.decider == scope.unit and may(a.state, DECIDE_AUTHORITY, scope):
        actions.append(DECIDE_AUTHORITY)
    if seen == AGENCY and may(a.state, ACKNOWLEDGE, scope):
        actions.append(ACKNOWLEDGE)
    actions += agencies.offered(a, scope, seen)
    if seen == ABOVE:
        onboarded = scope.unit in tree.units
        if onboarded and may(a.state, TAKE_OVER, scope):
            actions.append(TAKE_OVER)
        takeover = handover.get("takeover")
        if takeover is not None and takeover.to_tenant == scope.unit and may(a.state, DECLINE_TAKEOVER, scope):
            actions.append(DECLINE_TAKEOVER)
        if a.state != ENDED and onboarded and scope.roles & SUPERVISOR:  # as supervision.send asks
            actions.append("supervise")
    return actions


# --- why the case is where it is ---------------------------------------------------------------------

_PLACE_SOURCES = {
    "platform_shown": "平台公示的经营地址",
    "platform_registered": "平台的注册地",
    "business_operating": "经营者的实际经营地",
    "business_registered": "经营者的注册地",
    "incident": "纠纷发生地",
}
_TIERS = {"village": "村（社区）", "township": "镇（街道）", "city": "市"}
_TIER_RULES = {
    "tier.amount": "争议金额超过本级上限",
    "tier.safety": "涉及人身、食品药品等安全",
    "tier.collective": "同一经营者被多人投诉（群体性）",
    "tier.cross_area": "消费者与经营者不在同一镇（街道），跨区域",
}
_MOVES = {
    "first_receiver": "首接责任制：最先收到投诉的单位负责，直至移交被接收",
    "authority.decided": "管辖争议由共同上级单位指定",
    "reclassified.same_tier": "重新定性后仍由本级办理",
}


def explain(a: Assignment, tree: DivisionTree) -> str:
    """Why the case's unit and tier, from the assignment's rule and inputs, in one Chinese sentence."""
    unit = tree.units.get(a.unit_code)
    name = unit.name if unit else a.unit_code
    tier = _TIERS.get(a.tier, a.tier)
    rule, inputs = a.rule or "", a.inputs or {}
    if rule in _MOVES:
        return f"由{name}（{tier}级）负责：{_MOVES[rule]}。"
    if rule.startswith("escalated."):
        trigger = rule.split(".", 1)[1]
        return f"由{name}（{tier}级）负责：案件已上交，原因：{ESCALATION_TRIGGERS.get(trigger, trigger)}。"
    if rule.startswith("handover."):
        return f"由{name}（{tier}级）负责：已接收移交（{_rule_reason(rule.split('.', 1)[1], inputs)}）。"
    return f"由{name}（{tier}级）负责：{_rule_reason(rule, inputs)}。"


def _rule_reason(rule: str, inputs: dict[str, Any]) -> str:
    source = _PLACE_SOURCES.get(str(inputs.get("place_source")), "纠纷发生地")
    reason = f"属地管理，按{source}（{inputs.get('place', '')}）确定"
    fired = [f.get("rule") for f in inputs.get("tier_rules") or [] if isinstance(f, dict)]
    if rule in _TIER_RULES or fired:
        reasons = "、".join(_TIER_RULES.get(r, r) for r in dict.fromkeys([rule, *fired]) if r in _TIER_RULES)
        reason += f"；分级负责：{reasons}，由{_TIERS.get(str(inputs.get('required_tier')), '上级')}级起办"
    agency = inputs.get("agency")
    if isinstance(agency, dict) and agency.get("tenant"):
        reason += f"；属于对接部门职责，移送{agency['tenant']}"
    return reason
